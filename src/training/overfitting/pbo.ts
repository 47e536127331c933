// Probability of backtest overfitting by combinatorially symmetric cross-validation (CSCV):
// Bailey, Borwein, López de Prado, Zhu (2015), "The probability of backtest overfitting",
// Journal of Computational Finance 20(4). Known-answer tested against the R package `pbo`
// (mrbcuda/pbo 1.3.5) and pypbo (docs/validation.md, scripts/fixtures/make_pbo_fixtures.R).
import { binomial, combinationsOf } from '../combinatorics.js';

/** A T×N matrix of per-period returns, row-major: `values[t * columns + n]` is period t of strategy n. */
export interface ReturnsMatrix {
  values: Float64Array;
  rows: number;
  columns: number;
  /** Strategy names, used in error messages and reports. */
  names?: readonly string[];
}

export type ReturnsInput = ReturnsMatrix | readonly (readonly number[])[];

export type PboMetric = 'sharpe' | 'mean' | ((returns: Float64Array) => number);

export interface PboOptions {
  /** S, the number of contiguous blocks the T periods are cut into: even, 2 ≤ S ≤ T. Default 16. */
  partitions?: number;
  /**
   * Performance of one strategy on one half. 'sharpe' (default): mean(r − riskFree) / sd(r − riskFree),
   * sample standard deviation, per period, as in the R package's examples; 'mean': mean(r − riskFree);
   * or a function of the half's returns in time order.
   */
  metric?: PboMetric;
  /** Per-period risk-free rate subtracted by 'sharpe' and 'mean'. Default 0. */
  riskFree?: number;
  /** Probability of loss counts combinations whose chosen strategy performs below this OOS. Default 0. */
  threshold?: number;
  /**
   * Relative rank ω̄ = rank / N (default: the R package) or rank / (N + 1) (the paper and pypbo).
   * With N the logit of the OOS best is +Infinity, and a strategy ranked exactly (N+1)/2 of an odd N
   * counts as not overfit; with N + 1 it counts as overfit.
   */
  rankDenominator?: 'n' | 'n+1';
  /**
   * When T is not a multiple of S: 'refuse' (default) throws; 'drop-first' drops the oldest T mod S
   * periods, as pypbo does. The R package has no sound behaviour there (fractional block size, blocks
   * that overlap), so no option imitates it.
   */
  remainder?: 'refuse' | 'drop-first';
}

export interface PboDegradation {
  /** OLS of OOS on IS performance of the chosen strategy over the combinations: oos = intercept + slope · is. */
  slope: number;
  intercept: number;
  r2: number;
  adjustedR2: number;
}

export interface PboResult {
  /** Fraction of combinations whose logit λ ≤ 0. */
  pbo: number;
  /** C(S, S/2). */
  combinations: number;
  partitions: number;
  /** Rows actually used (T less any dropped remainder), and rows per block. */
  rows: number;
  rowsPerPartition: number;
  droppedRows: number;
  strategies: number;
  /** λ_c per combination in the order of R's combn / itertools.combinations; +Infinity possible with rankDenominator 'n'. */
  logits: Float64Array;
  /** ω̄_c per combination. */
  relativeRanks: Float64Array;
  /** OOS rank (1 = worst, ties averaged) of the IS-best strategy, per combination. */
  oosRanks: Float64Array;
  /** n*: the IS-best strategy per combination (0-based column; first one on ties). */
  chosen: Int32Array;
  /** Performance of n* in sample and out of sample, per combination. */
  isPerformance: Float64Array;
  oosPerformance: Float64Array;
  degradation: PboDegradation;
  /** Fraction of combinations where n* performs below `threshold` out of sample. */
  probabilityOfLoss: number;
  threshold: number;
}

function columnName(m: ReturnsMatrix, c: number): string {
  const name = m.names?.[c];
  return name === undefined ? `column ${c + 1}` : `column ${c + 1} (${name})`;
}

