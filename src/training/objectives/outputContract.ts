import { type Calibrator, calibrate, fitCalibrator } from '../models/calibration.js';
import { CrossConformal, type CrossConformalJson, conformalQuantile } from '../conformal/conformal.js';
import { MULTICLASS_CLASSES, type ObjectiveSpec, intervalFields, intervalLevels, quantileName, rawOutputs } from './objective.js';

/**
 * From a scorer's raw outputs to the output contract's fields (BRIEF: p_up, e_r, q05/q50/q95,
 * uncertainty, regime_score), per objective. Training (out-of-fold rows), `barflow predict` and
 * the live topology all go through `OutputContract.row`, so the three give the same bits.
 *
 * What each objective declares (the fields a bundle fills; the others stay null in messages):
 * * binary: p_up (calibrated on the calibration slice), e_r = p·E[r | up] + (1 − p)·E[r | not up]
 *   (means over the fitted rows), uncertainty = 1 − |2p − 1| (1 at a coin flip, 0 when sure).
 * * multiclass: p_up, p_down, p_timeout (the classes' probabilities, as the model gives them),
 *   e_r = Σ P(class)·E[r | class], uncertainty = the classes' entropy / ln 3 (0 sure, 1 uniform).
 * * regression: e_r, the predicted return.
 * * quantile: one field per level (q05, q50, q95 by default), sorted so that they never cross, each
 *   central interval [q_a, q_(1−a)] conformalised on the calibration slice (CQR, Romano, Patterson
 *   & Candès 2019, scaled by the interval's width: both ends moved by Q·(q_(1−a) − q_a), Q the
 *   ⌈(n + 1)(1 − 2a)⌉-th smallest score max(q_a − y, y − q_(1−a)) / (q_(1−a) − q_a), so that the
 *   interval covers 1 − 2a of new rows like the slice's);
 *   e_r = the median when 0.5 is a level; uncertainty = the outer interval's width q_hi − q_lo, in
 *   return units (not relative to |q50|, which explodes near a zero median).
 *
 * A mean return of a class with no fitted row (binary: no up row; multiclass: no time-out row) is
 * taken as 0, so that e_r stays finite: the class's probability then adds nothing to it.
 */
export type ContractParams =
  | { objective: 'binary'; calibrator: Calibrator; expectedReturn: { up: number; notUp: number } }
  | { objective: 'multiclass'; classReturns: number[] }
  | { objective: 'regression'; interval?: RegressionInterval }
  | { objective: 'quantile'; conformal: { lower: number; upper: number; shift: number }[]; scores?: number[] };

/**
 * A regression model's conformal interval: split (and adaptive, which starts from it) keeps the
 * absolute residuals |y − ŷ| of the calibration slice, sorted, and their conformal quantile as the
 * half width; jackknife_plus keeps the out-of-fold residuals of every fold (CV+, Barber et al. 2021).
 */
export type RegressionInterval = { method: 'split' | 'adaptive'; halfWidth: number; scores: number[] } | { method: 'jackknife_plus'; cross: CrossConformalJson };

/** Options of a contract fit beyond its rows: the probability calibrator and the conformal interval. */
export interface ContractOptions {
  calibration: Calibrator['kind'];
  /** jackknife_plus: the out-of-fold residuals and their folds (the contract cannot compute them from the calibration slice). */
  cross?: CrossConformalJson;
}

export function declaredOutputs(spec: ObjectiveSpec): string[] {
  switch (spec.objective) {
    case 'binary':
      return ['p_up', 'e_r', 'uncertainty'];
    case 'multiclass':
      return ['p_up', 'e_r', 'uncertainty', 'p_down', 'p_timeout'];
    case 'regression':
      return spec.interval === undefined ? ['e_r'] : ['e_r', ...intervalFields(spec.interval.coverage), 'uncertainty'];
    case 'quantile':
      return [...spec.quantiles.map(quantileName), ...(spec.quantiles.includes(0.5) ? ['e_r'] : []), 'uncertainty'];
  }
}

