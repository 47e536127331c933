import { type Embargo, type RowSpans, type Timeline, embargoEnd, embargoStart } from './rowSpans.js';

/** A tested stretch of time: its first and last row ts, and the latest label end among its rows. */
export interface TestBlock {
  from: number;
  to: number;
  labelEnd: number;
}

export interface Fold {
  index: number;
  /** Row indices, ascending (dataset order). */
  train: Int32Array;
  test: Int32Array;
  /** Chronological split only: rows to tune and calibrate on, purged against test. */
  validation?: Int32Array;
  testBlocks: TestBlock[];
  /** k-fold and CPCV: the groups tested. */
  testGroups?: number[];
  /** Training candidates removed because their span overlaps a tested span… */
  purged: number;
  /** …and because they fall in the embargo next to a tested block. */
  embargoed: number;
}

/**
 * Where the embargo goes. `after` (k-fold, CPCV; López de Prado): training rows that start within
 * the embargo after a tested block's last label end, whose features still carry the tested period.
 * `before` (chronological, walk-forward, where no training row follows a test): a gap, so training
 * labels must end the embargo before the tested block begins.
 */
export type EmbargoSide = 'after' | 'before';

/** The blocks of a set of timeline positions: maximal runs of consecutive positions. */
export function blocksOf(spans: RowSpans, timeline: Timeline, runs: readonly [number, number][]): TestBlock[] {
  return runs.map(([s, e]) => {
    let labelEnd = Number.NEGATIVE_INFINITY;
    for (let p = s; p < e; p++) labelEnd = Math.max(labelEnd, spans.t1[timeline.order[p]!]!);
    return { from: spans.ts[timeline.order[s]!]!, to: spans.ts[timeline.order[e - 1]!]!, labelEnd };
  });
}

/**
 * Splits candidate training positions into kept, purged and embargoed against the tested blocks.
 * Overlap of closed spans: [ts, t1] meets a block's union of spans, which is [from, labelEnd]
 * (every tested span starts in the block and the block's first row starts at `from`).
 */
export function purgeAndEmbargo(
  spans: RowSpans,
  timeline: Timeline,
  candidates: Iterable<number>,
  blocks: readonly TestBlock[],
  embargo: Embargo,
  side: EmbargoSide,
): { kept: number[]; purged: number; embargoed: number } {
  const limits = blocks.map((b) => (side === 'after' ? embargoEnd(timeline, b.labelEnd, embargo) : embargoStart(timeline, b.from, embargo)));
  const kept: number[] = [];
  let purged = 0;
  let embargoed = 0;
  for (const p of candidates) {
    const r = timeline.order[p]!;
    const ts = spans.ts[r]!;
    const t1 = spans.t1[r]!;
    let verdict = 0;
    for (let b = 0; b < blocks.length; b++) {
      const block = blocks[b]!;
      if (ts <= block.labelEnd && t1 >= block.from) {
        verdict = 1;
        break;
      }
      const inEmbargo = side === 'after' ? ts > block.labelEnd && ts <= limits[b]! : ts < block.from && t1 >= limits[b]!;
      if (inEmbargo) verdict = 2;
    }
    if (verdict === 1) purged++;
    else if (verdict === 2) embargoed++;
    else kept.push(r);
  }
  return { kept, purged, embargoed };
}

/** Row indices of timeline positions [s, e), ascending. */
export function rowsOf(timeline: Timeline, runs: readonly [number, number][]): Int32Array {
  let n = 0;
  for (const [s, e] of runs) n += e - s;
  const out = new Int32Array(n);
  let at = 0;
  for (const [s, e] of runs) for (let p = s; p < e; p++) out[at++] = timeline.order[p]!;
  return out.sort();
}

export function sortedRows(rows: number[]): Int32Array {
  return Int32Array.from(rows).sort();
}

export function* positions(runs: readonly [number, number][]): Generator<number> {
  for (const [s, e] of runs) for (let p = s; p < e; p++) yield p;
}

/** Contiguous row ranges [start, end) of ascending row indices: how folds.json lists rows. */
export function toRanges(rows: Int32Array): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < rows.length; ) {
    let j = i + 1;
    while (j < rows.length && rows[j] === rows[j - 1]! + 1) j++;
    out.push([rows[i]!, rows[j - 1]! + 1]);
    i = j;
  }
  return out;
}

export function fromRanges(ranges: readonly (readonly [number, number])[]): Int32Array {
  let n = 0;
  for (const [s, e] of ranges) n += e - s;
  const out = new Int32Array(n);
  let at = 0;
  for (const [s, e] of ranges) for (let r = s; r < e; r++) out[at++] = r;
  return out;
}