/** Checks and copies the input into a row-major matrix; every value must be finite. */
export function toReturnsMatrix(input: ReturnsInput, names?: readonly string[]): ReturnsMatrix {
  let m: ReturnsMatrix;
  if (Array.isArray(input)) {
    const rows = input as readonly (readonly number[])[];
    const columns = rows[0]?.length ?? 0;
    const values = new Float64Array(rows.length * columns);
    rows.forEach((row, t) => {
      if (row.length !== columns) throw new Error(`returns matrix: row ${t + 1} has ${row.length} values, row 1 has ${columns}`);
      for (let c = 0; c < columns; c++) values[t * columns + c] = row[c]!;
    });
    m = { values, rows: rows.length, columns, names };
  } else {
    const given = input as ReturnsMatrix;
    if (!Number.isInteger(given.rows) || !Number.isInteger(given.columns) || given.rows < 0 || given.columns < 0) {
      throw new Error(`returns matrix: rows and columns must be whole numbers (got ${given.rows} × ${given.columns})`);
    }
    if (given.values.length !== given.rows * given.columns) {
      throw new Error(`returns matrix: ${given.values.length} values for ${given.rows} rows × ${given.columns} columns`);
    }
    m = { ...given, names: names ?? given.names };
  }
  if (m.names !== undefined && m.names.length !== m.columns) throw new Error(`returns matrix: ${m.names.length} names for ${m.columns} columns`);
  for (let i = 0; i < m.values.length; i++) {
    const v = m.values[i]!;
    if (!Number.isFinite(v)) {
      const t = Math.floor(i / m.columns);
      throw new Error(`returns matrix: row ${t + 1}, ${columnName(m, i % m.columns)} is ${v}, not a finite number`);
    }
  }
  return m;
}

/**
 * Per block and column: count, mean and sum of squared deviations (two-pass inside the block). Halves
 * are then merged with Chan et al.'s pairwise update, so a combination costs O(S·N) instead of
 * O(T·N) and stays as accurate as a two-pass over the half.
 */
interface BlockMoments {
  mean: Float64Array; // [block * N + column]
  m2: Float64Array;
}

function blockMoments(m: ReturnsMatrix, first: number, blocks: number, size: number, shift: number): BlockMoments {
  const N = m.columns;
  const mean = new Float64Array(blocks * N);
  const m2 = new Float64Array(blocks * N);
  for (let b = 0; b < blocks; b++) {
    const start = first + b * size;
    for (let c = 0; c < N; c++) {
      let s = 0;
      for (let t = start; t < start + size; t++) s += m.values[t * N + c]! - shift;
      const mu = s / size;
      let ss = 0;
      for (let t = start; t < start + size; t++) {
        const d = m.values[t * N + c]! - shift - mu;
        ss += d * d;
      }
      mean[b * N + c] = mu;
      m2[b * N + c] = ss;
    }
  }
  return { mean, m2 };
}

/** Performance of every column over the given blocks, written into `out`. */
function halfPerformance(
  moments: BlockMoments,
  blocks: Int32Array,
  size: number,
  N: number,
  metric: 'sharpe' | 'mean',
  out: Float64Array,
): void {
  for (let c = 0; c < N; c++) {
    let n = 0;
    let mean = 0;
    let m2 = 0;
    for (const b of blocks) {
      const mb = moments.mean[b * N + c]!;
      const m2b = moments.m2[b * N + c]!;
      if (n === 0) {
        mean = mb;
        m2 = m2b;
      } else {
        const total = n + size;
        const delta = mb - mean;
        mean += (delta * size) / total;
        m2 += m2b + (delta * delta * n * size) / total;
      }
      n += size;
    }
    out[c] = metric === 'mean' ? mean : mean / Math.sqrt(m2 / (n - 1));
  }
}

function customPerformance(m: ReturnsMatrix, first: number, blocks: Int32Array, size: number, fn: (r: Float64Array) => number, out: Float64Array): void {
  const N = m.columns;
  const column = new Float64Array(blocks.length * size);
  for (let c = 0; c < N; c++) {
    let k = 0;
    for (const b of blocks) {
      const start = first + b * size;
      for (let t = start; t < start + size; t++) column[k++] = m.values[t * N + c]!;
    }
    out[c] = fn(column);
  }
}

function olsDegradation(x: Float64Array, y: Float64Array): PboDegradation {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  // Undefined fits (no spread, or fewer than 3 points for the adjusted R²) are NaN, not an error:
  // PBO and the probability of loss are still meaningful.
  const slope = sxx > 0 ? sxy / sxx : Number.NaN;
  const r2 = sxx > 0 && syy > 0 ? (sxy * sxy) / (sxx * syy) : Number.NaN;
  return { slope, intercept: my - slope * mx, r2, adjustedR2: n > 2 ? 1 - ((1 - r2) * (n - 1)) / (n - 2) : Number.NaN };
}

function checkOptions(m: ReturnsMatrix, o: PboOptions): { S: number; dropped: number; size: number } {
  const S = o.partitions ?? 16;
  if (!Number.isInteger(S) || S < 2 || S % 2 !== 0) throw new Error(`partitions must be an even whole number ≥ 2 (got ${S})`);
  if (m.columns < 2) throw new Error(`PBO needs at least 2 strategies (columns), got ${m.columns}`);
  if (S > m.rows) throw new Error(`partitions (${S}) exceed the number of periods (${m.rows}): each block needs at least one period`);
  const remainder = m.rows % S;
  if (remainder !== 0 && (o.remainder ?? 'refuse') === 'refuse') {
    throw new Error(
      `${m.rows} periods do not split into ${S} equal blocks: drop the first ${remainder} periods (remainder 'drop-first'; barflow pbo --drop-remainder) or choose partitions that divide ${m.rows}`,
    );
  }
  if (o.threshold !== undefined && !Number.isFinite(o.threshold)) throw new Error(`threshold must be a finite number (got ${o.threshold})`);
  if (o.riskFree !== undefined && !Number.isFinite(o.riskFree)) throw new Error(`riskFree must be a finite number (got ${o.riskFree})`);
  return { S, dropped: remainder, size: (m.rows - remainder) / S };
}

