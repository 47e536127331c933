/**
 * Ensembles, regime and conformal intervals through `barflow train` (issue 17) on the bundled
 * samples: stacking of heterogeneous bases (a tabular and a window model) with nested purged CV,
 * soft voting (fixed, fitted, gated by the filtered regime), the causal HMM's regime_score in
 * every prediction, split / CQR / jackknife+ intervals, double calibration. Each bundle predicts
 * finite declared fields after warm-up, and the data before a cut predicts the same bits as the
 * whole (later rows cannot change an earlier output).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadBundle } from '../../../src/serving/bundle/bundle.js';
import { BundlePredictor } from '../../../src/serving/bundle/bundlePredictor.js';
import { adaptIntervals } from '../../../src/training/conformal/adaptiveIntervals.js';
import { openDataset } from '../../../src/training/dataset.js';
import type { FeatureTable } from '../../../src/training/featureTable.js';
import { openLabels } from '../../../src/training/labels/labelSet.js';
import { parseTrainConfig } from '../../../src/training/train/trainConfig.js';
import { trainFromConfig } from '../../../src/training/train/trainRun.js';
import { sampleDataset, tableBefore } from '../../helpers/sampleDataset.js';
import { tempDir } from '../../helpers/tempDir.js';

const work = tempDir('ensembles');
const ds = join(work, 'ds');
const FEATURES = ['rsi14_1m', 'bbwidth20_1m', 'retstd20_1m', 'rsi14_5m', 'natr14_1m', 'ret1_1m'];
const LGBM = { kind: 'lightgbm', params: { numRounds: 20, numLeaves: 7 } };

function train(name: string, extra: Record<string, unknown>) {
  const doc = { name, seed: 5, dataset: ds, labels: { set: 'reference', target: 'tb' }, features: FEATURES, cv: { method: 'purged_kfold', k: 3, embargo: '30m' }, out: join(work, name), ...extra };
  return trainFromConfig(parseTrainConfig(doc, `${name}.yaml`), JSON.stringify(doc));
}

/** Predicts the whole dataset and the data before its middle; checks the declared fields and that the prefix's rows are the same bits. */
async function predictsCausally(dir: string): Promise<{ p: BundlePredictor; fields: Record<string, Float64Array>; answered: number; n: number }> {
  const p = await BundlePredictor.open(dir);
  const table = openDataset(ds, { columns: p.inputColumns }).table;
  const whole = await p.predictTable(table, Int32Array.from({ length: table.n }, (_, i) => i));
  const lead = whole.fields[p.declared[0]!]!;
  let answered = 0;
  for (let i = 0; i < table.n; i++) {
    if (Number.isNaN(lead[i]!)) continue;
    answered++;
    for (const f of p.declared) expect(Number.isFinite(whole.fields[f]![i]!), `${f} at row ${i}`).toBe(true);
  }
  expect(answered).toBeGreaterThan(table.n * 0.6);
  const sorted = Float64Array.from(table.ts).sort();
  const cut = sorted[Math.floor(table.n / 2)]!;
  const before = tableBefore(table, cut);
  const part = await p.predictTable(before, Int32Array.from({ length: before.n }, (_, i) => i));
  let k = 0;
  for (let r = 0; r < table.n; r++) {
    if (!(table.ts[r]! < cut)) continue;
    for (const f of p.fields) expect(Object.is(part.fields[f]![k], whole.fields[f]![r]), `${f} at row ${r}`).toBe(true);
    k++;
  }
  return { p, fields: whole.fields, answered, n: table.n };
}

/** The whole table's row of a (prefix) table's row, by symbol and time. */
function rowOf(whole: FeatureTable, table: FeatureTable, k: number): number {
  const code = whole.symbols.indexOf(table.symbols[table.symbolCodes[k]!]!);
  return whole.symbolStart[code]! + (k - table.symbolStart[table.symbolCodes[k]!]!);
}

