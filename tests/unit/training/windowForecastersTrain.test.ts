/**
 * `barflow train` of each window forecaster (issue 16) on the bundled samples, binary and quantile:
 * model/model.onnx in the bundle, finite declared outputs once the window is full, quantiles in
 * order, a prefix of the rows predicting the same bits as the whole, and the same bundle bytes for
 * the same config and seed.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
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

const work = tempDir('window-forecasters-train');
const ds = join(work, 'ds');
const FEATURES = ['rsi14_1m', 'bbwidth20_1m', 'retstd20_1m', 'rsi14_5m'];
const SEQ_LEN = 16;

const KINDS: [string, Record<string, unknown>][] = [
  ['tcn', { filters: 4, levels: 3 }],
  ['inceptiontime', { filters: 2, bottleneck: 2, depth: 3 }],
  ['resnet1d', { filters: 4 }],
  ['dlinear', { movingAverage: 9 }],
  ['nbeats', { units: 16, stacks: 2 }],
  ['nhits', { units: 16 }],
];

function config(out: string, kind: string, params: Record<string, unknown>, objective: string) {
  const doc = { name: `wf-${kind}`, seed: 5, dataset: ds, labels: { set: 'reference', target: 'tb' }, features: FEATURES, objective, cv: { method: 'purged_kfold', k: 2, embargo: '30m' }, view: { seqLen: SEQ_LEN }, model: { kind, params: { epochs: 1, batchSize: 512, ...params } }, out };
  return { config: parseTrainConfig(doc, 'test.yaml'), text: JSON.stringify(doc) };
}

describe('barflow train of the window forecasters', { timeout: 300_000 }, () => {
  beforeAll(async () => {
    await replay({ source: { kind: 'files', patterns: ['data/samples/*.csv'] }, out: ds, formats: ['arrow'], workers: 1, command: ['test'] });
    writeLabels(ds, readLabelConfig('tests/fixtures/labels/labels.yaml'), readFileSync('tests/fixtures/labels/labels.yaml', 'utf8'), ['test']);
  }, 120_000);

  it.each(KINDS.flatMap(([kind, params]) => (['binary', 'quantile'] as const).map((objective) => [kind, objective, params] as const)))(
    '%s %s: model.onnx, finite declared outputs after warm-up, ordered quantiles, prefix = whole',
    async (kind, objective, params) => {
      const out = join(work, `${kind}-${objective}`);
      const c = config(out, kind, params, objective);
      const r = await trainFromConfig(c.config, c.text);
      expect(r.manifest.model).toMatchObject({ kind, objective, format: 'onnx' });
      expect(r.manifest.model.files).toContain('model/model.onnx');
      const p = await BundlePredictor.open(out);
      const table = openDataset(ds, { columns: r.manifest.features.columns }).table;
      const all = Int32Array.from({ length: table.n }, (_, i) => i);
      const whole = await p.predictTable(table, all);
      const lead = objective === 'binary' ? 'p_up' : 'q50';
      const declared = objective === 'binary' ? ['p_up', 'e_r', 'uncertainty'] : ['q05', 'q50', 'q95', 'e_r', 'uncertainty'];
      let answered = 0;
      for (let i = 0; i < table.n; i++) {
        if (Number.isNaN(whole.fields[lead]![i]!)) continue;
        answered++;
        for (const f of declared) expect(Number.isFinite(whole.fields[f]![i]!), `${f} at row ${i}`).toBe(true);
        if (objective === 'quantile') {
          expect(whole.fields.q05![i]!).toBeLessThanOrEqual(whole.fields.q50![i]!);
          expect(whole.fields.q50![i]!).toBeLessThanOrEqual(whole.fields.q95![i]!);
        }
      }
      expect(answered).toBeGreaterThan(table.n * 0.9);
      const prefix = await p.predictTable(table, all.subarray(0, 3000), 97);
      for (const f of declared) expect(Buffer.from(prefix.fields[f]!.buffer).equals(Buffer.from(whole.fields[f]!.buffer, 0, 3000 * 8)), f).toBe(true);
    },
  );

  it('a TCN whose receptive field is shorter than the window is refused before any fit', async () => {
    const out = join(work, 'tcn-short');
    const c = config(out, 'tcn', { filters: 2, kernelSize: 3, levels: 2 }, 'binary');
    await expect(trainFromConfig(c.config, c.text)).rejects.toThrow(/TCN: the receptive field is 13 steps \(kernelSize 3, levels 2\), shorter than the window's 16/);
    expect(existsSync(`${out}.checkpoint`)).toBe(false);
  });

  it('same config and seed, same bundle bytes (ResNet1D: batch normalisation\'s moving statistics included)', async () => {
    for (const run of ['a', 'b']) {
      const c = config(join(work, `same-${run}`), 'resnet1d', { filters: 4 }, 'binary');
      await trainFromConfig(c.config, c.text);
    }
    for (const f of readdirSync(join(work, 'same-a', 'model'))) expect(readFileSync(join(work, 'same-a', 'model', f)).equals(readFileSync(join(work, 'same-b', 'model', f))), f).toBe(true);
    expect(readFileSync(join(work, 'same-a', 'oof-predictions.csv')).equals(readFileSync(join(work, 'same-b', 'oof-predictions.csv')))).toBe(true);
  });
});
