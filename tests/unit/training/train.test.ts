import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { replay } from '../../../src/streams/replay/replay.js';
import { loadBundle } from '../../../src/serving/bundle/bundle.js';
import { BundlePredictor } from '../../../src/serving/bundle/bundlePredictor.js';
import { openDataset } from '../../../src/training/dataset.js';
import { readLabelConfig } from '../../../src/training/labels/labelConfig.js';
import { writeLabels } from '../../../src/training/labels/labelSet.js';
import { parseTrainConfig } from '../../../src/training/train/trainConfig.js';
import { trainFromConfig } from '../../../src/training/train/trainRun.js';
import { tempDir } from '../../helpers/tempDir.js';

const work = tempDir('train');
const ds = join(work, 'ds');

function config(out: string, extra: Record<string, unknown> = {}) {
  const doc = {
    name: 'test-logistic',
    seed: 3,
    dataset: ds,
    labels: { set: 'reference', target: 'tb' },
    features: ['rsi14_1m', 'macdhist_1m', 'adx14_1m', 'bbwidth20_1m', 'volratio20_1m', 'retstd20_1m', 'rsi14_5m'],
    cv: { method: 'purged_kfold', k: 3, embargo: '30m' },
    model: { kind: 'logistic', params: { l2: 2 } },
    out,
    ...extra,
  };
  const text = JSON.stringify(doc);
  return { config: parseTrainConfig(doc, 'test.yaml'), text };
}

function filesOf(dir: string, prefix = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const p = join(prefix, e.name);
    if (e.isDirectory()) for (const [k, v] of filesOf(dir, p)) out.set(k, v);
    else out.set(p, readFileSync(join(dir, p)));
  }
  return out;
}

