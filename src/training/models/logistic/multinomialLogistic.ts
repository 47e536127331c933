import { choleskySolve } from '../linear/choleskySolve.js';
import type { LogisticParams } from './logisticRegression.js';

/**
 * Multinomial (softmax) logistic regression with L2 on the weights, not the intercepts:
 * minimises Σᵢ −log softmax(W·xᵢ + b)[yᵢ] + ½·λ·‖W‖², the binary model's scaling (sklearn's
 * LogisticRegression with C = 1/λ, multinomial, solves the same problem). Fitted by damped Newton.
 *
 * Softmax is unchanged when one constant is added to every intercept, so the intercepts alone are
 * not identified; the fit pins them to sum to zero (sklearn's convention) with a penalty on
 * (Σ b)² only, which leaves the optimum of the real problem in place and makes the Hessian
 * invertible. The weights need no such pin: the L2 penalty already makes Σ_k W_k = 0.
 *
 * A class with no training row would need an intercept of −∞; the model is fitted on the classes
 * present, and an absent class gets zero weights and the intercept of half an observation among n
 * (log(0.5 / n) below the mean of the others), so it keeps a small, finite probability.
 */
export interface MultinomialModel {
  classes: number;
  /** classes × f, row-major: the weights of class k are weights[k·f … k·f + f). */
  weights: Float64Array;
  intercepts: Float64Array;
  /** The classes with at least one training row. */
  present: number[];
  iterations: number;
}

const MAX_HALVINGS = 40;

/** x: row-major n × f, scaled, no NaN; y: class indices 0 … classes − 1 (as floats). */
export function fitMultinomial(x: ArrayLike<number>, n: number, f: number, y: ArrayLike<number>, classes: number, params: LogisticParams): MultinomialModel {
  const counts = classCounts(y, n, classes);
  const present = counts.flatMap((c, k) => (c > 0 ? [k] : []));
  const label = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) label[i] = present.indexOf(y[i]!);
  const fit = newton(x, n, f, label, present.length, params);
  const weights = new Float64Array(classes * f);
  const intercepts = new Float64Array(classes);
  let meanIntercept = 0;
  present.forEach((k, c) => {
    weights.set(fit.beta.subarray(c * (f + 1), c * (f + 1) + f), k * f);
    intercepts[k] = fit.beta[c * (f + 1) + f]!;
    meanIntercept += intercepts[k]! / present.length;
  });
  for (let k = 0; k < classes; k++) if (counts[k] === 0) intercepts[k] = meanIntercept + Math.log(0.5 / Math.max(n, 1));
  return { classes, weights, intercepts, present, iterations: fit.iterations };
}

/** Class probabilities for scaled rows: row-major n × classes. */
export function predictMultinomial(m: MultinomialModel, x: ArrayLike<number>, n: number): Float64Array {
  const f = m.weights.length / m.classes;
  const out = new Float64Array(n * m.classes);
  const z = new Float64Array(m.classes);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < m.classes; k++) {
      let s = m.intercepts[k]!;
      for (let j = 0; j < f; j++) s += x[i * f + j]! * m.weights[k * f + j]!;
      z[k] = s;
    }
    softmaxInPlace(z);
    out.set(z, i * m.classes);
  }
  return out;
}

function classCounts(y: ArrayLike<number>, n: number, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < n; i++) {
    const c = y[i]!;
    if (!(Number.isInteger(c) && c >= 0 && c < classes)) throw new Error(`multinomial logistic regression: y[${i}] = ${c} is not a class index 0 … ${classes - 1}`);
    counts[c]!++;
  }
  return counts;
}

/**
 * Newton on the K·(f + 1) coefficients (class-major, each class's intercept last), halving a step
 * that does not lower the objective. Hessian block (k, l) = Σᵢ pᵢₖ(δₖₗ − pᵢₗ)·xᵢxᵢᵀ: every block is
 * symmetric, so one lower triangle per block pair is accumulated.
 */