/** Width of a raw row the contract reads: the scorer's outputs, and a jackknife+ row's fold predictions after them. */
export function contractWidth(spec: ObjectiveSpec): number {
  return rawOutputs(spec).length + (spec.interval?.method === 'jackknife_plus' ? (spec.interval.folds ?? 0) : 0);
}

/** What fitting the contract sees: the raw scores of the calibration rows and targets of the fitted rows. */
export interface ContractFitInput {
  /** Raw scorer outputs of the calibration rows, row-major. */
  raw: Float64Array;
  /** Per calibration row: the target as the model learnt it (0/1, class index, return). */
  y: ArrayLike<number>;
  /** Per fitted row: the target and the return it ended with. */
  fitted: { y: ArrayLike<number>; ret: ArrayLike<number> };
  calibration: Calibrator['kind'];
  cross?: CrossConformalJson;
}

export function fitContract(spec: ObjectiveSpec, input: ContractFitInput): ContractParams {
  switch (spec.objective) {
    case 'binary': {
      const calibrator = fitCalibrator(input.calibration, input.raw, input.y);
      const up = meanWhere(input.fitted, (y) => y === 1);
      const notUp = meanWhere(input.fitted, (y) => y !== 1);
      return { objective: 'binary', calibrator, expectedReturn: { up, notUp } };
    }
    case 'multiclass':
      return { objective: 'multiclass', classReturns: MULTICLASS_CLASSES.map((_, k) => meanWhere(input.fitted, (y) => y === k)) };
    case 'regression':
      return spec.interval === undefined ? { objective: 'regression' } : { objective: 'regression', interval: regressionInterval(spec, input) };
    case 'quantile': {
      if (spec.interval === undefined) return { objective: 'quantile', conformal: conformalShifts(spec.quantiles, input.raw, input.y) };
      const [lo, hi] = intervalLevels(spec.interval.coverage);
      const pair = centralPairs(spec.quantiles).filter(([a, b]) => Math.abs(spec.quantiles[a]! - lo) < 1e-9 && Math.abs(spec.quantiles[b]! - hi) < 1e-9);
      if (pair.length !== 1) throw new Error(`conformal ${spec.interval.method} at coverage ${spec.interval.coverage} needs quantile levels ${lo} and ${hi} (the model has ${spec.quantiles.join(', ')})`);
      const scores = cqrScores(spec.quantiles, input.raw, input.y, pair[0]!);
      return { objective: 'quantile', conformal: [{ lower: pair[0]![0], upper: pair[0]![1], shift: scoreQuantile(scores, spec.interval.coverage) }], ...(spec.interval.method === 'adaptive' ? { scores } : {}) };
    }
  }
}

function regressionInterval(spec: ObjectiveSpec, input: ContractFitInput): RegressionInterval {
  const interval = spec.interval!;
  if (interval.method === 'jackknife_plus') {
    if (input.cross === undefined) throw new Error('jackknife_plus needs the out-of-fold residuals of the folds');
    return { method: 'jackknife_plus', cross: input.cross };
  }
  if (interval.method !== 'split' && interval.method !== 'adaptive') throw new Error(`conformal ${interval.method} is for quantile models (objective quantile); a regression model takes split, jackknife_plus or adaptive`);
  // The raw row of a regression model is [e_r] (the final model's; a jackknife row has more).
  const w = input.raw.length / Math.max(1, input.y.length);
  const scores: number[] = [];
  for (let i = 0; i < input.y.length; i++) if (!Number.isNaN(input.y[i]!)) scores.push(Math.abs(input.y[i]! - input.raw[i * w]!));
  scores.sort((a, b) => a - b);
  return { method: interval.method, halfWidth: scoreQuantile(scores, interval.coverage), scores };
}