/**
 * PBO by CSCV. The T periods are cut into S contiguous blocks; for each of the C(S, S/2) ways to
 * pick half of them as in-sample (IS) and the rest as out-of-sample (OOS), the strategy with the best
 * IS performance n* is ranked among all strategies OOS; λ = logit(rank / N) and PBO = P(λ ≤ 0).
 *
 * Reference conventions (R `pbo` 1.3.5): argmax takes the first of tied maxima, OOS ranks of ties
 * are averaged, ω̄ = rank / N (see `rankDenominator`), and PBO counts λ ≤ 0, so a median rank
 * counts as overfit. Metric values that are NaN (0/0: a strategy flat over a whole half) are refused,
 * because a rank has no meaning for them.
 */
export function pbo(input: ReturnsInput, options: PboOptions = {}): PboResult {
  const m = toReturnsMatrix(input);
  const { S, dropped, size } = checkOptions(m, options);
  const N = m.columns;
  const half = S / 2;
  const C = binomial(S, half);
  const metric = options.metric ?? 'sharpe';
  const threshold = options.threshold ?? 0;
  const denominator = (options.rankDenominator ?? 'n') === 'n' ? N : N + 1;
  const moments = typeof metric === 'function' ? null : blockMoments(m, dropped, S, size, options.riskFree ?? 0);

  const logits = new Float64Array(C);
  const relativeRanks = new Float64Array(C);
  const oosRanks = new Float64Array(C);
  const chosen = new Int32Array(C);
  const isPerformance = new Float64Array(C);
  const oosPerformance = new Float64Array(C);
  const r = new Float64Array(N);
  const rBar = new Float64Array(N);
  const oosBlocks = new Int32Array(half);
  let c = 0;
  let overfit = 0;
  let losses = 0;

  for (const isBlocks of combinationsOf(S, half)) {
    let k = 0;
    let j = 0;
    for (let b = 0; b < S; b++) {
      if (j < half && isBlocks[j] === b) j++;
      else oosBlocks[k++] = b;
    }
    if (moments === null) {
      const fn = metric as (returns: Float64Array) => number;
      customPerformance(m, dropped, isBlocks, size, fn, r);
      customPerformance(m, dropped, oosBlocks, size, fn, rBar);
    } else {
      halfPerformance(moments, isBlocks, size, N, metric as 'sharpe' | 'mean', r);
      halfPerformance(moments, oosBlocks, size, N, metric as 'sharpe' | 'mean', rBar);
    }
    let best = 0;
    for (let n = 0; n < N; n++) {
      if (Number.isNaN(r[n]) || Number.isNaN(rBar[n])) {
        throw new Error(
          `the metric is NaN for ${columnName(m, n)} in combination ${c + 1} (blocks ${Array.from(Number.isNaN(r[n]) ? isBlocks : oosBlocks, (b) => b + 1).join(',')}); a strategy with zero variance over half the sample has no Sharpe ratio`,
        );
      }
      if (r[n]! > r[best]!) best = n;
    }
    const target = rBar[best]!;
    let below = 0;
    let equal = 0;
    for (let n = 0; n < N; n++) {
      if (rBar[n]! < target) below++;
      else if (rBar[n] === target) equal++;
    }
    const rank = below + (equal + 1) / 2;
    const omega = rank / denominator;
    const lambda = Math.log(omega / (1 - omega));
    logits[c] = lambda;
    relativeRanks[c] = omega;
    oosRanks[c] = rank;
    chosen[c] = best;
    isPerformance[c] = r[best]!;
    oosPerformance[c] = target;
    if (lambda <= 0) overfit++;
    if (target < threshold) losses++;
    c++;
  }

  return {
    pbo: overfit / C,
    combinations: C,
    partitions: S,
    rows: m.rows - dropped,
    rowsPerPartition: size,
    droppedRows: dropped,
    strategies: N,
    logits,
    relativeRanks,
    oosRanks,
    chosen,
    isPerformance,
    oosPerformance,
    degradation: olsDegradation(isPerformance, oosPerformance),
    probabilityOfLoss: losses / C,
    threshold,
  };
}
