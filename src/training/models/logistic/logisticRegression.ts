import { choleskySolve } from '../linear/choleskySolve.js';

/**
 * L2-regularised logistic regression fitted by Newton's method (IRLS) on scaled features:
 * minimises Σ wᵢ·logloss(yᵢ, σ(xᵢ·β + b)) + ½·λ·‖β‖² (the intercept is not penalised; sklearn's
 * LogisticRegression with C = 1/λ solves the same problem). Newton is deterministic and converges
 * in a handful of steps at the sizes of a feature set (a few hundred columns); its cost per step is
 * n·f², fine up to a few million rows × 200 features.
 */
export interface LogisticParams {
  /** L2 strength λ (> 0). */
  l2: number;
  maxIterations: number;
  /** Stop when the largest coefficient change is below this. */
  tolerance: number;
}

export interface LogisticModel {
  weights: Float64Array;
  intercept: number;
  iterations: number;
}

export const DEFAULT_LOGISTIC: LogisticParams = { l2: 1, maxIterations: 50, tolerance: 1e-10 };

/** x: row-major n × f, already scaled and without NaN; y: 0/1. */
export function fitLogistic(x: ArrayLike<number>, n: number, f: number, y: ArrayLike<number>, params: LogisticParams = DEFAULT_LOGISTIC, sampleWeights?: ArrayLike<number>): LogisticModel {
  const d = f + 1; // the intercept is the last coefficient
  const beta = new Float64Array(d);
  const grad = new Float64Array(d);
  const hess = new Float64Array(d * d);
  const row = new Float64Array(d);
  let it = 0;
  for (; it < params.maxIterations; it++) {
    grad.fill(0);
    hess.fill(0);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < f; j++) row[j] = x[i * f + j]!;
      row[f] = 1;
      let z = 0;
      for (let j = 0; j < d; j++) z += row[j]! * beta[j]!;
      const p = sigmoid(z);
      const w = sampleWeights === undefined ? 1 : sampleWeights[i]!;
      const r = w * (p - y[i]!);
      const h = w * p * (1 - p);
      for (let a = 0; a < d; a++) {
        grad[a]! += r * row[a]!;
        const ha = h * row[a]!;
        // Lower triangle only; mirrored before the solve.
        for (let b = 0; b <= a; b++) hess[a * d + b]! += ha * row[b]!;
      }
    }
    for (let a = 0; a < f; a++) {
      grad[a]! += params.l2 * beta[a]!;
      hess[a * d + a]! += params.l2;
    }
    for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) hess[b * d + a] = hess[a * d + b]!;
    const step = choleskySolve(hess, grad, d, 'logistic regression: the Hessian is not positive definite (give l2 > 0)');
    let change = 0;
    for (let a = 0; a < d; a++) {
      beta[a]! -= step[a]!;
      change = Math.max(change, Math.abs(step[a]!));
    }
    if (change < params.tolerance) {
      it++;
      break;
    }
  }
  return { weights: beta.slice(0, f), intercept: beta[f]!, iterations: it };
}

/** P(y = 1) for scaled rows. */
export function predictLogistic(m: LogisticModel, x: ArrayLike<number>, n: number, out = new Float64Array(n)): Float64Array {
  const f = m.weights.length;
  for (let i = 0; i < n; i++) {
    let z = m.intercept;
    for (let j = 0; j < f; j++) z += x[i * f + j]! * m.weights[j]!;
    out[i] = sigmoid(z);
  }
  return out;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}
