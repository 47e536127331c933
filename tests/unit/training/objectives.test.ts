import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BundlePredictor } from '../../../src/serving/bundle/bundlePredictor.js';
import { replay } from '../../../src/streams/replay/replay.js';
import { openDataset } from '../../../src/training/dataset.js';
import { readLabelConfig } from '../../../src/training/labels/labelConfig.js';
import { writeLabels } from '../../../src/training/labels/labelSet.js';
import { quantileName, rawOutputs } from '../../../src/training/objectives/objective.js';
import { OutputContract, declaredOutputs, fitContract } from '../../../src/training/objectives/outputContract.js';
import { parseTrainConfig } from '../../../src/training/train/trainConfig.js';
import { trainFromConfig } from '../../../src/training/train/trainRun.js';
import { tempDir } from '../../helpers/tempDir.js';

const work = tempDir('objectives');
const ds = join(work, 'ds');
const FEATURES = ['rsi14_1m', 'adx14_1m', 'bbwidth20_1m', 'volratio20_1m', 'retstd20_1m', 'rsi14_5m'];

function config(out: string, extra: Record<string, unknown>) {
  const doc = { name: 'obj', seed: 5, dataset: ds, labels: { set: 'reference', target: 'tb' }, features: FEATURES, cv: { method: 'purged_kfold', k: 3, embargo: '30m' }, out, ...extra };
  const text = JSON.stringify(doc);
  return { config: parseTrainConfig(doc, 'test.yaml'), text };
}

const LGBM = { kind: 'lightgbm', params: { numRounds: 30, numLeaves: 8, minDataInLeaf: 40 } };

describe('the output contract per objective', () => {
  it('names quantile fields after their levels and declares what each objective fills', () => {
    expect([0.05, 0.5, 0.95, 0.025, 0.1].map(quantileName)).toEqual(['q05', 'q50', 'q95', 'q025', 'q10']);
    expect(rawOutputs({ objective: 'multiclass', quantiles: [] })).toEqual(['p_down', 'p_timeout', 'p_up']);
    expect(declaredOutputs({ objective: 'quantile', quantiles: [0.1, 0.9] })).toEqual(['q10', 'q90', 'uncertainty']);
    expect(declaredOutputs({ objective: 'regression', quantiles: [] })).toEqual(['e_r']);
  });

  it('quantile: crossing raw quantiles are served sorted; e_r is the median, uncertainty the outer width', () => {
    const c = new OutputContract({ objective: 'quantile', quantiles: [0.05, 0.5, 0.95] }, { objective: 'quantile', conformal: [] });
    const out = new Float64Array(5);
    c.row(Float64Array.of(0.02, -0.01, 0.01), 0, out);
    expect(Array.from(out)).toEqual([-0.01, 0.01, 0.02, 0.01, 0.03]);
  });

  it('quantile: the outer interval is conformalised on the calibration rows (CQR): too narrow widens, too wide narrows, to its level', () => {
    const spec = { objective: 'quantile' as const, quantiles: [0.05, 0.5, 0.95] };
    const n = 999;
    // Spread on both sides, no two at the same distance from 0 (distinct conformity scores).
    const y = Array.from({ length: n }, (_, i) => (i - 499.3) / 100);
    for (const half of [1, 8]) {
      const raw = Float64Array.from({ length: n * 3 }, (_, k) => [-half, 0, half][k % 3]!);
      const c = new OutputContract(spec, fitContract(spec, { raw, y, fitted: { y: [], ret: [] }, calibration: 'none' }));
      const out = new Float64Array(5);
      c.row(raw, 0, out);
      // ⌈(n + 1) · 0.9⌉ = 900 of the 999 calibration targets inside, whatever the model's width.
      const inside = y.filter((v) => v >= out[0]! && v <= out[2]!).length;
      expect(inside).toBe(900);
      expect(out[1]).toBe(0);
    }
  });

  it('the mean return of a class with no fitted row is 0, so e_r stays finite', () => {
    const spec = { objective: 'multiclass' as const, quantiles: [] };
    const p = fitContract(spec, { raw: new Float64Array(0), y: [], fitted: { y: [0, 2, 2], ret: [-0.01, 0.01, 0.03] }, calibration: 'none' });
    expect(p).toEqual({ objective: 'multiclass', classReturns: [-0.01, 0, 0.02] });
  });

  it('multiclass: p_up is P(up), e_r weighs the class returns, uncertainty is the normalised entropy', () => {
    const c = new OutputContract({ objective: 'multiclass', quantiles: [] }, { objective: 'multiclass', classReturns: [-0.01, 0, 0.02] });
    const out = new Float64Array(5);
    c.row(Float64Array.of(1 / 3, 1 / 3, 1 / 3, 0.2, 0.3, 0.5), 1, out);
    expect(out[0]).toBe(0.5);
    expect(out[1]).toBeCloseTo(0.2 * -0.01 + 0.5 * 0.02, 15);
    expect(out[3]).toBe(0.2);
    expect(out[4]).toBe(0.3);
    c.row(Float64Array.of(1 / 3, 1 / 3, 1 / 3), 0, out);
    expect(out[2]).toBeCloseTo(1, 12);
  });
});

