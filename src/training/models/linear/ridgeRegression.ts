import { choleskySolve } from './choleskySolve.js';
import { interceptFor, type CentredGram } from './centredGram.js';
import type { LinearModel } from './linearModel.js';

/**
 * Ridge regression in closed form: minimises ‖y − X·w − b‖² + λ·‖w‖² (the intercept b is not
 * penalised), i.e. Σ ½·(squared error) + ½·λ·‖w‖², the logistic kind's scaling of l2; sklearn's
 * Ridge(alpha = λ) solves the same problem. w = (XcᵀXc + λI)⁻¹·Xcᵀyc by Cholesky.
 */
export function fitRidge(g: CentredGram, l2: number): LinearModel {
  if (!(l2 > 0)) throw new Error(`ridge regression: l2 must be > 0, got ${l2}`);
  const a = Float64Array.from(g.gram);
  for (let j = 0; j < g.f; j++) a[j * g.f + j]! += l2;
  const weights = choleskySolve(a, g.xty, g.f, 'ridge regression: XᵀX + λI is not positive definite (a NaN in the features?)');
  return { weights, intercept: interceptFor(g, weights), iterations: 1, converged: true };
}
