import { Prng } from '../models/neural/prng.js';
import type { GaussianHmmParams } from './gaussianHmm.js';

/**
 * Baum–Welch (EM) for a diagonal-covariance Gaussian HMM over several independent sequences, in the
 * scaled forward–backward form: α and β are renormalised every row (Rabiner's c_t), and each row's
 * emission densities are divided by their largest one before leaving log space, so a 50k-row
 * sequence or an observation far from every mean neither underflows nor gives 0/0. Only types are
 * imported from gaussianHmm.ts, which re-exports this, so there is no runtime import cycle.
 */

export interface FitGaussianHmmOptions {
  states: number;
  dims: number;
  seed: number;
  /** EM iterations (M-steps) at most; default 100. */
  maxIterations?: number;
  /** Stop once an E-step's total log-likelihood gains less than this on the previous one; default 1e-4. */
  tolerance?: number;
  /** Floor on every variance, applied as max(estimate, minVar); default 1e-3. */
  minVar?: number;
  /** Start EM here instead of the data-driven start (tests against a reference fit from the same point). */
  init?: GaussianHmmParams;
}

export interface GaussianHmmFit {
  params: GaussianHmmParams;
  /** Total log-likelihood of all sequences under the returned params. */
  logLikelihood: number;
  /** M-steps run. */
  iterations: number;
}

const LOG_2PI = Math.log(2 * Math.PI);

/** Per-state constants of the diagonal Gaussian log-density, so one density costs dims multiply-adds. */
export interface EmissionTables {
  states: number;
  dims: number;
  means: Float64Array;
  invVar: Float64Array;
  logNorm: Float64Array;
}

export function emissionTables(states: number, dims: number, means: ArrayLike<number>, vars: ArrayLike<number>): EmissionTables {
  const invVar = new Float64Array(states * dims);
  const logNorm = new Float64Array(states);
  for (let k = 0; k < states; k++) {
    let s = 0;
    for (let d = 0; d < dims; d++) {
      const v = vars[k * dims + d]!;
      invVar[k * dims + d] = 1 / v;
      s += LOG_2PI + Math.log(v);
    }
    logNorm[k] = -0.5 * s;
  }
  return { states, dims, means: Float64Array.from(means), invVar, logNorm };
}

/** log N(obs[at..at+dims) | state k) for every k into out (states long). */
export function emissionLogDensities(e: EmissionTables, obs: ArrayLike<number>, at: number, out: Float64Array, outAt = 0): void {
  const { states, dims, means, invVar, logNorm } = e;
  for (let k = 0; k < states; k++) {
    let q = 0;
    for (let d = 0; d < dims; d++) {
      const z = obs[at + d]! - means[k * dims + d]!;
      q += z * z * invVar[k * dims + d]!;
    }
    out[outAt + k] = logNorm[k]! - 0.5 * q;
  }
}

interface Flat {
  start: Float64Array;
  trans: Float64Array;
  means: Float64Array;
  vars: Float64Array;
}

export function fitGaussianHmm(sequences: { x: Float64Array; n: number }[], options: FitGaussianHmmOptions): GaussianHmmFit {
  const { states: K, dims: D } = options;
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-4;
  const minVar = options.minVar ?? 1e-3;
  if (!Number.isInteger(K) || K < 1 || !Number.isInteger(D) || D < 1) throw new Error(`fitGaussianHmm: states and dims must be positive integers (got ${K}, ${D})`);
  if (!(minVar > 0)) throw new Error(`fitGaussianHmm: minVar must be > 0 (got ${minVar})`);
  if (!Number.isInteger(maxIterations) || maxIterations < 0) throw new Error(`fitGaussianHmm: maxIterations must be a non-negative integer (got ${maxIterations})`);
  let rows = 0;
  let maxN = 0;
  sequences.forEach((s, i) => {
    if (!Number.isInteger(s.n) || s.n < 1 || s.x.length !== s.n * D) throw new Error(`fitGaussianHmm: sequence ${i} has n = ${s.n} and ${s.x.length} values, not n × dims (${D}) with n ≥ 1`);
    for (let t = 0; t < s.n; t++) {
      for (let d = 0; d < D; d++) {
        const v = s.x[t * D + d]!;
        if (!Number.isFinite(v)) throw new Error(`fitGaussianHmm: sequence ${i} row ${t} dimension ${d} is ${v}; drop rows with missing (NaN) or infinite features before fitting`);
      }
    }
    rows += s.n;
    maxN = Math.max(maxN, s.n);
  });
  if (rows < K) throw new Error(`fitGaussianHmm: ${rows} rows cannot fit ${K} states`);

  let p = options.init ? fromParams(options.init, K, D) : initialParams(sequences, K, D, options.seed, minVar);
  const work = { logb: new Float64Array(maxN * K), alpha: new Float64Array(maxN * K), scale: new Float64Array(maxN) };
  let previous = -Infinity;
  let iterations = 0;
  while (iterations < maxIterations) {
    const { stats, logLikelihood } = expectation(sequences, p, K, D, work);
    p = maximisation(stats, p, K, D, minVar);
    iterations++;
    // hmmlearn's order: the M-step always follows the E-step, convergence is judged after it
    if (logLikelihood - previous < tolerance) break;
    previous = logLikelihood;
  }
  const final = expectation(sequences, p, K, D, work, false).logLikelihood;
  return { params: canonicalOrder(p, K, D), logLikelihood: final, iterations };
}