describe('ensembles, regime and conformal intervals', { timeout: 600_000 }, () => {
  beforeAll(async () => {
    await sampleDataset(ds);
  }, 120_000);

  it('stacking: a tabular and a window base, ridge meta, the regime as meta inputs; nested CV; each base a bundle of its own', async () => {
    const r = await train('stack', {
      regime: { method: 'hmm', states: 2 },
      model: { kind: 'stacking', base: [LGBM, { kind: 'dlinear', params: { epochs: 1, movingAverage: 5 }, view: { seqLen: 8 } }], meta: { kind: 'ridge' }, innerFolds: 2, regimeInputs: true },
    });
    expect(r.manifest.model).toMatchObject({ kind: 'stacking', family: 'ensemble', outputs: ['p_up', 'e_r', 'uncertainty', 'regime_score'] });
    expect(r.manifest.ensemble).toMatchObject({ form: 'stacking', states: 2, inputs: ['base0_logit_p_up', 'base1_logit_p_up', 'regime_p0', 'regime_p1'] });
    const dir = join(work, 'stack');
    // Every byte of the bases is checksummed in the parent, and each opens alone.
    for (const b of r.manifest.ensemble!.bases) {
      expect(Object.keys(r.manifest.files).some((f) => f.startsWith(`${b.dir}/model/`))).toBe(true);
      expect(loadBundle(join(dir, b.dir)).manifest.model.kind).toBe(b.kind);
      await BundlePredictor.open(join(dir, b.dir));
    }
    const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
    expect(metrics.cv.nested.innerFolds).toBe(2);
    expect(metrics.cv.folds).toHaveLength(3);
    expect(metrics.bases.map((b: { kind: string }) => b.kind)).toEqual(['lightgbm', 'dlinear']);
    expect(metrics.regime.states).toBe(2);
    const { fields } = await predictsCausally(dir);
    for (const v of fields.regime_score!) if (!Number.isNaN(v)) expect(v >= 0 && v <= 1).toBe(true);
    expect(existsSync(`${dir}.checkpoint`)).toBe(false);
  });

  it('voting: gated weights per filtered regime state, each state\'s weights on the simplex; same bytes twice', async () => {
    const model = { kind: 'voting', base: [LGBM, { kind: 'logistic' }], weights: 'gated' };
    await train('vote-a', { regime: { method: 'hmm' }, model });
    const first = loadBundle(join(work, 'vote-a')).manifest.files;
    await train('vote-a', { regime: { method: 'hmm' }, model });
    const pool = JSON.parse(readFileSync(join(work, 'vote-a', 'meta', 'pool.json'), 'utf8')) as { weights: number[][] };
    expect(pool.weights).toHaveLength(2);
    for (const w of pool.weights) {
      expect(w.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 12);
      for (const v of w) expect(v).toBeGreaterThanOrEqual(0);
    }
    expect(loadBundle(join(work, 'vote-a')).manifest.files).toEqual(first);
    await predictsCausally(join(work, 'vote-a'));
  });

  it('voting with fixed weights: the pooled P(up) before calibration is the weighted mean of the bases\'', async () => {
    await train('vote-fixed', { calibration: { method: 'none', fraction: 0.2 }, model: { kind: 'voting', base: [LGBM, { kind: 'logistic' }], weights: [3, 1] } });
    const dir = join(work, 'vote-fixed');
    const p = await BundlePredictor.open(dir);
    const bases = await Promise.all([0, 1].map((b) => BundlePredictor.open(join(dir, 'bases', String(b)))));
    const table = openDataset(ds, { columns: p.inputColumns }).table;
    const rows = Int32Array.from({ length: 400 }, (_, i) => table.n - 1 - i * 7);
    const [e, b0, b1] = await Promise.all([p, ...bases].map((m) => m.predictTable(table, rows)));
    for (let i = 0; i < rows.length; i++) {
      if (Number.isNaN(e!.fields.p_up![i]!)) continue;
      expect(e!.fields.p_up![i]!).toBeCloseTo(0.75 * b0!.fields.p_up![i]! + 0.25 * b1!.fields.p_up![i]!, 6);
    }
  });

  it('stacking with a LightGBM and a logistic meta-learner, and a calibrated blender; a LightGBM meta deeper than 3 is refused', async () => {
    for (const meta of [{ kind: 'lightgbm', params: { numRounds: 30 } }, { kind: 'logistic' }, { kind: 'blender' }]) {
      const r = await train(`stack-${meta.kind}`, { calibration: { method: 'isotonic_temperature', fraction: 0.2 }, model: { kind: 'stacking', base: [LGBM, { kind: 'logistic' }], meta, innerFolds: 2 } });
      expect(r.manifest.model.format).toBe(meta.kind === 'blender' ? 'json' : 'onnx');
    }
    await expect(train('deep-meta', { model: { kind: 'stacking', base: [LGBM, { kind: 'logistic' }], meta: { kind: 'lightgbm', params: { maxDepth: 6 } } } })).rejects.toThrow(/maxDepth must be 1…3/);
  });

  it('conformal split (regression): q05 and q95 are e_r ∓ the calibration slice\'s conformal quantile of |y − ŷ|', async () => {
    const r = await train('split', { objective: 'regression', model: { kind: 'linear' }, conformal: { method: 'split', coverage: 0.9 } });
    expect(r.manifest.model.outputs).toEqual(['e_r', 'q05', 'q95', 'uncertainty']);
    const cal = JSON.parse(readFileSync(join(work, 'split', 'calibrator.json'), 'utf8')) as { interval: { halfWidth: number; scores: number[] } };
    const s = cal.interval.scores;
    expect(cal.interval.halfWidth).toBe(s[Math.ceil((s.length + 1) * 0.9) - 1]);
    const { fields } = await predictsCausally(join(work, 'split'));
    for (let i = 0; i < fields.e_r!.length; i++) if (!Number.isNaN(fields.e_r![i]!)) expect(fields.q95![i]! - fields.e_r![i]!).toBeCloseTo(cal.interval.halfWidth, 12);
  });

  it('conformal jackknife_plus: the fold models are served beside the final one; the interval from their out-of-fold residuals', async () => {
    const r = await train('jk', { objective: 'regression', model: { kind: 'linear' }, conformal: { method: 'jackknife_plus', coverage: 0.8 } });
    expect(r.manifest.model.members).toHaveLength(3);
    expect(r.manifest.model.rawOutputs).toEqual(['e_r', 'e_r_fold0', 'e_r_fold1', 'e_r_fold2']);
    expect(r.manifest.model.outputs).toEqual(['e_r', 'q10', 'q90', 'uncertainty']);
    const { fields } = await predictsCausally(join(work, 'jk'));
    let inside = 0;
    let n = 0;
    for (let i = 0; i < fields.e_r!.length; i++) {
      if (Number.isNaN(fields.e_r![i]!)) continue;
      n++;
      if (fields.q10![i]! <= fields.e_r![i]! && fields.e_r![i]! <= fields.q90![i]!) inside++;
    }
    expect(inside / n).toBeGreaterThan(0.99);
    const oof = readFileSync(join(work, 'jk', 'oof-predictions.csv'), 'utf8').split('\n')[1]!.split(',');
    expect(oof.slice(2, 6).every((v) => Number.isFinite(Number(v)) && v !== '')).toBe(true);
  });

  it('conformal cqr at coverage 0.8 on a quantile model needs the levels 0.1 and 0.9', async () => {
    await expect(train('cqr-bad', { objective: 'quantile', model: LGBM, conformal: { method: 'cqr', coverage: 0.8 } })).rejects.toThrow(/needs quantile levels 0.1 and 0.9/);
    const r = await train('cqr', { objective: 'quantile', quantiles: [0.1, 0.5, 0.9], regime: { method: 'hmm' }, model: LGBM, conformal: { method: 'cqr', coverage: 0.8 } });
    expect(r.manifest.model.outputs).toEqual(['q10', 'q50', 'q90', 'e_r', 'uncertainty', 'regime_score']);
    const { fields } = await predictsCausally(join(work, 'cqr'));
    for (let i = 0; i < fields.q10!.length; i++) if (!Number.isNaN(fields.q10![i]!)) expect(fields.q10![i]! <= fields.q50![i]! && fields.q50![i]! <= fields.q90![i]!).toBe(true);
  });

  it('conformal adaptive (Gibbs and Candès): the level follows realised misses once each label has ended; causal; long-run coverage near nominal', async () => {
    await train('aci', { objective: 'quantile', model: LGBM, conformal: { method: 'adaptive', coverage: 0.9, gamma: 0.01 } });
    const p = await BundlePredictor.open(join(work, 'aci'));
    const dataset = openDataset(ds, { columns: p.inputColumns });
    const labels = openLabels(dataset, 'reference');
    const outcomes = { y: labels.column('tb_ret'), t1: labels.t1Of('tb') };
    const run = async (table: FeatureTable) => {
      const rows = Int32Array.from({ length: table.n }, (_, i) => i);
      const pred = await p.predictTable(table, rows);
      // A prefix table's rows are the whole's first rows of each symbol: map the outcomes onto them.
      const at = (arr: Float64Array) => Float64Array.from(rows, (r) => arr[rowOf(dataset.table, table, r)]!);
      const r = adaptIntervals(p.outputContract.params, 0.9, 0.01, table, rows, pred.fields, { y: at(outcomes.y), t1: at(outcomes.t1) });
      return { pred, r };
    };
    const whole = await run(dataset.table);
    expect(Math.abs(1 - whole.r.missed / whole.r.observed - 0.9)).toBeLessThan(0.03);
    const cut = Float64Array.from(dataset.table.ts).sort()[Math.floor(dataset.table.n / 2)]!;
    const before = tableBefore(dataset.table, cut);
    const part = await run(before);
    for (let k = 0; k < before.n; k++) {
      const r = rowOf(dataset.table, before, k);
      for (const f of ['q05', 'q95', 'uncertainty']) expect(Object.is(part.pred.fields[f]![k], whole.pred.fields[f]![r]), `${f} at row ${r}`).toBe(true);
    }
  });

  it('clear refusals: a conformal method for the wrong objective, jackknife+ with CPCV or an ensemble, gated weights without a regime', async () => {
    await expect(train('x1', { objective: 'binary', model: LGBM, conformal: { method: 'split' } })).rejects.toThrow(/use objective regression/);
    await expect(train('x2', { objective: 'regression', model: { kind: 'linear' }, cv: { method: 'cpcv' }, conformal: { method: 'jackknife_plus' } })).rejects.toThrow(/not cpcv/);
    await expect(train('x3', { objective: 'regression', model: { kind: 'voting', base: [LGBM, { kind: 'linear' }] }, conformal: { method: 'jackknife_plus' } })).rejects.toThrow(/one model per fold/);
    expect(() => parseTrainConfig({ name: 'x', dataset: ds, out: 'x', model: { kind: 'voting', base: [LGBM, LGBM], weights: 'gated' } }, 'g.yaml')).toThrow(/g.yaml: model.weights: gated weights are conditional on the regime/);
    expect(() => parseTrainConfig({ name: 'x', dataset: ds, out: 'x', model: { kind: 'stacking', base: [LGBM, LGBM], meta: { kind: 'svm' } } }, 's.yaml')).toThrow(/s.yaml: model.meta.kind/);
  });
});
