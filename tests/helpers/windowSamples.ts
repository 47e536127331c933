/**
 * Synthetic window-view data for the neural kinds' tests: a seeded Gaussian feature series, its
 * sliding windows, the objective specs, an artifact's bytes and the AUC of a score.
 */
import type { Artifact, TrainInput } from '../../src/training/models/modelRegistry.js';
import type { Objective, ObjectiveSpec } from '../../src/training/objectives/objective.js';
import { gaussian, mulberry32 } from './random.js';

/** `rows` time steps of `f` standard normal features, row-major. */
export function series(rows: number, f: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: rows * f }, () => gaussian(rand));
}

/** The sliding windows of `len` steps over a series of f features (window i ends at row i + len − 1). */
export function windows(s: Float32Array, len: number, f: number): { x: Float32Array; n: number } {
  const n = s.length / f - len + 1;
  const x = new Float32Array(n * len * f);
  for (let i = 0; i < n; i++) x.set(s.subarray(i * f, (i + len) * f), i * len * f);
  return { x, n };
}

export const SPECS: Record<Objective, ObjectiveSpec> = {
  binary: { objective: 'binary', quantiles: [] },
  multiclass: { objective: 'multiclass', quantiles: [] },
  regression: { objective: 'regression', quantiles: [] },
  quantile: { objective: 'quantile', quantiles: [0.1, 0.5, 0.9] },
};

/** An artifact's names and bytes, in order, as one buffer (equal buffers: the same artifact). */
export function artifactBytes(a: Artifact): Buffer {
  return Buffer.concat([...a.files].flatMap(([name, b]) => [Buffer.from(name), Buffer.from(b)]));
}

/** Mann–Whitney AUC of scores against 0/1 labels (no ties in continuous scores). */
export function auc(score: ArrayLike<number>, y: ArrayLike<number>): number {
  const idx = Array.from({ length: y.length }, (_, i) => i).sort((a, b) => score[a]! - score[b]!);
  let rankSum = 0;
  let pos = 0;
  idx.forEach((i, r) => {
    if (y[i] === 1) {
      rankSum += r + 1;
      pos++;
    }
  });
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * (y.length - pos));
}


/**
 * `n` windows of `len` steps over f Gaussian features with a learnable target: the signal is
 * feature 0 over the window's last three steps (binary its sign, multiclass its size in thirds, a
 * return 0.01 × (signal + ½ noise) otherwise).
 */
export function signalInput(objective: Objective, n: number, seed: number, len: number, f: number): TrainInput {
  const w = windows(series(n + len - 1, f, seed), len, f);
  const rand = mulberry32(seed + 1);
  const y = Float32Array.from({ length: n }, (_, i) => {
    const s = w.x[(i * len + len - 1) * f]! + w.x[(i * len + len - 2) * f]! + w.x[(i * len + len - 3) * f]!;
    if (objective === 'binary') return s > 0 ? 1 : 0;
    if (objective === 'multiclass') return s < -0.8 ? 0 : s > 0.8 ? 2 : 1;
    return 0.01 * (s + 0.5 * gaussian(rand));
  });
  return { x: w.x, dims: [n, len, f], n, f, y, objective: SPECS[objective], seed: 7, metadata: { model: 'test-window' } };
}
