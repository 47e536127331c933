import { binomial, combinationsOf } from '../combinatorics.js';
import { type Fold, blocksOf, positions, purgeAndEmbargo, rowsOf, sortedRows } from './folds.js';
import { type Embargo, NO_EMBARGO, type RowSpans, type Timeline, buildTimeline, groupBounds, lowerBound } from './rowSpans.js';

/** A CPCV backtest path: for each group in time order, the split whose test predicts it. */
export interface BacktestPath {
  index: number;
  /** splits[g] = the split index that tests group g on this path. */
  splits: number[];
}

export interface SplitPlan {
  method: SplitMethod['method'];
  params: Record<string, unknown>;
  folds: Fold[];
  /** k-fold and CPCV: the time groups (first and last ts, rows). */
  groups?: { from: number; to: number; rows: number }[];
  paths?: BacktestPath[];
  eligible: number;
  unlabeled: number;
}

export type SplitMethod =
  | { method: 'chronological'; train: number; validation: number; test: number; embargo?: Embargo }
  | { method: 'purged_kfold'; k: number; embargo?: Embargo }
  | { method: 'walk_forward'; folds: number; mode: 'expanding' | 'rolling'; window?: number; embargo?: Embargo }
  | { method: 'cpcv'; groups: number; testGroups: number; embargo?: Embargo };

export function makeSplits(spans: RowSpans, m: SplitMethod): SplitPlan {
  switch (m.method) {
    case 'chronological':
      return chronological(spans, m.train, m.validation, m.test, m.embargo ?? NO_EMBARGO);
    case 'purged_kfold':
      return purgedKFold(spans, m.k, m.embargo ?? NO_EMBARGO);
    case 'walk_forward':
      return walkForward(spans, m.folds, m.mode, m.window, m.embargo ?? NO_EMBARGO);
    case 'cpcv':
      return combinatorialPurgedCV(spans, m.groups, m.testGroups, m.embargo ?? NO_EMBARGO);
  }
}

function summary(method: SplitMethod['method'], params: Record<string, unknown>, t: Timeline, folds: Fold[]): SplitPlan {
  return { method, params, folds, eligible: t.order.length, unlabeled: t.unlabeled };
}

/**
 * Train, validation and test in time order (fractions of the labelled rows). Each earlier part is
 * purged against everything after it, with the embargo as a gap before each later part; so the
 * model never trains on a label that ends in validation or test, and the calibrator (validation)
 * never on one that ends in test.
 */
export function chronological(spans: RowSpans, train = 0.6, validation = 0.2, test = 0.2, embargo: Embargo = NO_EMBARGO): SplitPlan {
  for (const [name, v] of [['train', train], ['validation', validation], ['test', test]] as const) {
    if (!(v >= 0 && v <= 1)) throw new Error(`chronological: the ${name} fraction must be within 0…1 (got ${v})`);
  }
  if (Math.abs(train + validation + test - 1) > 1e-9) throw new Error(`chronological: train + validation + test must be 1 (got ${train + validation + test})`);
  if (train === 0 || test === 0) throw new Error('chronological: train and test must not be empty');
  const t = buildTimeline(spans);
  const n = t.order.length;
  const cut = (f: number) => snap(spans, t, Math.round(f * n));
  const v0 = cut(train);
  const t0 = Math.max(cut(train + validation), v0);
  if (v0 === 0 || t0 >= n) throw new Error(`chronological: ${n} labelled rows are too few for these fractions`);
  const testRuns: [number, number][] = [[t0, n]];
  const testBlocks = blocksOf(spans, t, testRuns);
  // Train is purged against validation and test together (one stretch of time).
  const later = blocksOf(spans, t, [[v0, n]]);
  const tr = purgeAndEmbargo(spans, t, positions([[0, v0]]), later, embargo, 'before');
  const va = purgeAndEmbargo(spans, t, positions([[v0, t0]]), testBlocks, embargo, 'before');
  const fold: Fold = {
    index: 0,
    train: sortedRows(tr.kept),
    validation: sortedRows(va.kept),
    test: rowsOf(t, testRuns),
    testBlocks,
    purged: tr.purged + va.purged,
    embargoed: tr.embargoed + va.embargoed,
  };
  return summary('chronological', { train, validation, test, embargo }, t, [fold]);
}

