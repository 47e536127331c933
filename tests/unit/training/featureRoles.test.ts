import { describe, expect, it } from 'vitest';
import { loadFeatureSet } from '../../../src/operators/featureSet.js';
import { BundleManifestSchema, manifestSchemaFor } from '../../../src/serving/bundle/bundleManifest.js';
import { DatasetManifestSchema } from '../../../src/training/datasetManifest.js';
import { parseTrainConfig } from '../../../src/training/train/trainConfig.js';
import { resolveColumns } from '../../../src/training/train/trainingRows.js';

const fs = loadFeatureSet();
const all = fs.columns.map((c) => c.name);
const roles = Object.fromEntries(fs.columns.map((c) => [c.name, c.role]));
const stationary = fs.columns.filter((c) => c.role === 'stationary').map((c) => c.name);
const features = (f: unknown) => parseTrainConfig({ name: 'x', dataset: 'ds', model: { kind: 'logistic' }, out: 'o', ...(f === undefined ? {} : { features: f }) }, 't.yaml');

describe('training columns by role', () => {
  it('the default is the stationary columns, in column order: no price, volume, ATR or MACD level', () => {
    expect(features(undefined).features).toBe('stationary');
    const cols = resolveColumns(features(undefined), all, roles);
    expect(cols).toEqual(stationary);
    expect(cols).toHaveLength(9 * 16);
    for (const level of ['open_1m', 'close_1h', 'volume_5m', 'atr14_15m', 'macdhist_1h']) expect(cols).not.toContain(level);
    for (const kept of ['ret1_1m', 'natr14_1h', 'bbpctb20_5m', 'volz20_30m', 'bbwidth20_1m', 'vwapdist20_1m']) expect(cols).toContain(kept);
  });

  it('all is every column; a list is exactly its columns, levels included; exclude is from the stationary ones', () => {
    expect(resolveColumns(features('all'), all, roles)).toEqual(all);
    expect(resolveColumns(features(['close_1h', 'rsi14_1m']), all, roles)).toEqual(['close_1h', 'rsi14_1m']);
    expect(resolveColumns(features({ exclude: ['rsi14_1m', 'volz20_1h'] }), all, roles)).toEqual(stationary.filter((c) => c !== 'rsi14_1m' && c !== 'volz20_1h'));
    expect(() => resolveColumns(features({ exclude: ['close_1m'] }), all, roles)).toThrow(/features\.exclude: close_1m is a level, not among the stationary columns it excludes from/);
    expect(() => resolveColumns(features({ exclude: ['nope_1m'] }), all, roles)).toThrow(/features\.exclude: nope_1m not in the dataset's feature set/);
    expect(() => resolveColumns(features({ exclude: stationary }), all, roles)).toThrow(/leaves no column/);
    expect(() => features('levels')).toThrow(/t\.yaml: features/);
  });

  it('a dataset without roles (replayed before them) trains on named columns or all, and otherwise says what to do', () => {
    expect(resolveColumns(features('all'), all, undefined)).toEqual(all);
    expect(resolveColumns(features(['rsi14_1m']), all, undefined)).toEqual(['rsi14_1m']);
    const advice = /replayed before datasets recorded them \(its manifest\.json has no featureSet\.roles\): replay it again, or name the features \(a list of columns, or all\)/;
    expect(() => resolveColumns(features(undefined), all, undefined, 'datasets/old')).toThrow(advice);
    expect(() => resolveColumns(features(undefined), all, undefined, 'datasets/old')).toThrow(/^features: stationary \(the default\) needs the columns' roles, and datasets\/old was replayed/);
    expect(() => resolveColumns(features({ exclude: ['rsi14_1m'] }), all, undefined)).toThrow(advice);
  });
});

describe('manifests', () => {
  const dataset = {
    format: 'barflow.dataset',
    formatVersion: 1,
    fingerprint: 'a'.repeat(64),
    inputs: [],
    featureSet: { name: 'x', version: 1, file: 'f.yaml', fileSha256: 'b'.repeat(64), schemaHash: 'c', anchor: 'utc-day', timeframes: ['1m'], columns: ['close_1m', 'ret1_1m'] },
    code: { package: 'barflow', version: '0.1.0', gitCommit: null },
    files: {},
    rowOrder: 'symbol, ts',
    rowAvailableAt: 'ts + 1 minute',
    rows: 0,
    symbols: [],
    rejects: { total: 0, byReason: {} },
    command: [],
  };

  it('a dataset manifest reads without roles (older) and with a role for every column, not with a partial map', () => {
    expect(DatasetManifestSchema.parse(dataset).featureSet.roles).toBeUndefined();
    const withRoles = { ...dataset, featureSet: { ...dataset.featureSet, roles: { close_1m: 'level', ret1_1m: 'stationary' } } };
    expect(DatasetManifestSchema.parse(withRoles).featureSet.roles).toEqual({ close_1m: 'level', ret1_1m: 'stationary' });
    expect(DatasetManifestSchema.safeParse({ ...dataset, featureSet: { ...dataset.featureSet, roles: { close_1m: 'level' } } }).success).toBe(false);
    expect(DatasetManifestSchema.safeParse({ ...dataset, featureSet: { ...dataset.featureSet, roles: { close_1m: 'level', ret1_1m: 'trend' } } }).success).toBe(false);
  });

  it('a bundle manifest may carry the roles of exactly its input columns', () => {
    const sha = 'd'.repeat(64);
    const bundle = {
      format: 'barflow.bundle',
      formatVersion: 1,
      name: 'b',
      version: '1.0.0',
      model: { kind: 'logistic', family: 'linear', view: 'tabular', causal: true, format: 'onnx', files: ['model/model.onnx'], outputs: ['p_up'] },
      features: { file: 'features.yaml', schemaHash: 'c', columns: ['ret1_1m', 'close_1m'] },
      scaler: 's',
      calibrator: 'c',
      metrics: 'm',
      training: { config: 't', configSha256: sha, seed: 1, dataset: { dir: 'd', fingerprint: sha }, labels: { set: 'l', target: 'tb', sha256: sha }, code: { package: 'barflow', version: '0', gitCommit: null } },
      files: {},
    };
    // Format 1 (read as format 2) and format 2 alike.
    const v2 = { ...bundle, formatVersion: 2, model: { ...bundle.model, view: { name: 'tabular', params: {} }, objective: 'binary', quantiles: [], outputs: ['p_up', 'e_r', 'uncertainty'], rawOutputs: ['p_up'], exporter: { package: 'barflow', version: '0' } } };
    for (const [doc, schema] of [[bundle, manifestSchemaFor(bundle)], [v2, BundleManifestSchema]] as const) {
      expect(schema.parse(doc).features.roles).toBeUndefined();
      expect(schema.parse({ ...doc, features: { ...doc.features, roles: { ret1_1m: 'stationary', close_1m: 'level' } } }).features.roles).toEqual({ ret1_1m: 'stationary', close_1m: 'level' });
      expect(schema.safeParse({ ...doc, features: { ...doc.features, roles: { ret1_1m: 'stationary' } } }).success).toBe(false);
    }
  });
});