describe('barflow train: every objective end to end', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    await replay({ source: { kind: 'files', patterns: ['data/samples/*.csv'] }, out: ds, formats: ['arrow'], workers: 1, command: ['test'] });
    writeLabels(ds, readLabelConfig('tests/fixtures/labels/labels.yaml'), readFileSync('tests/fixtures/labels/labels.yaml', 'utf8'), ['test']);
  }, 120_000);

  it('a kind asked for an objective it does not support fails before any work, naming both', async () => {
    const c = config(join(work, 'never'), { objective: 'quantile', model: { kind: 'logistic' } });
    await expect(trainFromConfig(c.config, c.text)).rejects.toThrow(/model kind logistic does not support objective quantile \(it supports binary, multiclass\); kinds for quantile: .*lightgbm/);
    expect(existsSync(join(work, 'never'))).toBe(false);
    expect(existsSync(join(work, 'never.checkpoint'))).toBe(false);
  });

  it('multiclass (logistic, softmax): the three class probabilities sum to 1 and p_up is P(up); the metrics of classification', async () => {
    const c = config(join(work, 'mc'), { objective: 'multiclass', model: { kind: 'logistic', params: { l2: 2 } } });
    const r = await trainFromConfig(c.config, c.text);
    expect(r.manifest.model).toMatchObject({ objective: 'multiclass', outputs: ['p_up', 'e_r', 'uncertainty', 'p_down', 'p_timeout'] });
    for (const k of ['logLoss', 'brier', 'auc', 'accuracy', 'macroF1']) expect(Number.isFinite(r.cv[0]!.metrics[k]), k).toBe(true);
    const p = await BundlePredictor.open(join(work, 'mc'));
    expect(p.fields.slice(7)).toEqual(['p_down', 'p_timeout']);
    const table = openDataset(ds, { columns: r.manifest.features.columns }).table;
    const pred = await p.predictTable(table, Int32Array.from({ length: 400 }, (_, i) => 3000 + i));
    for (let i = 0; i < 400; i++) {
      const sum = pred.fields.p_up![i]! + pred.fields.p_down![i]! + pred.fields.p_timeout![i]!;
      expect(Math.abs(sum - 1)).toBeLessThan(1e-6);
    }
    expect(Array.from(pred.fields.q05!).every(Number.isNaN)).toBe(true);
  });

  it('regression (linear ridge): e_r from tb_ret; the metrics of regression; fields it does not declare stay empty', async () => {
    const c = config(join(work, 'reg'), { objective: 'regression', model: { kind: 'linear', params: { penalty: 'ridge', l2: 10 } } });
    const r = await trainFromConfig(c.config, c.text);
    expect(r.manifest.model.outputs).toEqual(['e_r']);
    for (const k of ['rmse', 'mae', 'r2', 'directionalAccuracy', 'ic']) expect(Number.isFinite(r.cv[0]!.metrics[k]), k).toBe(true);
    const oof = readFileSync(join(work, 'reg', 'oof-predictions.csv'), 'utf8').split('\n');
    expect(oof[0]).toBe('ts,symbol,e_r,fold');
    const { evaluateBundle } = await import('../../../src/training/evaluation/evaluate.js');
    const { parseBacktestConfig } = await import('../../../src/training/backtest/backtestConfig.js');
    const ev = await evaluateBundle(join(work, 'reg'), ds, parseBacktestConfig({}, 'defaults'), ['test']);
    expect(ev.backtest).toBeNull();
    expect(ev.metrics!.perGroup).toHaveLength(3);
    expect(ev.metrics!.overall.n).toBe(oof.length - 2);
  });

  it('quantile (LightGBM, pinball): q05 ≤ q50 ≤ q95 everywhere, model.onnx, the same bytes twice, a prefix predicts as the whole; coverage reported', async () => {
    const a = config(join(work, 'qa'), { objective: 'quantile', model: LGBM });
    const b = config(join(work, 'qb'), { objective: 'quantile', model: LGBM });
    const r = await trainFromConfig(a.config, a.text);
    await trainFromConfig(b.config, a.text);
    expect(r.manifest.model).toMatchObject({ kind: 'lightgbm', objective: 'quantile', quantiles: [0.05, 0.5, 0.95], outputs: ['q05', 'q50', 'q95', 'e_r', 'uncertainty'], format: 'onnx' });
    expect(r.manifest.model.files).toContain('model/model.onnx');
    for (const f of readdirSync(join(work, 'qa', 'model'))) expect(readFileSync(join(work, 'qa', 'model', f)).equals(readFileSync(join(work, 'qb', 'model', f))), f).toBe(true);
    expect(readFileSync(join(work, 'qa', 'oof-predictions.csv')).equals(readFileSync(join(work, 'qb', 'oof-predictions.csv')))).toBe(true);
    const p = await BundlePredictor.open(join(work, 'qa'));
    const table = openDataset(ds, { columns: r.manifest.features.columns }).table;
    const all = Int32Array.from({ length: table.n }, (_, i) => i);
    const whole = await p.predictTable(table, all);
    let answered = 0;
    for (let i = 0; i < table.n; i++) {
      if (Number.isNaN(whole.fields.q50![i]!)) continue;
      answered++;
      expect(whole.fields.q05![i]!).toBeLessThanOrEqual(whole.fields.q50![i]!);
      expect(whole.fields.q50![i]!).toBeLessThanOrEqual(whole.fields.q95![i]!);
      expect(Number.isFinite(whole.fields.uncertainty![i]!)).toBe(true);
    }
    expect(answered).toBeGreaterThan(table.n * 0.9);
    // Causality: the rows of a prefix predict the same bits alone as within the whole.
    const prefix = await p.predictTable(table, all.subarray(0, 2000), 97);
    for (const f of ['q05', 'q50', 'q95']) expect(Buffer.from(prefix.fields[f]!.buffer).equals(Buffer.from(whole.fields[f]!.buffer, 0, 2000 * 8)), f).toBe(true);
    const { evaluateBundle } = await import('../../../src/training/evaluation/evaluate.js');
    const { parseBacktestConfig } = await import('../../../src/training/backtest/backtestConfig.js');
    const ev = await evaluateBundle(join(work, 'qa'), ds, parseBacktestConfig({}, 'defaults'), ['test']);
    expect(ev.coverage![0]).toMatchObject({ levels: [0.05, 0.95], nominal: 0.8999999999999999 });
    expect(ev.coverage![0]!.perGroup).toHaveLength(3);
    // Conformalised on the calibration slice, the interval covers its level there (at least
    // ⌈(n + 1)·0.9⌉ of n rows, ties aside); out of fold these samples' folds are BTC in March and
    // ES in September, so the figure is only reported (docs/models.md).
    expect(r.final.calibration.coverage).toBeGreaterThanOrEqual(0.9);
    expect(r.final.calibration.coverage).toBeLessThan(0.92);
    expect(ev.coverage![0]!.observed).toBeGreaterThan(0);
    expect(ev.coverage![0]!.observed).toBeLessThan(1);
    for (const k of ['pinball_q05', 'pinball_q50', 'pinball_q95', 'coverage']) expect(Number.isFinite(ev.metrics!.overall[k]), k).toBe(true);
  });

  it('quantile (LSTM through ONNX, early stopping on the watch slice): ordered quantiles, model.onnx', async () => {
    const c = config(join(work, 'lstm-q'), { objective: 'quantile', cv: { method: 'purged_kfold', k: 2, embargo: '30m' }, view: { seqLen: 8 }, model: { kind: 'lstm', params: { units: 4, epochs: 3, batchSize: 512, patience: 1 } } });
    const r = await trainFromConfig(c.config, c.text);
    expect(r.manifest.model).toMatchObject({ kind: 'lstm', format: 'onnx', objective: 'quantile', outputs: ['q05', 'q50', 'q95', 'e_r', 'uncertainty'] });
    expect(r.manifest.model.files).toContain('model/model.onnx');
    const p = await BundlePredictor.open(join(work, 'lstm-q'));
    const table = openDataset(ds, { columns: r.manifest.features.columns }).table;
    const pred = await p.predictTable(table, Int32Array.from({ length: 500 }, (_, i) => 3000 + i));
    for (let i = 0; i < 500; i++) {
      expect(pred.fields.q05![i]!).toBeLessThanOrEqual(pred.fields.q50![i]!);
      expect(pred.fields.q50![i]!).toBeLessThanOrEqual(pred.fields.q95![i]!);
    }
  });

  it('binary, multiclass and regression (LightGBM): every declared field finite', async () => {
    for (const objective of ['binary', 'multiclass', 'regression'] as const) {
      const c = config(join(work, `lgbm-${objective}`), { objective, model: LGBM });
      const r = await trainFromConfig(c.config, c.text);
      expect(r.manifest.model.objective).toBe(objective);
      const p = await BundlePredictor.open(join(work, `lgbm-${objective}`));
      const table = openDataset(ds, { columns: r.manifest.features.columns }).table;
      const pred = await p.predictTable(table, Int32Array.from({ length: 300 }, (_, i) => 4000 + i));
      for (const f of r.manifest.model.outputs) expect(Array.from(pred.fields[f]!).every(Number.isFinite), `${objective} ${f}`).toBe(true);
    }
  });
});