/** The conformal quantile of sorted scores, 0 for none; +∞ (MAPIE's rule) when the slice is too small for the level is kept finite as the widest score. */
function scoreQuantile(sorted: readonly number[], coverage: number): number {
  if (sorted.length === 0) return 0;
  const q = conformalQuantile(sorted, coverage);
  return Number.isFinite(q) ? q : sorted[sorted.length - 1]!;
}

/** The central intervals of the levels: index pairs (a, 1 − a), outermost first. */
function centralPairs(levels: readonly number[]): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < levels.length; i++) {
    const j = levels.findIndex((l) => Math.abs(l - (1 - levels[i]!)) < 1e-9);
    if (j > i) pairs.push([i, j]);
  }
  return pairs;
}

/** CQR: per central interval, the shift of both ends that makes it cover its level on the calibration rows. */
function conformalShifts(levels: readonly number[], raw: Float64Array, y: ArrayLike<number>): { lower: number; upper: number; shift: number }[] {
  return centralPairs(levels).map(([lo, hi]) => {
    // Fewer calibration rows than the level needs: the widest score (a conservative interval).
    const shift = scoreQuantile(cqrScores(levels, raw, y, [lo, hi]), levels[hi]! - levels[lo]!);
    return { lower: lo, upper: hi, shift };
  });
}

/**
 * The CQR scores of the calibration rows for one central pair, sorted: max(q_lo − y, y − q_hi)
 * divided by the interval's width. Scaled, because volatility moves between the calibration slice
 * and later rows and the width moves with it, so a relative widening transfers where an absolute
 * one does not (the locally adaptive CQR; MAPIE's plain CQR is the same with width 1).
 */
function cqrScores(levels: readonly number[], raw: Float64Array, y: ArrayLike<number>, [lo, hi]: [number, number]): number[] {
  const k = levels.length;
  const row = new Float64Array(k);
  const scores: number[] = [];
  for (let i = 0; i < y.length; i++) {
    if (Number.isNaN(y[i]!)) continue;
    for (let j = 0; j < k; j++) row[j] = raw[i * k + j]!;
    row.sort();
    const width = Math.max(row[hi]! - row[lo]!, Number.MIN_VALUE);
    scores.push(Math.max(row[lo]! - y[i]!, y[i]! - row[hi]!) / width);
  }
  return scores.sort((a, b) => a - b);
}

function meanWhere(rows: { y: ArrayLike<number>; ret: ArrayLike<number> }, keep: (y: number) => boolean): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < rows.y.length; i++) {
    const r = rows.ret[i]!;
    if (Number.isNaN(r) || !keep(rows.y[i]!)) continue;
    s += r;
    n++;
  }
  return n > 0 ? s / n : 0;
}

export class OutputContract {
  /** The declared fields, in the order `row` writes them. */
  readonly fields: readonly string[];
  /** Width of a raw score row. */
  readonly width: number;
  private readonly sorted: Float64Array;
  private readonly cross: CrossConformal | null;
  private readonly ends = new Float64Array(2);

  constructor(
    readonly spec: ObjectiveSpec,
    readonly params: ContractParams,
  ) {
    if (params.objective !== spec.objective) throw new Error(`the contract parameters are for objective ${params.objective}, the model's is ${spec.objective}`);
    this.fields = declaredOutputs(spec);
    this.width = contractWidth(spec);
    this.sorted = new Float64Array(this.width);
    const interval = params.objective === 'regression' ? params.interval : undefined;
    this.cross = interval?.method === 'jackknife_plus' ? CrossConformal.fromJson(interval.cross) : null;
  }

