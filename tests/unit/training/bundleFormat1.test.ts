import { createHash } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadBundle } from '../../../src/serving/bundle/bundle.js';
import { parseBacktestConfig } from '../../../src/training/backtest/backtestConfig.js';
import { evaluateBundle } from '../../../src/training/evaluation/evaluate.js';
import { runBarflow } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/tempDir.js';

/**
 * Bundles written by barflow before the model contract v2 (formatVersion 1, tests/fixtures/bundles/v1/
 * README.md says how they were made) load as format 2 and predict exactly what the old code did:
 * `barflow predict` writes the same bytes as the old `barflow predict` wrote.
 */
const FIXTURES = 'tests/fixtures/bundles/v1';
const work = tempDir('bundle-v1');
const ds = join(work, 'ds');

describe('format 1 bundles still load and predict the same bits', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    const replay = await runBarflow(['replay', '-i', join(FIXTURES, 'BTCUSDT_binanceus_1m_head1500.csv'), '-o', ds]);
    expect(replay.code, replay.stderr).toBe(0);
    const label = await runBarflow(['label', '-d', ds, '-c', 'tests/fixtures/labels/labels.yaml']);
    expect(label.code, label.stderr).toBe(0);
  }, 120_000);

  it('the manifest reads as format 2: objective binary, the view as an object, the declared fields', () => {
    const m = loadBundle(join(FIXTURES, 'v1-lstm')).manifest;
    expect(m.formatVersion).toBe(2);
    expect(m.model).toMatchObject({ kind: 'lstm', format: 'tfjs', view: { name: 'window', params: { seqLen: 4 } }, objective: 'binary', outputs: ['p_up', 'e_r', 'uncertainty'], rawOutputs: ['p_up'] });
    expect(loadBundle(join(FIXTURES, 'v1-logistic')).manifest.model).toMatchObject({ kind: 'logistic', format: 'onnx', view: { name: 'tabular', params: {} }, objective: 'binary' });
  });

  it('evaluate reads a format 1 bundle\'s out-of-fold predictions (p_up only) on its training data', async () => {
    // The dataset is the same bars and labels, made by this code: its fingerprint and the label
    // set's sha256 (which name the code's commit) go into the copy's manifest and folds, with their
    // checksums, as if the bundle had been trained on it.
    const bundle = join(work, 'v1-logistic-evaluated');
    cpSync(join(FIXTURES, 'v1-logistic'), bundle, { recursive: true });
    const dsManifest = JSON.parse(readFileSync(join(ds, 'manifest.json'), 'utf8')) as { fingerprint: string; labels: { name: string; sha256: string }[] };
    const { fingerprint } = dsManifest;
    const labelSha = dsManifest.labels.find((l) => l.name === 'reference')!.sha256;
    const manifestPath = join(bundle, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    const folds = readFileSync(join(bundle, 'folds.json'), 'utf8').replaceAll(manifest.training.dataset.fingerprint, fingerprint).replaceAll(manifest.training.labels.sha256, labelSha);
    writeFileSync(join(bundle, 'folds.json'), folds);
    manifest.training.dataset.fingerprint = fingerprint;
    manifest.training.labels.sha256 = labelSha;
    manifest.files['folds.json'] = createHash('sha256').update(folds).digest('hex');
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
    const ev = await evaluateBundle(bundle, ds, parseBacktestConfig({}, 'defaults'), ['test']);
    expect(ev.source).toBe('oof');
    expect(ev.objective).toBe('binary');
    const oofRows = readFileSync(join(bundle, 'oof-predictions.csv'), 'utf8').trim().split('\n').length - 1;
    expect(ev.metrics!.overall.n).toBe(oofRows);
    expect(ev.classification!.overall.n).toBe(oofRows);
    expect(ev.backtest!.groups!.kind).toBe('fold');
  });

  for (const kind of ['logistic', 'lstm']) {
    it(`${kind} (format 1${kind === 'lstm' ? ', TensorFlow.js files' : ''}): barflow predict writes the old predictions byte for byte`, async () => {
      // A copy: loading never writes, but the fixture must stay as it was made.
      const bundle = join(work, `v1-${kind}`);
      cpSync(join(FIXTURES, `v1-${kind}`), bundle, { recursive: true });
      const out = join(work, `${kind}.predictions.csv`);
      const r = await runBarflow(['predict', '-b', bundle, '-d', ds, '-o', out]);
      expect(r.code, r.stderr).toBe(0);
      const want = readFileSync(join(FIXTURES, `v1-${kind}.predictions.csv`), 'utf8').split('\n');
      const got = readFileSync(out, 'utf8').split('\n');
      expect(got.length).toBe(want.length);
      const first = got.findIndex((line, i) => line !== want[i]);
      expect(first, `line ${first + 1}: ${got[first]} vs ${want[first]}`).toBe(-1);
    });
  }
});