/**
 * Data-driven start: rows pooled over every sequence are put in K equal-count bins by |x₀ − median₀|,
 * and each bin gives one state's means and variances. Returns in any regime differ mainly in the
 * size of moves, so this starts the states already ordered by volatility (hmmlearn's k-means start
 * splits on the sign of the return as happily as on its size). Transitions start persistent (0.9 on
 * the diagonal), the start distribution uniform. The seed (mulberry32, the repository's only PRNG)
 * then jitters each mean by up to ±5 % of the pooled standard deviation, so that restarts with other
 * seeds explore nearby starts while one seed always gives the same bits.
 */
function initialParams(sequences: { x: Float64Array; n: number }[], K: number, D: number, seed: number, minVar: number): Flat {
  let rows = 0;
  for (const s of sequences) rows += s.n;
  const first = new Float64Array(rows);
  let r = 0;
  for (const s of sequences) for (let t = 0; t < s.n; t++) first[r++] = s.x[t * D]!;
  const sorted = first.slice().sort();
  const median = rows % 2 === 1 ? sorted[(rows - 1) / 2]! : 0.5 * (sorted[rows / 2 - 1]! + sorted[rows / 2]!);
  const size = first.map((v) => Math.abs(v - median));
  const bySize = size.slice().sort();
  const cuts = Array.from({ length: K - 1 }, (_, k) => bySize[Math.floor(((k + 1) * rows) / K) - 1]!);
  const count = new Float64Array(K + 1);
  const sum = new Float64Array((K + 1) * D);
  const sq = new Float64Array((K + 1) * D);
  r = 0;
  for (const s of sequences) {
    for (let t = 0; t < s.n; t++, r++) {
      let k = 0;
      while (k < K - 1 && size[r]! > cuts[k]!) k++;
      // bin K pools every row: the fallback of a bin that ties left empty
      for (let pass = 0, b = k; pass < 2; pass++, b = K) {
        count[b]! += 1;
        for (let d = 0; d < D; d++) {
          const v = s.x[t * D + d]!;
          sum[b * D + d]! += v;
          sq[b * D + d]! += v * v;
        }
      }
    }
  }
  const rand = new Prng(seed);
  const means = new Float64Array(K * D);
  const vars = new Float64Array(K * D);
  for (let k = 0; k < K; k++) {
    const b = count[k]! > 1 ? k : K;
    for (let d = 0; d < D; d++) {
      const m = sum[b * D + d]! / count[b]!;
      const pooledSd = Math.sqrt(Math.max(sq[K * D + d]! / count[K]! - (sum[K * D + d]! / count[K]!) ** 2, minVar));
      means[k * D + d] = m + 0.05 * pooledSd * (2 * rand.next() - 1);
      vars[k * D + d] = Math.max(sq[b * D + d]! / count[b]! - m * m, minVar);
    }
  }
  const trans = new Float64Array(K * K).fill(K === 1 ? 1 : 0.1 / (K - 1));
  for (let k = 0; k < K; k++) trans[k * K + k] = K === 1 ? 1 : 0.9;
  return { start: new Float64Array(K).fill(1 / K), trans, means, vars };
}

interface Stats {
  start: Float64Array;
  trans: Float64Array;
  post: Float64Array;
  /** Σγ(x − c) and Σγ(x − c)² about c = the current means: the shift keeps the variance free of cancellation. */
  s1: Float64Array;
  s2: Float64Array;
}