  /**
   * Parameters as stored in a bundle's calibrator.json. Format 1 bundles (binary only) stored
   * `{ calibrator, expectedReturn }` without an objective; JSON has no NaN, so null is NaN again.
   */
  static fromJson(spec: ObjectiveSpec, doc: Record<string, unknown>): OutputContract {
    const nan = (v: unknown) => (v === null || v === undefined ? Number.NaN : Number(v));
    if (spec.objective === 'binary') {
      const er = (doc.expectedReturn ?? {}) as { up?: number | null; notUp?: number | null };
      return new OutputContract(spec, { objective: 'binary', calibrator: doc.calibrator as Calibrator, expectedReturn: { up: nan(er.up), notUp: nan(er.notUp) } });
    }
    if (spec.objective === 'multiclass') return new OutputContract(spec, { objective: 'multiclass', classReturns: (doc.classReturns as unknown[]).map(nan) });
    if (spec.objective === 'quantile') return new OutputContract(spec, { objective: 'quantile', conformal: (doc.conformal ?? []) as { lower: number; upper: number; shift: number }[], ...(Array.isArray(doc.scores) ? { scores: doc.scores as number[] } : {}) });
    if (spec.objective === 'regression' && doc.interval !== undefined) return new OutputContract(spec, { objective: 'regression', interval: doc.interval as RegressionInterval });
    return new OutputContract(spec, { objective: spec.objective } as ContractParams);
  }

  /** Writes the declared fields of raw score row `i` of `raw` into `out` at `at`. */
  row(raw: Float64Array, i: number, out: Float64Array, at = 0): void {
    const r = i * this.width;
    const p = this.params;
    switch (p.objective) {
      case 'binary': {
        const q = calibrate(p.calibrator, raw[r]!);
        out[at] = q;
        out[at + 1] = q * p.expectedReturn.up + (1 - q) * p.expectedReturn.notUp;
        out[at + 2] = 1 - Math.abs(2 * q - 1);
        return;
      }
      case 'multiclass': {
        const [down, timeout, up] = [raw[r]!, raw[r + 1]!, raw[r + 2]!];
        let entropy = 0;
        for (const v of [down, timeout, up]) if (v > 0) entropy -= v * Math.log(v);
        out[at] = up;
        out[at + 1] = down * p.classReturns[0]! + timeout * p.classReturns[1]! + up * p.classReturns[2]!;
        out[at + 2] = entropy / Math.log(3);
        out[at + 3] = down;
        out[at + 4] = timeout;
        return;
      }
      case 'regression': {
        const e = raw[r]!;
        out[at] = e;
        const interval = p.interval;
        if (interval === undefined) return;
        if (this.cross !== null) {
          this.cross.interval(raw.subarray(r + 1, r + this.width), this.ends);
          out[at + 1] = this.ends[0]!;
          out[at + 2] = this.ends[1]!;
        } else {
          const h = (interval as { halfWidth: number }).halfWidth;
          out[at + 1] = e - h;
          out[at + 2] = e + h;
        }
        out[at + 3] = out[at + 2]! - out[at + 1]!;
        return;
      }
      case 'quantile': {
        // Crossing quantiles are sorted: the rearrangement of Chernozhukov et al. (2010), which
        // never increases the pinball loss.
        const k = this.width;
        for (let j = 0; j < k; j++) this.sorted[j] = raw[r + j]!;
        this.sorted.sort();
        for (const c of p.conformal) {
          const shift = c.shift * Math.max(this.sorted[c.upper]! - this.sorted[c.lower]!, Number.MIN_VALUE);
          this.sorted[c.lower] = this.sorted[c.lower]! - shift;
          this.sorted[c.upper] = this.sorted[c.upper]! + shift;
        }
        // A negative shift (an interval wider than it needs) may cross an inner level: sort again.
        if (p.conformal.length > 0) this.sorted.sort();
        for (let j = 0; j < k; j++) out[at + j] = this.sorted[j]!;
        let next = at + k;
        const median = this.spec.quantiles.indexOf(0.5);
        if (median >= 0) out[next++] = this.sorted[median]!;
        out[next] = this.sorted[k - 1]! - this.sorted[0]!;
        return;
      }
    }
  }

  /** The stored form (calibrator.json). */
  toJson(): ContractParams {
    return this.params;
  }
}