describe('barflow train: logistic regression end to end on the bundled samples', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    await replay({ source: { kind: 'files', patterns: ['data/samples/*.csv'] }, out: ds, formats: ['arrow'], workers: 1, command: ['test'] });
    writeLabels(ds, readLabelConfig('tests/fixtures/labels/labels.yaml'), readFileSync('tests/fixtures/labels/labels.yaml', 'utf8'), ['test']);
  }, 120_000);

  it('same config and seed: the same bundle, byte for byte; the manifest lists every file with its sha256', async () => {
    const a = config(join(work, 'a'));
    const b = config(join(work, 'b'));
    const ra = await trainFromConfig(a.config, a.text);
    await trainFromConfig(b.config, a.text);
    const fa = filesOf(join(work, 'a'));
    const fb = filesOf(join(work, 'b'));
    expect([...fa.keys()].sort()).toEqual([...fb.keys()].sort());
    for (const [k, v] of fa) if (k !== 'manifest.json' && k !== 'folds.json') expect(v.equals(fb.get(k)!), k).toBe(true);
    expect(Object.keys(ra.manifest.files).sort()).toEqual([...fa.keys()].filter((k) => k !== 'manifest.json').sort());
    expect(ra.cv).toHaveLength(3);
    expect(ra.manifest.formatVersion).toBe(2);
    expect(ra.manifest.model).toMatchObject({ kind: 'logistic', family: 'linear', view: { name: 'tabular', params: {} }, format: 'onnx', causal: true, objective: 'binary', outputs: ['p_up', 'e_r', 'uncertainty'], rawOutputs: ['p_up'] });
    // A list may name a level (macdhist is in price units): the bundle says so.
    expect(ra.manifest.features.roles).toMatchObject({ rsi14_1m: 'stationary', macdhist_1m: 'level', rsi14_5m: 'stationary' });
    expect(existsSync(`${join(work, 'a')}.checkpoint`)).toBe(false);
  });

  it('by default trains on the stationary columns only; the bundle records the role of every input', async () => {
    const manifest = openDataset(ds, { columns: [] }).manifest;
    const roles = manifest.featureSet.roles!;
    expect(Object.keys(roles)).toEqual(manifest.featureSet.columns);
    const { features: _listed, ...rest } = config(join(work, 'default')).config;
    const doc = { ...rest, cv: { ...rest.cv, k: 2 }, features: undefined };
    const r = await trainFromConfig(parseTrainConfig(JSON.parse(JSON.stringify(doc)), 'default.yaml'), JSON.stringify(doc));
    expect(r.manifest.features.columns).toEqual(manifest.featureSet.columns.filter((c) => roles[c] === 'stationary'));
    expect(new Set(Object.values(r.manifest.features.roles!))).toEqual(new Set(['stationary']));
    expect(Object.keys(r.manifest.features.roles!)).toEqual(r.manifest.features.columns);
  });

  it('an interrupted run resumes after its last finished fold and ends with the same bundle', async () => {
    const c = config(join(work, 'r'));
    await expect(
      trainFromConfig(c.config, c.text, (p) => {
        if (p.stage === 'fold' && p.fold === 2) throw new Error('interrupted');
      }),
    ).rejects.toThrow('interrupted');
    expect(readdirSync(`${join(work, 'r')}.checkpoint`).filter((f) => f.endsWith('.json')).sort()).toEqual(['fold-0.json', 'fold-1.json']);
    const resumed = await trainFromConfig(c.config, c.text);
    expect(resumed.cv.map((f) => f.resumed)).toEqual([true, true, false]);
    const straight = filesOf(join(work, 'a'));
    for (const [k, v] of filesOf(join(work, 'r'))) if (k !== 'manifest.json' && k !== 'folds.json' && k !== 'training-config.yaml') expect(v.equals(straight.get(k)!), k).toBe(true);
  });

  it('refuses a tampered file, a missing file, an unlisted file and a bundle of another feature set', async () => {
    const dir = join(work, 'a');
    const dataset = openDataset(ds, { columns: [] });
    const p = await BundlePredictor.open(dir, dataset.manifest.featureSet.schemaHash);
    expect(p.name).toBe('test-logistic');
    const copy = (name: string) => {
      const to = join(work, name);
      rmSync(to, { recursive: true, force: true });
      for (const [k, v] of filesOf(dir)) {
        const path = join(to, k);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, v);
      }
      return to;
    };
    const tampered = copy('tampered');
    const model = readFileSync(join(tampered, 'model/model.onnx'));
    model[model.length - 1]! ^= 1;
    writeFileSync(join(tampered, 'model/model.onnx'), model);
    expect(() => loadBundle(tampered)).toThrow(/model\/model.onnx has sha256 \w+, the manifest says \w+: the file was changed/);
    const missing = copy('missing');
    unlinkSync(join(missing, 'scaler.json'));
    expect(() => loadBundle(missing)).toThrow(/file scaler.json is missing/);
    const extra = copy('extra');
    writeFileSync(join(extra, 'run.js'), 'process.exit(1)');
    expect(() => loadBundle(extra)).toThrow(/run.js is not listed in the manifest/);
    const outside = copy('outside');
    const manifest = JSON.parse(readFileSync(join(outside, 'manifest.json'), 'utf8'));
    manifest.files['../model.onnx'] = manifest.files['model/model.onnx'];
    writeFileSync(join(outside, 'manifest.json'), JSON.stringify(manifest));
    expect(() => loadBundle(outside)).toThrow(/file name \.\.\/model\.onnx points outside the bundle/);
    expect(() => loadBundle(dir, 'f'.repeat(64))).toThrow(/was built for feature schema \w+, but the features here have schema ffffffffffff/);
  });

  it('XGBoost through the same machinery: same seed, same bundle bytes (model.onnx and XGBoost\'s JSON), served by onnxruntime-node', async () => {
    const x1 = config(join(work, 'x1'), { name: 'test-xgb', model: { kind: 'xgboost', params: { numRounds: 20, maxDepth: 3, subsample: 0.8 } } });
    const x2 = config(join(work, 'x2'), { name: 'test-xgb', model: { kind: 'xgboost', params: { numRounds: 20, maxDepth: 3, subsample: 0.8 } } });
    const r = await trainFromConfig(x1.config, x1.text);
    await trainFromConfig(x2.config, x1.text);
    expect(r.manifest.model).toMatchObject({ kind: 'xgboost', family: 'tree', format: 'onnx', files: ['model/model.onnx', 'model/xgboost.json'] });
    const a = filesOf(join(work, 'x1'));
    const b = filesOf(join(work, 'x2'));
    for (const k of ['model/model.onnx', 'model/xgboost.json', 'oof-predictions.csv', 'calibrator.json']) expect(a.get(k)!.equals(b.get(k)!), k).toBe(true);
    const dataset = openDataset(ds, { columns: r.manifest.features.columns });
    const p = await BundlePredictor.open(join(work, 'x1'), dataset.manifest.featureSet.schemaHash);
    const pred = await p.predictTable(dataset.table, Int32Array.from({ length: 500 }, (_, i) => 2000 + i));
    expect(Array.from(pred.fields.p_up!).filter((v) => v > 0 && v < 1).length).toBe(500);
    // The same bits one row at a time as in one batch (live serves small batches; predict large ones).
    const single = await p.predictTable(dataset.table, Int32Array.from({ length: 500 }, (_, i) => 2000 + i), 1);
    expect(Buffer.from(single.fields.p_up!.buffer).equals(Buffer.from(pred.fields.p_up!.buffer))).toBe(true);
  });

  it('LSTM on the window view through the same machinery: same seed, same TensorFlow.js bytes; the bundle predicts', async () => {
    const extra = { name: 'test-lstm', cv: { method: 'purged_kfold', k: 2 }, view: { seqLen: 8 }, model: { kind: 'lstm', params: { units: 4, epochs: 1, batchSize: 512 } } };
    const l1 = config(join(work, 'l1'), extra);
    const l2 = config(join(work, 'l2'), extra);
    const r = await trainFromConfig(l1.config, l1.text);
    await trainFromConfig(l2.config, l1.text);
    expect(r.manifest.model).toMatchObject({ kind: 'lstm', family: 'neural', view: { name: 'window', params: { seqLen: 8 } } });
    const a = filesOf(join(work, 'l1'));
    const b = filesOf(join(work, 'l2'));
    for (const k of ['model/model.json', 'model/weights.bin', 'oof-predictions.csv']) expect(a.get(k)!.equals(b.get(k)!), k).toBe(true);
    const dataset = openDataset(ds, { columns: r.manifest.features.columns });
    const p = await BundlePredictor.open(join(work, 'l1'), dataset.manifest.featureSet.schemaHash);
    const rows = Int32Array.from({ length: 300 }, (_, i) => 3000 + i);
    const pred = await p.predictTable(dataset.table, rows);
    expect(Array.from(pred.fields.p_up!).every((v) => v > 0 && v < 1)).toBe(true);
  });

  it('evaluate: out-of-fold predictions on the training dataset, per fold, with classification metrics and reliability', async () => {
    const { evaluateBundle } = await import('../../../src/training/evaluation/evaluate.js');
    const { parseBacktestConfig } = await import('../../../src/training/backtest/backtestConfig.js');
    const ev = await evaluateBundle(join(work, 'a'), ds, parseBacktestConfig({}, 'defaults'), ['test']);
    expect(ev.source).toBe('oof');
    expect(ev.backtest!.groups!.kind).toBe('fold');
    expect(ev.backtest!.groups!.series).toHaveLength(3);
    const c = ev.classification!;
    expect(c.perGroup.map((g) => g.name)).toEqual(['fold 0', 'fold 1', 'fold 2']);
    expect(c.overall.n).toBe(c.perGroup.reduce((a, g) => a + g.metrics.n, 0));
    expect(c.reliability.reduce((a, b) => a + b.count, 0)).toBe(c.overall.n);
    // The metrics of the bundle's own CV are those evaluate recomputes from its predictions.
    const metrics = JSON.parse(readFileSync(join(work, 'a', 'metrics.json'), 'utf8'));
    expect(c.perGroup[1]!.metrics.logLoss).toBeCloseTo(metrics.cv.folds[1].logLoss, 12);
  });

  it('an invalid config fails before any work, naming the field', async () => {
    expect(() => parseTrainConfig({ name: 'x', dataset: ds, model: { kind: 'logistic' } }, 'c.yaml')).toThrow(/c\.yaml: out: /);
    expect(() => parseTrainConfig({ name: 'x', version: '1.0', dataset: ds, out: 'o', model: { kind: 'logistic' } }, 'c.yaml')).toThrow(/c\.yaml: version: a semantic version/);
    const bad = config(join(work, 'never'), { model: { kind: 'logistic', params: { l2: -1 } } });
    await expect(trainFromConfig(bad.config, bad.text)).rejects.toThrow(/model\.params\.l2: /);
    const kind = config(join(work, 'never'), { model: { kind: 'prophet' } });
    await expect(trainFromConfig(kind.config, kind.text)).rejects.toThrow(/unknown model kind "prophet"; the registry has logistic, linear, xgboost, lightgbm, lstm, tcn, inceptiontime, resnet1d, dlinear, nbeats, nhits/);
    const col = config(join(work, 'never'), { features: ['rsi99_1m'] });
    await expect(trainFromConfig(col.config, col.text)).rejects.toThrow(/features: rsi99_1m is not in the dataset's feature set/);
    expect(existsSync(join(work, 'never'))).toBe(false);
  });
});
