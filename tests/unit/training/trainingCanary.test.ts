/**
 * The leak canary of every training path (issue 17): `barflow train` on the samples with the
 * labels shuffled between rows (each row keeps its own label span, so purging and the embargo act
 * as on the real labels). Nothing in the features can predict a shuffled label, so the out-of-
 * fold AUC must stay within noise of 0.5; a test row reaching any fit (a base, the meta-learner of
 * the nested CV, a calibrator, a conformal slice, the regime) would show as skill, the more so as
 * the models here are flexible enough to memorise the rows they fit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BundlePredictor } from '../../../src/serving/bundle/bundlePredictor.js';
import { openDataset } from '../../../src/training/dataset.js';
import { rocAuc } from '../../../src/training/evaluation/classificationMetrics.js';
import { openLabels } from '../../../src/training/labels/labelSet.js';
import { parseTrainConfig } from '../../../src/training/train/trainConfig.js';
import { trainFromConfig } from '../../../src/training/train/trainRun.js';
import { sampleDataset } from '../../helpers/sampleDataset.js';
import { tempDir } from '../../helpers/tempDir.js';

const work = tempDir('training-canary');
const ds = join(work, 'ds');
// Memorises: deep trees, many rounds.
const LGBM = { kind: 'lightgbm', params: { numRounds: 80, numLeaves: 63, minDataInLeaf: 5 } };

/** The out-of-fold AUC of `column` (P(up), or a return forecast) against the shuffled target > 0. */
function oofAuc(bundle: string, column: string): { auc: number; n: number } {
  const dataset = openDataset(ds, { columns: [] });
  const y = openLabels(dataset, 'shuffled').column('tb');
  const table = dataset.table;
  const row = new Map<string, number>();
  for (let r = 0; r < table.n; r++) row.set(`${table.symbols[table.symbolCodes[r]!]}@${table.ts[r]}`, r);
  const lines = readFileSync(join(bundle, 'oof-predictions.csv'), 'utf8').trim().split('\n');
  const at = lines[0]!.split(',').indexOf(column);
  const score: number[] = [];
  const label: number[] = [];
  for (const line of lines.slice(1)) {
    const c = line.split(',');
    if (c[at] === '') continue;
    const r = row.get(`${c[1]}@${Date.parse(c[0]!)}`)!;
    score.push(Number(c[at]));
    label.push(y[r]! > 0 ? 1 : 0);
  }
  return { auc: rocAuc(score, label), n: score.length };
}

const PATHS: [string, Record<string, unknown>, string][] = [
  ['one model (LightGBM)', { model: LGBM }, 'p_up'],
  ['double calibration (isotonic, then temperature)', { model: LGBM, calibration: { method: 'isotonic_temperature', fraction: 0.2 } }, 'p_up'],
  ['voting, weights fitted on out-of-fold rows', { model: { kind: 'voting', base: [LGBM, { kind: 'logistic' }], weights: 'fitted' } }, 'p_up'],
  ['voting gated by the regime', { regime: { method: 'hmm' }, model: { kind: 'voting', base: [LGBM, { kind: 'logistic' }], weights: 'gated' } }, 'p_up'],
  ['stacking, ridge meta, nested CV, regime inputs', { regime: { method: 'hmm' }, model: { kind: 'stacking', base: [LGBM, { kind: 'logistic' }], meta: { kind: 'ridge' }, innerFolds: 2, regimeInputs: true } }, 'p_up'],
  ['conformal CQR (quantile)', { objective: 'quantile', model: LGBM, conformal: { method: 'cqr', coverage: 0.9 } }, 'q50'],
  ['conformal split (regression)', { objective: 'regression', model: LGBM, conformal: { method: 'split', coverage: 0.9 } }, 'e_r'],
];

describe('the leak canary of the training paths', { timeout: 600_000 }, () => {
  beforeAll(async () => {
    await sampleDataset(ds, 20261204);
  }, 120_000);

  it.each(PATHS)('%s: out-of-fold AUC on shuffled labels within noise of 0.5', async (name, extra, column) => {
    const out = join(work, name.replace(/[^a-z]+/gi, '-'));
    const doc = { name: 'canary', seed: 11, dataset: ds, labels: { set: 'shuffled', target: 'tb' }, features: ['rsi14_1m', 'bbwidth20_1m', 'retstd20_1m', 'rsi14_5m', 'natr14_1m', 'ret1_1m', 'volz20_1m'], cv: { method: 'purged_kfold', k: 3, embargo: '30m' }, out, ...extra };
    await trainFromConfig(parseTrainConfig(doc, 'canary.yaml'), JSON.stringify(doc));
    const { auc, n } = oofAuc(out, column);
    expect(n).toBeGreaterThan(8000);
    // About 9,000 out-of-fold rows: the AUC's standard error under no skill is about 0.006; 0.03 is five of them.
    expect(Math.abs(auc - 0.5), `AUC ${auc}`).toBeLessThan(0.03);
  });

  it('the canary can fail: the same model predicting rows it was fitted on (a leak by construction) shows skill on the shuffled labels', async () => {
    const out = join(work, 'leaky');
    const doc = { name: 'canary', seed: 11, dataset: ds, labels: { set: 'shuffled', target: 'tb' }, features: ['rsi14_1m', 'bbwidth20_1m', 'retstd20_1m', 'rsi14_5m', 'natr14_1m', 'ret1_1m', 'volz20_1m'], cv: { method: 'purged_kfold', k: 3 }, out, model: LGBM };
    await trainFromConfig(parseTrainConfig(doc, 'canary.yaml'), JSON.stringify(doc));
    const p = await BundlePredictor.open(out);
    const dataset = openDataset(ds, { columns: p.inputColumns });
    const y = openLabels(dataset, 'shuffled').column('tb');
    const pred = await p.predictTable(dataset.table, Int32Array.from({ length: dataset.table.n }, (_, i) => i));
    const score: number[] = [];
    const label: number[] = [];
    pred.fields.p_up!.forEach((v, r) => {
      if (Number.isNaN(v) || Number.isNaN(y[r]!)) return;
      score.push(v);
      label.push(y[r]! > 0 ? 1 : 0);
    });
    expect(rocAuc(score, label)).toBeGreaterThan(0.6);
  });
});