function expectation(sequences: { x: Float64Array; n: number }[], p: Flat, K: number, D: number, work: { logb: Float64Array; alpha: Float64Array; scale: Float64Array }, accumulate = true): { stats: Stats; logLikelihood: number } {
  const stats: Stats = { start: new Float64Array(K), trans: new Float64Array(K * K), post: new Float64Array(K), s1: new Float64Array(K * D), s2: new Float64Array(K * D) };
  const e = emissionTables(K, D, p.means, p.vars);
  const { logb: b, alpha, scale } = work;
  const A = p.trans;
  const beta = new Float64Array(K);
  const next = new Float64Array(K);
  const w = new Float64Array(K);
  const gamma = new Float64Array(K);
  let logLikelihood = 0;
  sequences.forEach(({ x, n }, si) => {
    for (let t = 0; t < n; t++) {
      const o = t * K;
      emissionLogDensities(e, x, t * D, b, o);
      let m = -Infinity;
      for (let k = 0; k < K; k++) m = Math.max(m, b[o + k]!);
      for (let k = 0; k < K; k++) b[o + k] = Math.exp(b[o + k]! - m);
      let c = 0;
      for (let j = 0; j < K; j++) {
        let prior = 0;
        if (t === 0) prior = p.start[j]!;
        else for (let i = 0; i < K; i++) prior += alpha[o - K + i]! * A[i * K + j]!;
        const a = prior * b[o + j]!;
        alpha[o + j] = a;
        c += a;
      }
      if (!(c > 0) || !Number.isFinite(m)) throw new Error(`fitGaussianHmm: every state's likelihood vanished at sequence ${si} row ${t}; the features are likely far off the scale of the others (standardise them)`);
      for (let k = 0; k < K; k++) alpha[o + k]! /= c;
      scale[t] = c;
      logLikelihood += Math.log(c) + m;
    }
    if (!accumulate) return;
    beta.fill(1);
    for (let t = n - 1; t >= 0; t--) {
      const o = t * K;
      if (t < n - 1) {
        // w_j = b_{t+1}(j) β̂_{t+1}(j) / c_{t+1}: shared by ξ_t and by β̂_t
        for (let j = 0; j < K; j++) w[j] = (b[o + K + j]! * beta[j]!) / scale[t + 1]!;
        for (let i = 0; i < K; i++) {
          let s = 0;
          for (let j = 0; j < K; j++) {
            const v = A[i * K + j]! * w[j]!;
            stats.trans[i * K + j]! += alpha[o + i]! * v;
            s += v;
          }
          next[i] = s;
        }
        beta.set(next);
      }
      let g = 0;
      for (let k = 0; k < K; k++) g += (gamma[k] = alpha[o + k]! * beta[k]!);
      for (let k = 0; k < K; k++) {
        const gk = gamma[k]! / g;
        if (t === 0) stats.start[k]! += gk;
        stats.post[k]! += gk;
        for (let d = 0; d < D; d++) {
          const z = x[t * D + d]! - p.means[k * D + d]!;
          stats.s1[k * D + d]! += gk * z;
          stats.s2[k * D + d]! += gk * z * z;
        }
      }
    }
  });
  return { stats, logLikelihood };
}

/**
 * Plain maximum likelihood (hmmlearn with means_weight = 0, covars_prior = 0, covars_weight = 1 and
 * its unit Dirichlet priors), then the floor vars = max(estimate, minVar). hmmlearn 0.3.3 applies its
 * min_covar to diagonal covariances only at initialisation; a floor after every M-step is what keeps
 * a state that collapses onto a few identical rows from a density spike. A state with no posterior
 * mass, or a transition row with none, keeps its previous values instead of dividing by zero.
 */
function maximisation(stats: Stats, p: Flat, K: number, D: number, minVar: number): Flat {
  const start = new Float64Array(K);
  let total = 0;
  for (let k = 0; k < K; k++) total += stats.start[k]!;
  for (let k = 0; k < K; k++) start[k] = total > 0 ? stats.start[k]! / total : p.start[k]!;
  const trans = new Float64Array(K * K);
  for (let i = 0; i < K; i++) {
    let s = 0;
    for (let j = 0; j < K; j++) s += stats.trans[i * K + j]!;
    for (let j = 0; j < K; j++) trans[i * K + j] = s > 0 ? stats.trans[i * K + j]! / s : p.trans[i * K + j]!;
  }
  const means = p.means.slice();
  const vars = p.vars.slice();
  for (let k = 0; k < K; k++) {
    const nk = stats.post[k]!;
    if (!(nk > 1e-12)) continue;
    for (let d = 0; d < D; d++) {
      const shift = stats.s1[k * D + d]! / nk;
      means[k * D + d] = p.means[k * D + d]! + shift;
      vars[k * D + d] = Math.max(stats.s2[k * D + d]! / nk - shift * shift, minVar);
    }
  }
  return { start, trans, means, vars };
}

function fromParams(q: GaussianHmmParams, K: number, D: number): Flat {
  if (q.states !== K || q.dims !== D) throw new Error(`fitGaussianHmm: init has ${q.states} states × ${q.dims} dims, options ask for ${K} × ${D}`);
  return { start: Float64Array.from(q.startProb), trans: Float64Array.from(q.transmat.flat()), means: Float64Array.from(q.means.flat()), vars: Float64Array.from(q.vars.flat()) };
}

/**
 * States by ascending variance of dimension 0 (ties: ascending mean of dimension 0, then the fitted
 * order), so state K − 1 is the most volatile and a regime score can name it without looking.
 */
function canonicalOrder(p: Flat, K: number, D: number): GaussianHmmParams {
  const order = Array.from({ length: K }, (_, k) => k).sort((a, b) => p.vars[a * D]! - p.vars[b * D]! || p.means[a * D]! - p.means[b * D]! || a - b);
  const row = (m: Float64Array, k: number, w: number): number[] => Array.from(m.subarray(k * w, k * w + w));
  return {
    states: K,
    dims: D,
    startProb: order.map((k) => p.start[k]!),
    transmat: order.map((i) => order.map((j) => p.trans[i * K + j]!)),
    means: order.map((k) => row(p.means, k, D)),
    vars: order.map((k) => row(p.vars, k, D)),
  };
}