/**
 * Purged k-fold (López de Prado, AFML 7.4): k contiguous time groups, each tested once; training
 * rows are purged when their span overlaps the tested group's spans, and embargoed after it.
 */
export function purgedKFold(spans: RowSpans, k = 5, embargo: Embargo = NO_EMBARGO): SplitPlan {
  if (!Number.isInteger(k) || k < 2) throw new Error(`purged k-fold: k must be an integer ≥ 2 (got ${k})`);
  const t = buildTimeline(spans);
  const bounds = groupBounds(spans, t, k);
  const folds: Fold[] = [];
  for (let g = 0; g < k; g++) {
    const runs: [number, number][] = [[bounds[g]!, bounds[g + 1]!]];
    const blocks = blocksOf(spans, t, runs);
    const candidates: [number, number][] = [[0, bounds[g]!], [bounds[g + 1]!, t.order.length]];
    const r = purgeAndEmbargo(spans, t, positions(candidates), blocks, embargo, 'after');
    folds.push({ index: g, train: sortedRows(r.kept), test: rowsOf(t, runs), testBlocks: blocks, testGroups: [g], purged: r.purged, embargoed: r.embargoed });
  }
  return { ...summary('purged_kfold', { k, embargo }, t, folds), groups: groupsOf(spans, t, bounds) };
}

/**
 * Walk-forward: the labelled rows cut into folds + 1 time groups; fold f tests group f + 1 and
 * trains on what precedes it: everything (expanding) or the last `window` timestamps (rolling,
 * default the length of the first group).
 */
export function walkForward(spans: RowSpans, folds = 5, mode: 'expanding' | 'rolling' = 'expanding', window?: number, embargo: Embargo = NO_EMBARGO): SplitPlan {
  if (!Number.isInteger(folds) || folds < 1) throw new Error(`walk-forward: folds must be a positive integer (got ${folds})`);
  const t = buildTimeline(spans);
  const bounds = groupBounds(spans, t, folds + 1);
  const firstGroupTimes = lowerBound(t.times, spans.ts[t.order[bounds[1]!]!]!);
  const w = window ?? firstGroupTimes;
  if (mode === 'rolling' && (!Number.isInteger(w) || w < 1)) throw new Error(`walk-forward: the rolling window must be a positive number of bars (got ${w})`);
  const out: Fold[] = [];
  for (let f = 0; f < folds; f++) {
    const s = bounds[f + 1]!;
    const e = bounds[f + 2]!;
    const runs: [number, number][] = [[s, e]];
    const blocks = blocksOf(spans, t, runs);
    let from = 0;
    if (mode === 'rolling') {
      const startTime = lowerBound(t.times, blocks[0]!.from);
      const firstTime = t.times[Math.max(0, startTime - w)]!;
      from = lowerBound(positionsTimes(spans, t), firstTime);
    }
    const r = purgeAndEmbargo(spans, t, positions([[from, s]]), blocks, embargo, 'before');
    out.push({ index: f, train: sortedRows(r.kept), test: rowsOf(t, runs), testBlocks: blocks, testGroups: [f + 1], purged: r.purged, embargoed: r.embargoed });
  }
  return { ...summary('walk_forward', { folds, mode, window: mode === 'rolling' ? w : undefined, embargo }, t, out), groups: groupsOf(spans, t, bounds) };
}

