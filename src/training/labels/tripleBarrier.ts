/**
 * Triple-barrier labels (López de Prado, AFML ch. 3), symmetric and ATR-scaled, checked against
 * each later bar's open, high and low rather than its close alone: a close-only check misses
 * barriers touched inside a bar and so overstates time-outs.
 *
 * For the row of bar i (entry at its close C_i, known at ts_i + 1 minute) with A = ATR at row i (a
 * feature of the row, so only information available at the row sizes the barriers):
 *   upper = C_i + k·A, lower = C_i − k·A, and bars i+1 … i+maxBars of the same symbol are scanned.
 * In bar j:
 *   * opening at or beyond a barrier: that barrier, exit at the open (the price gapped through it);
 *   * high ≥ upper and low ≤ lower: both touched inside one bar, the order is unknown: `bothTouched`
 *     decides (default `stop`, the conservative case: the label is taken as the barrier against the
 *     position, i.e. the lower one for the unsided label, which reads as a long position);
 *   * else the one touched, exit at the barrier price.
 * No touch within maxBars bars: label 0 at the close of bar i+maxBars. No touch and fewer than
 * maxBars bars left: the window runs past the data end, the row is marked `past_end` and its label
 * is missing (NaN), never guessed.
 */

export type BothTouchedRule = 'stop' | 'target' | 'neutral';

/** Why a row's label is what it is; stored as a dictionary column beside the label. */
export const BARRIER_STATUS = ['upper', 'lower', 'time', 'both_stop', 'both_target', 'both_neutral', 'past_end', 'no_atr', 'no_price', 'no_side'] as const;
export type BarrierStatus = (typeof BARRIER_STATUS)[number];

export interface BarrierParams {
  /** Barrier half-width in ATR units (> 0). */
  k: number;
  /** Time barrier, in bars (≥ 1). */
  maxBars: number;
  bothTouched: BothTouchedRule;
}

/** The bars of one symbol and the ATR of each row, all of equal length, in time order. */
export interface BarPath {
  ts: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  atr: Float64Array;
}

/** Outputs of the rows of one symbol, written at [from, to) of each array. */
export interface BarrierOutputs {
  /** +1, −1, 0 or NaN (unknown). */
  label: Float64Array;
  /** Open time of the bar in which the label was decided (NaN when unknown); known at t1 + 1 minute. */
  t1: Float64Array;
  exitPrice: Float64Array;
  /** exitPrice / entry − 1. */
  ret: Float64Array;
  /** (exitPrice − entry) / ATR. */
  retAtr: Float64Array;
  /** Index into BARRIER_STATUS. */
  status: Int8Array;
}

const S = Object.fromEntries(BARRIER_STATUS.map((s, i) => [s, i])) as Record<BarrierStatus, number>;

/**
 * Labels rows [0, n) of one symbol's path into `out` at offset `at`. `side` (optional, +1/−1 per
 * row; 0 or NaN = no position) orients the `stop`/`target` rule for meta-labels: the stop is the
 * barrier against the side.
 */
export function labelTripleBarrier(path: BarPath, params: BarrierParams, out: BarrierOutputs, at: number, side?: Float64Array): void {
  const { ts, open, high, low, close, atr } = path;
  const n = ts.length;
  const { k, maxBars, bothTouched } = params;
  for (let i = 0; i < n; i++) {
    const o = at + i;
    const entry = close[i]!;
    const a = atr[i]!;
    if (!Number.isFinite(entry)) {
      setUnknown(out, o, S.no_price);
      continue;
    }
    if (!(a > 0) || !Number.isFinite(a)) {
      setUnknown(out, o, S.no_atr);
      continue;
    }
    const upper = entry + k * a;
    const lower = entry - k * a;
    const last = i + maxBars;
    let decided = false;
    for (let j = i + 1; j <= last && j < n; j++) {
      const op = open[j]!;
      if (op >= upper) {
        set(out, o, 1, ts[j]!, op, entry, a, S.upper);
      } else if (op <= lower) {
        set(out, o, -1, ts[j]!, op, entry, a, S.lower);
      } else {
        const up = high[j]! >= upper;
        const down = low[j]! <= lower;
        if (up && down) {
          both(out, o, ts[j]!, entry, a, upper, lower, bothTouched, side === undefined ? 1 : side[i]!, close[j]!);
        } else if (up) {
          set(out, o, 1, ts[j]!, upper, entry, a, S.upper);
        } else if (down) {
          set(out, o, -1, ts[j]!, lower, entry, a, S.lower);
        } else {
          continue;
        }
      }
      decided = true;
      break;
    }
    if (decided) continue;
    if (last < n) set(out, o, 0, ts[last]!, close[last]!, entry, a, S.time);
    else setUnknown(out, o, S.past_end);
  }
}

function both(out: BarrierOutputs, o: number, t: number, entry: number, a: number, upper: number, lower: number, rule: BothTouchedRule, side: number, closeJ: number): void {
  if (rule === 'neutral') {
    set(out, o, 0, t, closeJ, entry, a, S.both_neutral);
    return;
  }
  // A short position's stop is the upper barrier; no side (NaN/0) reads as long.
  const long = !(side < 0);
  const takeUpper = rule === 'stop' ? !long : long;
  set(out, o, takeUpper ? 1 : -1, t, takeUpper ? upper : lower, entry, a, rule === 'stop' ? S.both_stop : S.both_target);
}

function set(out: BarrierOutputs, o: number, label: number, t1: number, exit: number, entry: number, a: number, status: number): void {
  out.label[o] = label;
  out.t1[o] = t1;
  out.exitPrice[o] = exit;
  out.ret[o] = exit / entry - 1;
  out.retAtr[o] = (exit - entry) / a;
  out.status[o] = status;
}

function setUnknown(out: BarrierOutputs, o: number, status: number): void {
  out.label[o] = Number.NaN;
  out.t1[o] = Number.NaN;
  out.exitPrice[o] = Number.NaN;
  out.ret[o] = Number.NaN;
  out.retAtr[o] = Number.NaN;
  out.status[o] = status;
}

export function allocateBarrierOutputs(n: number): BarrierOutputs {
  return {
    label: new Float64Array(n),
    t1: new Float64Array(n),
    exitPrice: new Float64Array(n),
    ret: new Float64Array(n),
    retAtr: new Float64Array(n),
    status: new Int8Array(n),
  };
}