function newton(x: ArrayLike<number>, n: number, f: number, label: Int32Array, k: number, params: LogisticParams): { beta: Float64Array; iterations: number } {
  const d = f + 1;
  const size = k * d;
  const beta = new Float64Array(size);
  if (k < 2) return { beta, iterations: 0 }; // one class: probability 1 whatever the weights
  // Any positive pin strength gives the same optimum; one comparable to the data term keeps the
  // Hessian well conditioned.
  const pin = 1 + n / (k * k);
  const grad = new Float64Array(size);
  const blocks = new Float64Array(((k * (k + 1)) / 2) * d * d);
  const hess = new Float64Array(size * size);
  const row = new Float64Array(d);
  const p = new Float64Array(k);
  let objective = objectiveAt(x, n, f, label, k, beta, params.l2, pin);
  let it = 0;
  for (; it < params.maxIterations; it++) {
    grad.fill(0);
    blocks.fill(0);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < f; j++) row[j] = x[i * f + j]!;
      row[f] = 1;
      logits(row, beta, k, d, p);
      softmaxInPlace(p);
      for (let c = 0; c < k; c++) {
        const r = p[c]! - (label[i] === c ? 1 : 0);
        for (let a = 0; a < d; a++) grad[c * d + a]! += r * row[a]!;
      }
      let block = 0;
      for (let c = 0; c < k; c++) {
        for (let e = 0; e <= c; e++, block++) {
          const h = p[c]! * ((c === e ? 1 : 0) - p[e]!);
          const base = block * d * d;
          for (let a = 0; a < d; a++) {
            const ha = h * row[a]!;
            for (let b = 0; b <= a; b++) blocks[base + a * d + b]! += ha * row[b]!;
          }
        }
      }
    }
    assembleHessian(blocks, hess, k, d);
    let interceptSum = 0;
    for (let c = 0; c < k; c++) interceptSum += beta[c * d + f]!;
    for (let c = 0; c < k; c++) {
      for (let a = 0; a < f; a++) {
        grad[c * d + a]! += params.l2 * beta[c * d + a]!;
        hess[(c * d + a) * size + c * d + a]! += params.l2;
      }
      grad[c * d + f]! += pin * interceptSum;
      for (let e = 0; e < k; e++) hess[(c * d + f) * size + e * d + f]! += pin;
    }
    const step = choleskySolve(hess, grad, size, 'multinomial logistic regression: the Hessian is not positive definite (give l2 > 0)');
    const next = new Float64Array(size);
    let scale = 1;
    let nextObjective = Number.POSITIVE_INFINITY;
    for (let h = 0; h < MAX_HALVINGS; h++, scale /= 2) {
      for (let a = 0; a < size; a++) next[a] = beta[a]! - scale * step[a]!;
      nextObjective = objectiveAt(x, n, f, label, k, next, params.l2, pin);
      if (nextObjective <= objective) break;
    }
    let change = 0;
    for (let a = 0; a < size; a++) change = Math.max(change, Math.abs(next[a]! - beta[a]!));
    if (!(nextObjective <= objective)) {
      it++;
      break; // no step lowers the objective any more: at the optimum to rounding
    }
    beta.set(next);
    objective = nextObjective;
    if (change < params.tolerance) {
      it++;
      break;
    }
  }
  return { beta, iterations: it };
}

function assembleHessian(blocks: Float64Array, hess: Float64Array, k: number, d: number): void {
  const size = k * d;
  let block = 0;
  for (let c = 0; c < k; c++) {
    for (let e = 0; e <= c; e++, block++) {
      const base = block * d * d;
      for (let a = 0; a < d; a++) {
        for (let b = 0; b <= a; b++) {
          const v = blocks[base + a * d + b]!;
          hess[(c * d + a) * size + e * d + b] = v;
          hess[(c * d + b) * size + e * d + a] = v;
          hess[(e * d + a) * size + c * d + b] = v;
          hess[(e * d + b) * size + c * d + a] = v;
        }
      }
    }
  }
}

function objectiveAt(x: ArrayLike<number>, n: number, f: number, label: Int32Array, k: number, beta: Float64Array, l2: number, pin: number): number {
  const d = f + 1;
  const row = new Float64Array(d);
  const z = new Float64Array(k);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) row[j] = x[i * f + j]!;
    row[f] = 1;
    logits(row, beta, k, d, z);
    let max = -Infinity;
    for (let c = 0; c < k; c++) max = Math.max(max, z[c]!);
    let sum = 0;
    for (let c = 0; c < k; c++) sum += Math.exp(z[c]! - max);
    loss += max + Math.log(sum) - z[label[i]!]!;
  }
  let penalty = 0;
  let interceptSum = 0;
  for (let c = 0; c < k; c++) {
    for (let a = 0; a < f; a++) penalty += beta[c * d + a]! ** 2;
    interceptSum += beta[c * d + f]!;
  }
  return loss + 0.5 * l2 * penalty + 0.5 * pin * interceptSum ** 2;
}

function logits(row: Float64Array, beta: Float64Array, k: number, d: number, out: Float64Array): void {
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let a = 0; a < d; a++) s += row[a]! * beta[c * d + a]!;
    out[c] = s;
  }
}

function softmaxInPlace(z: Float64Array): void {
  let max = -Infinity;
  for (let c = 0; c < z.length; c++) max = Math.max(max, z[c]!);
  let sum = 0;
  for (let c = 0; c < z.length; c++) {
    z[c] = Math.exp(z[c]! - max);
    sum += z[c]!;
  }
  for (let c = 0; c < z.length; c++) z[c]! /= sum;
}