/**
 * Combinatorial purged CV (López de Prado, AFML 12.4): N time groups, every choice of k of them
 * tested once (C(N, k) splits, in lexicographic order), training on the rest, purged and embargoed
 * around each tested run of adjacent groups. Each group is tested in C(N−1, k−1) splits, which
 * assemble into that many backtest paths: path p predicts group g with the p-th split (in split
 * order) that tests g.
 */
export function combinatorialPurgedCV(spans: RowSpans, groups = 6, testGroups = 2, embargo: Embargo = NO_EMBARGO): SplitPlan {
  if (!Number.isInteger(groups) || groups < 2) throw new Error(`CPCV: the number of groups must be an integer ≥ 2 (got ${groups})`);
  if (!Number.isInteger(testGroups) || testGroups < 1 || testGroups >= groups) throw new Error(`CPCV: test groups must be an integer in 1…${groups - 1} (got ${testGroups})`);
  if (binomial(groups, testGroups) > 10_000) throw new Error(`CPCV: C(${groups}, ${testGroups}) = ${binomial(groups, testGroups)} splits is too many (at most 10,000)`);
  const t = buildTimeline(spans);
  const bounds = groupBounds(spans, t, groups);
  const combos = combinations(groups, testGroups);
  const folds: Fold[] = combos.map((combo, index) => {
    const runs = mergeRuns(combo.map((g) => [bounds[g]!, bounds[g + 1]!] as [number, number]));
    const blocks = blocksOf(spans, t, runs);
    const tested = new Set(combo);
    const candidates: [number, number][] = [];
    for (let g = 0; g < groups; g++) if (!tested.has(g)) candidates.push([bounds[g]!, bounds[g + 1]!]);
    const r = purgeAndEmbargo(spans, t, positions(candidates), blocks, embargo, 'after');
    return { index, train: sortedRows(r.kept), test: rowsOf(t, runs), testBlocks: blocks, testGroups: combo, purged: r.purged, embargoed: r.embargoed };
  });
  return { ...summary('cpcv', { groups, testGroups, embargo }, t, folds), groups: groupsOf(spans, t, bounds), paths: cpcvPaths(groups, combos) };
}

/** Path reconstruction: group g's p-th testing split (in split order) goes to path p. */
export function cpcvPaths(groups: number, combos: readonly number[][]): BacktestPath[] {
  const byGroup: number[][] = Array.from({ length: groups }, () => []);
  combos.forEach((combo, s) => {
    for (const g of combo) byGroup[g]!.push(s);
  });
  const count = byGroup[0]!.length;
  return Array.from({ length: count }, (_, p) => ({ index: p, splits: byGroup.map((splits) => splits[p]!) }));
}

export function combinations(n: number, k: number): number[][] {
  return Array.from(combinationsOf(n, k), (c) => Array.from(c));
}

function mergeRuns(runs: [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  for (const r of runs) {
    const last = out[out.length - 1];
    if (last !== undefined && last[1] === r[0]) last[1] = r[1];
    else out.push([r[0], r[1]]);
  }
  return out;
}

/** Moves a cut position forward to the next timestamp change (rows of one ts stay together). */
function snap(spans: RowSpans, t: Timeline, p: number): number {
  while (p > 0 && p < t.order.length && spans.ts[t.order[p]!] === spans.ts[t.order[p - 1]!]) p++;
  return p;
}

function positionsTimes(spans: RowSpans, t: Timeline): Float64Array {
  const out = new Float64Array(t.order.length);
  for (let p = 0; p < out.length; p++) out[p] = spans.ts[t.order[p]!]!;
  return out;
}

function groupsOf(spans: RowSpans, t: Timeline, bounds: Int32Array): { from: number; to: number; rows: number }[] {
  const out = [];
  for (let g = 0; g + 1 < bounds.length; g++) out.push({ from: spans.ts[t.order[bounds[g]!]!]!, to: spans.ts[t.order[bounds[g + 1]! - 1]!]!, rows: bounds[g + 1]! - bounds[g]! });
  return out;
}
