/**
 * The time footprint of each row: `[ts, t1]`, from the row's bar open time to the open time of the
 * last bar its label looked at. Splits are made on these spans: rows are grouped in time (all
 * symbols' rows of one timestamp stay together, so no fold learns from a moment it is tested on),
 * and a training row whose span overlaps a tested span is purged.
 */
export interface RowSpans {
  /** Bar open time of each row, epoch ms; rows in dataset order (symbol, ts). */
  ts: Float64Array;
  /** Label end of each row, epoch ms; NaN = no label (the row is left out of every fold). */
  t1: Float64Array;
}

/** Eligible (labelled) rows in time order, with the distinct timestamps they fall on. */
export interface Timeline {
  /** Row indices sorted by (ts, row index). */
  order: Int32Array;
  /** Distinct ts values of `order`, ascending. */
  times: Float64Array;
  /** Rows left out for having no label. */
  unlabeled: number;
}

export function buildTimeline(spans: RowSpans): Timeline {
  const { ts, t1 } = spans;
  if (ts.length !== t1.length) throw new Error(`spans: ${ts.length} ts but ${t1.length} t1 values`);
  const rows: number[] = [];
  for (let i = 0; i < ts.length; i++) {
    if (Number.isNaN(t1[i]!)) continue;
    if (!(t1[i]! >= ts[i]!)) throw new Error(`row ${i}: its label ends (t1 ${t1[i]}) before it starts (ts ${ts[i]})`);
    rows.push(i);
  }
  rows.sort((a, b) => ts[a]! - ts[b]! || a - b);
  const order = Int32Array.from(rows);
  const times: number[] = [];
  for (const r of order) if (times.length === 0 || times[times.length - 1] !== ts[r]) times.push(ts[r]!);
  return { order, times: Float64Array.from(times), unlabeled: ts.length - order.length };
}

/**
 * Cuts the timeline into `count` contiguous groups of about equal row counts, never inside a
 * timestamp. Returns positions in `order`: group g is order[bounds[g]] … order[bounds[g + 1] - 1].
 */
export function groupBounds(spans: RowSpans, timeline: Timeline, count: number): Int32Array {
  const { order } = timeline;
  const n = order.length;
  if (!Number.isInteger(count) || count < 1) throw new Error(`the number of groups must be a positive integer (got ${count})`);
  if (timeline.times.length < count) throw new Error(`cannot cut ${timeline.times.length} distinct labelled timestamps into ${count} groups`);
  const bounds = new Int32Array(count + 1);
  bounds[count] = n;
  // Cuts may only fall where the timestamp changes. Each cut takes the change point nearest its
  // ideal position among those after the previous cut that still leave one for every later cut.
  const changes: number[] = [];
  for (let p = 1; p < n; p++) if (spans.ts[order[p]!] !== spans.ts[order[p - 1]!]) changes.push(p);
  let next = 0;
  for (let g = 1; g < count; g++) {
    const ideal = (g * n) / count;
    const last = changes.length - (count - g);
    let j = next;
    while (j < last && Math.abs(changes[j + 1]! - ideal) <= Math.abs(changes[j]! - ideal)) j++;
    bounds[g] = changes[j]!;
    next = j + 1;
  }
  for (let g = 1; g <= count; g++) {
    if (bounds[g]! <= bounds[g - 1]!) throw new Error(`cannot cut the labelled rows into ${count} non-empty groups (too many rows share a timestamp)`);
  }
  return bounds;
}

/** How much to drop around tested blocks: `bars` distinct timestamps, or a duration in ms. */
export type Embargo = { bars: number } | { ms: number };

export const NO_EMBARGO: Embargo = { bars: 0 };

/** "60" (bars), "90m", "2h", "1d": the CLI's embargo argument. */
export function parseEmbargo(text: string): Embargo {
  const t = text.trim();
  if (/^\d+$/.test(t)) return { bars: Number(t) };
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)$/.exec(t);
  if (m === null) throw new Error(`embargo ${JSON.stringify(text)}: give bars (60) or a duration (90m, 2h, 1d)`);
  const unit = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 }[m[2]!]!;
  return { ms: Number(m[1]) * unit };
}

/** The last timestamp the embargo after `end` covers (end itself when there is none). */
export function embargoEnd(timeline: Timeline, end: number, embargo: Embargo): number {
  if ('ms' in embargo) return end + embargo.ms;
  if (embargo.bars <= 0) return end;
  const after = upperBound(timeline.times, end);
  const k = Math.min(after + embargo.bars - 1, timeline.times.length - 1);
  return k >= after ? timeline.times[k]! : end;
}

/** The earliest timestamp the embargo before `start` covers (start itself when there is none). */
export function embargoStart(timeline: Timeline, start: number, embargo: Embargo): number {
  if ('ms' in embargo) return start - embargo.ms;
  if (embargo.bars <= 0) return start;
  const before = lowerBound(timeline.times, start) - 1;
  const k = Math.max(before - embargo.bars + 1, 0);
  return before >= 0 ? timeline.times[k]! : start;
}

/** First index with times[i] > t. */
export function upperBound(times: Float64Array, t: number): number {
  let a = 0;
  let b = times.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (times[m]! <= t) a = m + 1;
    else b = m;
  }
  return a;
}

/** First index with times[i] >= t. */
export function lowerBound(times: Float64Array, t: number): number {
  let a = 0;
  let b = times.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (times[m]! < t) a = m + 1;
    else b = m;
  }
  return a;
}
