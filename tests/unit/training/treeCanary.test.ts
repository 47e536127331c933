import { describe, expect, it } from 'vitest';
import { rocAuc } from '../../../src/training/evaluation/classificationMetrics.js';
import { regressionMetrics } from '../../../src/training/evaluation/regressionMetrics.js';
import { lightgbmKind } from '../../../src/training/models/lightgbm/lightgbmKind.js';
import type { ModelKind } from '../../../src/training/models/modelRegistry.js';
import { xgboostKind } from '../../../src/training/models/xgboost/xgboostKind.js';
import type { ObjectiveSpec } from '../../../src/training/objectives/objective.js';
import { gaussian, mulberry32, shuffledLabels } from '../../helpers/random.js';

/**
 * The leak canary of the tree kinds: with the targets shuffled, a model learns nothing that holds
 * on new rows (AUC ≈ 0.5, R² ≤ 0), while the same model on the real targets shows it can find
 * skill when there is some. A leak (the target reaching the inputs, test rows in training) would
 * show skill on the shuffled targets too.
 */
const F = 5;
const TRAIN = 2000;
const TEST = 1000;

function rows(n: number, seed: number): { x: Float32Array; signal: Float64Array } {
  const rand = mulberry32(seed);
  const x = new Float32Array(n * F);
  const signal = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < F; j++) x[i * F + j] = gaussian(rand);
    signal[i] = x[i * F]! + 0.5 * x[i * F + 1]! + 0.7 * gaussian(rand);
  }
  return { x, signal };
}

async function heldOut(kind: ModelKind<never>, params: unknown, spec: ObjectiveSpec, y: Float32Array, test: { x: Float32Array }): Promise<Float64Array> {
  const train = rows(TRAIN, 1);
  const artifact = await kind.train({ x: train.x, dims: [TRAIN, F], n: TRAIN, f: F, y, objective: spec, seed: 3, metadata: {} }, params as never);
  const scorer = await kind.load(artifact, spec);
  return scorer.score(test.x, [TEST, F]);
}

const KINDS: [string, ModelKind<never>, unknown][] = [
  ['lightgbm', lightgbmKind as ModelKind<never>, { numRounds: 60, numLeaves: 15 }],
  ['xgboost', xgboostKind as ModelKind<never>, { numRounds: 60, maxDepth: 4 }],
];

describe.each(KINDS)('%s: the leak canary', (_, kind, raw) => {
  const params = kind.params.parse(raw);
  const train = rows(TRAIN, 1);
  const test = rows(TEST, 2);

  it('binary: held-out AUC near 0.5 on shuffled labels, high on the real ones', async () => {
    const spec: ObjectiveSpec = { objective: 'binary', quantiles: [] };
    const y = Float32Array.from(train.signal, (s) => (s > 0 ? 1 : 0));
    const yTest = Array.from(test.signal, (s) => (s > 0 ? 1 : 0));
    expect(rocAuc(await heldOut(kind, params, spec, y, test), yTest)).toBeGreaterThan(0.8);
    // 1,000 held-out rows: the AUC's standard error is about 0.018; 0.06 is over three of them.
    expect(Math.abs(rocAuc(await heldOut(kind, params, spec, shuffledLabels(y, 9), test), yTest) - 0.5)).toBeLessThan(0.06);
  });

  it('regression: held-out R² not above 0 on shuffled targets, clearly above on the real ones', async () => {
    const spec: ObjectiveSpec = { objective: 'regression', quantiles: [] };
    const y = Float32Array.from(train.signal);
    expect(regressionMetrics(await heldOut(kind, params, spec, y, test), test.signal).r2).toBeGreaterThan(0.5);
    expect(regressionMetrics(await heldOut(kind, params, spec, shuffledLabels(y, 9), test), test.signal).r2).toBeLessThan(0.02);
  });
});
