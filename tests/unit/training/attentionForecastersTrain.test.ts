/**
 * `barflow train` of each attention and probabilistic forecaster (issue 18) on the bundled samples,
 * for the quantile objective they exist for: model/model.onnx in the bundle, finite ordered
 * quantiles once the window is full, a prefix of the rows predicting the same bits as the whole,
 * the same bundle bytes for the same config and seed, and the TFT's inspection weights.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BundlePredictor } from '../../../src/serving/bundle/bundlePredictor.js';
import { replay } from '../../../src/streams/replay/replay.js';
import { openDataset } from '../../../src/training/dataset.js';
import { readLabelConfig } from '../../../src/training/labels/labelConfig.js';
import { writeLabels } from '../../../src/training/labels/labelSet.js';
import { parseTrainConfig } from '../../../src/training/train/trainConfig.js';
import { trainFromConfig } from '../../../src/training/train/trainRun.js';
import { tempDir } from '../../helpers/tempDir.js';

const work = tempDir('attention-forecasters-train');
const ds = join(work, 'ds');
const FEATURES = ['rsi14_1m', 'bbwidth20_1m', 'retstd20_1m', 'rsi14_5m'];
const SEQ_LEN = 16;

const KINDS: [string, Record<string, unknown>][] = [
  ['patchtst', { patchLen: 8, stride: 4, dModel: 8, heads: 2, layers: 1, ffUnits: 8 }],
  ['itransformer', { dModel: 8, heads: 2, layers: 1, ffUnits: 8 }],
  ['tft', { hidden: 8, heads: 2 }],
  ['deepar', { units: 8 }],
  ['quantile_rnn', { units: 8 }],
];

function config(out: string, kind: string, params: Record<string, unknown>) {
  const doc = { name: `af-${kind}`, seed: 5, dataset: ds, labels: { set: 'reference', target: 'tb' }, features: FEATURES, objective: 'quantile', cv: { method: 'purged_kfold', k: 2, embargo: '30m' }, view: { seqLen: SEQ_LEN }, model: { kind, params: { epochs: 1, batchSize: 512, ...params } }, out };
  return { config: parseTrainConfig(doc, 'test.yaml'), text: JSON.stringify(doc) };
}

describe('barflow train of the attention and probabilistic forecasters', { timeout: 300_000 }, () => {
  beforeAll(async () => {
    await replay({ source: { kind: 'files', patterns: ['data/samples/*.csv'] }, out: ds, formats: ['arrow'], workers: 1, command: ['test'] });
    writeLabels(ds, readLabelConfig('tests/fixtures/labels/labels.yaml'), readFileSync('tests/fixtures/labels/labels.yaml', 'utf8'), ['test']);
  }, 120_000);

  it.each(KINDS)('%s quantile: model.onnx, finite ordered quantiles after warm-up, prefix = whole', async (kind, params) => {
    const out = join(work, kind);
    const c = config(out, kind, params);
    const r = await trainFromConfig(c.config, c.text);
    expect(r.manifest.model).toMatchObject({ kind, objective: 'quantile', format: 'onnx' });
    expect(r.manifest.model.files).toContain('model/model.onnx');
    const p = await BundlePredictor.open(out);
    const table = openDataset(ds, { columns: r.manifest.features.columns }).table;
    const all = Int32Array.from({ length: table.n }, (_, i) => i);
    const whole = await p.predictTable(table, all);
    const declared = ['q05', 'q50', 'q95', 'e_r', 'uncertainty'];
    let answered = 0;
    for (let i = 0; i < table.n; i++) {
      if (Number.isNaN(whole.fields.q05![i]!)) continue;
      answered++;
      for (const f of declared) expect(Number.isFinite(whole.fields[f]![i]!), `${f} at row ${i}`).toBe(true);
      expect(whole.fields.q05![i]!).toBeLessThanOrEqual(whole.fields.q50![i]!);
      expect(whole.fields.q50![i]!).toBeLessThanOrEqual(whole.fields.q95![i]!);
    }
    expect(answered).toBeGreaterThan(table.n * 0.9);
    const prefix = await p.predictTable(table, all.subarray(0, 3000), 97);
    for (const f of declared) expect(Buffer.from(prefix.fields[f]!.buffer).equals(Buffer.from(whole.fields[f]!.buffer, 0, 3000 * 8)), f).toBe(true);
  });

  it('the TFT explains each answered row: attention over the window and selection over the features, each summing to 1; other kinds refuse', async () => {
    const p = await BundlePredictor.open(join(work, 'tft'));
    const table = openDataset(ds, { columns: p.inputColumns }).table;
    const rows = Int32Array.from({ length: 2000 }, (_, i) => i);
    const { columns, values } = await p.explainTable(table, rows, 701);
    expect(columns).toEqual([...Array.from({ length: SEQ_LEN }, (_, j) => `attention_lag${SEQ_LEN - 1 - j}`), ...FEATURES.map((f) => `selection_${f}`)]);
    const pred = await p.predictTable(table, rows);
    let checked = 0;
    for (let i = 0; i < rows.length; i++) {
      const answered = !Number.isNaN(pred.fields.q50![i]!);
      expect(!Number.isNaN(values[0]![i]!)).toBe(answered);
      if (!answered) continue;
      const sum = (from: number, to: number) => values.slice(from, to).reduce((a, v) => a + v[i]!, 0);
      expect(sum(0, SEQ_LEN)).toBeCloseTo(1, 5);
      expect(sum(SEQ_LEN, columns.length)).toBeCloseTo(1, 5);
      for (const v of values) expect(v[i]!).toBeGreaterThanOrEqual(0);
      checked++;
    }
    expect(checked).toBeGreaterThan(1000);
    const other = await BundlePredictor.open(join(work, 'deepar'));
    await expect(other.explainTable(table, rows)).rejects.toThrow(/model kind deepar has no explanation \(the tft has/);
  });

  it('same config and seed, same bundle bytes (PatchTST)', async () => {
    for (const run of ['a', 'b']) {
      const c = config(join(work, `same-${run}`), 'patchtst', KINDS[0]![1]);
      await trainFromConfig(c.config, c.text);
    }
    for (const f of readdirSync(join(work, 'same-a', 'model'))) expect(readFileSync(join(work, 'same-a', 'model', f)).equals(readFileSync(join(work, 'same-b', 'model', f))), f).toBe(true);
    expect(readFileSync(join(work, 'same-a', 'oof-predictions.csv')).equals(readFileSync(join(work, 'same-b', 'oof-predictions.csv')))).toBe(true);
  });
});
