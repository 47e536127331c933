import { formatDuration } from './format.js';

/**
 * The report's charts over time use an ordinal x axis: x is a period's index in the report's time
 * line (the sorted union of every plotted series' period times), so each period takes the same
 * width and a gap between rows (a night, a weekend, six months between two symbols) takes none.
 * Each plotted point carries its own time for the tick labels and the legend.
 */

export interface PlotLine {
  name: string;
  color: string;
  width: number;
  /** Values at `x`, null where the line has no point (lines span those gaps). */
  y: (number | null)[];
}

export interface PlotLines {
  /** Period indices in the report's time line (`ReportTimeline`), strictly increasing. */
  x: number[];
  /** The time of each x: seconds since the epoch, UTC. */
  t: number[];
  lines: PlotLine[];
  /** True when some line was reduced to first/min/max/last points per bucket. */
  downsampled: boolean;
}

/** A step between consecutive periods of the time line longer than GAP_MARK_MS. */
export interface TimelineGap {
  /** Index of the first period after the gap (the chart marks x = at − 0.5). */
  at: number;
  /** Times (seconds) of the periods either side. */
  from: number;
  to: number;
  /** Time without a period, e.g. "gap 194d 22h". */
  label: string;
}

export interface ReportTimeline {
  /** Periods on the axis (distinct times over all plotted series). */
  periods: number;
  /** The bar length (seconds): one period of trading time. */
  barSeconds: number;
  gaps: TimelineGap[];
}

/** Longer than any weekend or holiday closure: a gap this long is marked on the charts. */
export const GAP_MARK_MS = 4 * 86_400_000;

/** The sorted distinct times (ms) of all the series. */
export function unionTimes(series: readonly Float64Array[]): Float64Array {
  let total = 0;
  for (const ts of series) total += ts.length;
  const all = new Float64Array(total);
  let k = 0;
  for (const ts of series) for (const t of ts) if (Number.isFinite(t)) all[k++] = t;
  const sorted = all.subarray(0, k).sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i]!;
  return sorted.slice(0, n);
}

/** The axis's description: its length, bar and the gaps longer than GAP_MARK_MS (time without a period: step − one bar). */
export function reportTimeline(times: Float64Array, barMs: number): ReportTimeline {
  const gaps: TimelineGap[] = [];
  for (let i = 1; i < times.length; i++) {
    const step = times[i]! - times[i - 1]!;
    if (step > GAP_MARK_MS) gaps.push({ at: i, from: times[i - 1]! / 1000, to: times[i]! / 1000, label: `gap ${formatDuration(step - barMs)}` });
  }
  return { periods: times.length, barSeconds: barMs / 1000, gaps };
}

export interface LineInput {
  name: string;
  color: string;
  width: number;
  ts: Float64Array;
  y: Float64Array;
  budget: number;
}

/**
 * Each line downsampled on its own (its points are equally spaced on the ordinal axis, so M4's
 * equal-count buckets are equal-width there), then all put on the union of their picked periods,
 * each at its index in `times` (which holds every line's times).
 */
export function plotLines(inputs: LineInput[], times: Float64Array): PlotLines {
  let downsampled = false;
  const picked = inputs.map((line) => {
    const idx = m4Indices(line.ts, line.y, line.budget);
    if (idx.length < countFinite(line.ts, line.y)) downsampled = true;
    return { idx, at: idx.map((j) => indexOf(times, line.ts[j]!)) };
  });
  const used = new Uint8Array(times.length);
  for (const { at } of picked) for (const p of at) used[p] = 1;
  const xs: number[] = [];
  const slot = new Int32Array(times.length).fill(-1);
  used.forEach((u, p) => {
    if (u) {
      slot[p] = xs.length;
      xs.push(p);
    }
  });
  const lines = inputs.map((line, i): PlotLine => {
    const y: (number | null)[] = new Array<number | null>(xs.length).fill(null);
    const { idx, at } = picked[i]!;
    at.forEach((p, q) => {
      y[slot[p]!] = line.y[idx[q]!]!;
    });
    return { name: line.name, color: line.color, width: line.width, y };
  });
  return { x: xs, t: xs.map((p) => times[p]! / 1000), lines, downsampled };
}

/** Index of `t` in the sorted `times` (which must hold it). */
function indexOf(times: Float64Array, t: number): number {
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  if (times[lo] !== t) throw new Error(`plotLines: time ${t} is not on the report's time line`);
  return lo;
}

function countFinite(ts: Float64Array, y: Float64Array): number {
  let n = 0;
  for (let i = 0; i < ts.length; i++) if (Number.isFinite(ts[i]!) && Number.isFinite(y[i]!)) n++;
  return n;
}

/**
 * The indices of the points to plot, in order: all finite points when they are at most `budget`,
 * else per bucket of consecutive points the first, the lowest, the highest and the last (M4), so
 * that no peak or trough (and no drawdown) disappears and the line starts and ends where it does.
 */
export function m4Indices(ts: Float64Array, y: Float64Array, budget: number): number[] {
  const valid: number[] = [];
  for (let i = 0; i < ts.length; i++) if (Number.isFinite(ts[i]!) && Number.isFinite(y[i]!)) valid.push(i);
  if (valid.length <= budget) return valid;
  const buckets = Math.max(1, Math.floor(budget / 4));
  const out: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * valid.length) / buckets);
    const to = Math.floor(((b + 1) * valid.length) / buckets); // exclusive
    if (to <= from) continue;
    let lo = from;
    let hi = from;
    for (let v = from + 1; v < to; v++) {
      const val = y[valid[v]!]!;
      if (val < y[valid[lo]!]!) lo = v;
      if (val > y[valid[hi]!]!) hi = v;
    }
    const keep = [from, lo, hi, to - 1].sort((a, c) => a - c);
    for (let q = 0; q < keep.length; q++) if (q === 0 || keep[q] !== keep[q - 1]) out.push(valid[keep[q]!]!);
  }
  return out;
}
