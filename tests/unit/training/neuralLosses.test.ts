import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { binaryCrossEntropy, categoricalCrossEntropy, meanSquaredError, objectiveHead, pinballLoss } from '../../../src/training/models/neural/losses.js';
import { selectBackend } from '../../../src/training/models/neural/tfBackend.js';
import { pinball } from '../../../src/training/objectives/objective.js';

const value = (s: tf.Scalar): number => {
  const v = s.dataSync()[0]!;
  s.dispose();
  return v;
};

describe('neural losses, as functions of (yTrue, yPred)', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('pinball: summed over the levels, averaged over the rows (checked by hand)', () => {
    // Row 0, y = 1: d = 1, 0, −1 → 0.1·1, 0, (0.9 − 1)·(−1) = 0.1 + 0 + 0.1 = 0.2.
    // Row 1, y = −2: d = 1, 0, −2 → 0.1·1, 0, (−0.1)·(−2) = 0.1 + 0 + 0.2 = 0.3. Mean 0.25.
    const levels = [0.1, 0.5, 0.9];
    const yTrue = tf.tensor2d([1, -2], [2, 1]);
    const yPred = tf.tensor2d([0, 1, 2, -3, -2, 0], [2, 3]);
    expect(value(pinballLoss(levels)(yTrue, yPred))).toBeCloseTo(0.25, 6);
    // The same number as objective.ts's scalar pinball, which the evaluation reports.
    const rows: [number, number[]][] = [
      [1, [0, 1, 2]],
      [-2, [-3, -2, 0]],
    ];
    const reference = rows.reduce((s, [y, q]) => s + q.reduce((a, qk, k) => a + pinball(levels[k]!, y, qk), 0), 0) / rows.length;
    expect(reference).toBeCloseTo(0.25, 12);
    expect(() => pinballLoss([0.5])(yTrue, yPred)).toThrow(/3 outputs for 1 quantile levels/);
    tf.dispose([yTrue, yPred]);
  });

  it('categorical cross-entropy takes the class index and the logits', () => {
    const yTrue = tf.tensor2d([2, 0], [2, 1]);
    const yPred = tf.tensor2d([1, 2, 3, 0.5, 0, -1], [2, 3]);
    const nll = (z: number[], c: number): number => Math.log(z.reduce((a, v) => a + Math.exp(v), 0)) - z[c]!;
    expect(value(categoricalCrossEntropy(yTrue, yPred))).toBeCloseTo((nll([1, 2, 3], 2) + nll([0.5, 0, -1], 0)) / 2, 6);
    tf.dispose([yTrue, yPred]);
  });

  it('binary cross-entropy on the logit, and MSE', () => {
    const yTrue = tf.tensor2d([1, 0], [2, 1]);
    const yPred = tf.tensor2d([0.3, -1.2], [2, 1]);
    const sig = (z: number): number => 1 / (1 + Math.exp(-z));
    expect(value(binaryCrossEntropy(yTrue, yPred))).toBeCloseTo((-Math.log(sig(0.3)) - Math.log(1 - sig(-1.2))) / 2, 6);
    expect(value(meanSquaredError(yTrue, yPred))).toBeCloseTo(((1 - 0.3) ** 2 + 1.2 ** 2) / 2, 6);
    tf.dispose([yTrue, yPred]);
  });

  it('each objective gets its head; targets are checked', () => {
    expect(objectiveHead({ objective: 'binary', quantiles: [] })).toMatchObject({ units: 1, activation: 'sigmoid', outputName: 'p_up' });
    expect(objectiveHead({ objective: 'multiclass', quantiles: [] })).toMatchObject({ units: 3, activation: 'softmax' });
    expect(objectiveHead({ objective: 'regression', quantiles: [] })).toMatchObject({ units: 1, activation: 'linear' });
    expect(objectiveHead({ objective: 'quantile', quantiles: [0.1, 0.5, 0.9] })).toMatchObject({ units: 3, activation: 'linear' });
    expect(() => objectiveHead({ objective: 'multiclass', quantiles: [] }).checkTarget(Float32Array.of(0, 3), 'training')).toThrow(/training y\[1\] is 3, labels must be a class index 0…2/);
    expect(() => objectiveHead({ objective: 'regression', quantiles: [] }).checkTarget(Float32Array.of(Number.NaN), 'watch')).toThrow(/watch y\[0\] is NaN/);
  });
});
