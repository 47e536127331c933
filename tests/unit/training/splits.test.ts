import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Fold, type RowSpans, type SplitPlan, binomial, chronological, combinatorialPurgedCV, purgedKFold, toRanges, fromRanges, walkForward } from '../../../src/training/splits/index.js';
import { mulberry32 } from '../../helpers/random.js';

const MIN = 60_000;

/** Random multi-symbol spans: symbol-major rows on a minute grid with gaps; t1 a few bars ahead or NaN. */
const spansArb = fc
  .record({
    symbols: fc.integer({ min: 1, max: 3 }),
    len: fc.integer({ min: 12, max: 70 }),
    seed: fc.integer(),
    maxAhead: fc.integer({ min: 0, max: 8 }),
    nanRate: fc.double({ min: 0, max: 0.2, noNaN: true }),
  })
  .map(({ symbols, len, seed, maxAhead, nanRate }) => {
    const rnd = mulberry32(seed);
    const ts: number[] = [];
    const t1: number[] = [];
    for (let k = 0; k < symbols; k++) {
      const times: number[] = [];
      let t = Math.floor(rnd() * 5) * MIN;
      for (let i = 0; i < len; i++) {
        t += (rnd() < 0.15 ? 2 + Math.floor(rnd() * 4) : 1) * MIN;
        times.push(t);
      }
      for (let i = 0; i < len; i++) {
        ts.push(times[i]!);
        const j = i + Math.floor(rnd() * (maxAhead + 1));
        t1.push(rnd() < nanRate || j >= len ? Number.NaN : times[j]!);
      }
    }
    return { ts: Float64Array.from(ts), t1: Float64Array.from(t1) } satisfies RowSpans;
  });

const eligible = (s: RowSpans) => [...s.ts.keys()].filter((i) => !Number.isNaN(s.t1[i]!));
const overlaps = (s: RowSpans, a: number, b: number) => s.ts[a]! <= s.t1[b]! && s.ts[b]! <= s.t1[a]!;

/** No training (or validation, against test) row's span meets a tested row's span: brute force. */
function assertNoOverlap(s: RowSpans, fit: ArrayLike<number>, test: ArrayLike<number>): void {
  for (const a of Array.from(fit)) for (const b of Array.from(test)) if (overlaps(s, a, b)) expect.fail(`row ${a} [${s.ts[a]}, ${s.t1[a]}] overlaps tested row ${b} [${s.ts[b]}, ${s.t1[b]}]`);
}

/** Distinct labelled timestamps: the clock that embargoes in bars count on, computed independently. */
const times = (s: RowSpans) => [...new Set(eligible(s).map((i) => s.ts[i]!))].sort((a, b) => a - b);

/** The independent expectation for k-fold and CPCV training sets: not tested, not overlapping, not in an embargo after a tested block. */
function expectedTrain(s: RowSpans, fold: Fold, bars: number): number[] {
  const tested = new Set(Array.from(fold.test));
  const clock = times(s);
  const blocks = fold.testBlocks;
  return eligible(s).filter((r) => {
    if (tested.has(r)) return false;
    if (Array.from(fold.test).some((b) => overlaps(s, r, b))) return false;
    return !blocks.some((blk) => {
      const after = clock.filter((t) => t > blk.labelEnd).slice(0, bars);
      return after.length > 0 && s.ts[r]! > blk.labelEnd && s.ts[r]! <= after[after.length - 1]!;
    });
  });
}

function disjoint(a: ArrayLike<number>, b: ArrayLike<number>): void {
  const set = new Set(Array.from(a));
  for (const x of Array.from(b)) if (set.has(x)) expect.fail(`row ${x} is in both sets`);
}

describe('purged k-fold', () => {
  it('tests every labelled row exactly once, and trains on exactly the rows that neither overlap nor follow within the embargo', () => {
    fc.assert(
      fc.property(spansArb, fc.integer({ min: 2, max: 6 }), fc.integer({ min: 0, max: 5 }), (s, k, bars) => {
        fc.pre(times(s).length >= k);
        const plan = purgedKFold(s, k, { bars });
        const seen = new Map<number, number>();
        for (const f of plan.folds) for (const r of f.test) seen.set(r, (seen.get(r) ?? 0) + 1);
        expect([...seen.keys()].sort((a, b) => a - b)).toEqual(eligible(s));
        expect([...seen.values()].every((c) => c === 1)).toBe(true);
        for (const f of plan.folds) {
          disjoint(f.train, f.test);
          assertNoOverlap(s, f.train, f.test);
          expect(Array.from(f.train)).toEqual(expectedTrain(s, f, bars));
          expect(f.train.length + f.test.length + f.purged + f.embargoed).toBe(eligible(s).length);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('keeps all rows of one timestamp in one group (cross-sectional rows never straddle train and test)', () => {
    fc.assert(
      fc.property(spansArb, fc.integer({ min: 2, max: 5 }), (s, k) => {
        fc.pre(times(s).length >= k);
        const plan = purgedKFold(s, k);
        const foldOf = new Map<number, number>();
        for (const f of plan.folds) for (const r of f.test) {
          const prev = foldOf.get(s.ts[r]!);
          if (prev !== undefined) expect(prev).toBe(f.index);
          foldOf.set(s.ts[r]!, f.index);
        }
      }),
    );
  });

  it('embargoes by duration: no training row starts within the duration after a tested block', () => {
    fc.assert(
      fc.property(spansArb, fc.integer({ min: 2, max: 5 }), fc.integer({ min: 0, max: 10 }), (s, k, minutes) => {
        fc.pre(times(s).length >= k);
        const plan = purgedKFold(s, k, { ms: minutes * MIN });
        for (const f of plan.folds) {
          assertNoOverlap(s, f.train, f.test);
          for (const r of f.train) for (const b of f.testBlocks) expect(s.ts[r]! > b.labelEnd && s.ts[r]! <= b.labelEnd + minutes * MIN).toBe(false);
        }
      }),
    );
  });
});

describe('combinatorial purged CV', () => {
  it('has C(N, k) splits and C(N-1, k-1) paths, each path covering every group once, with purged training sets', () => {
    fc.assert(
      fc.property(spansArb, fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 4 }), (s, n, kRaw, bars) => {
        const k = Math.min(kRaw, n - 1);
        fc.pre(times(s).length >= n);
        const plan = combinatorialPurgedCV(s, n, k, { bars });
        expect(plan.folds.length).toBe(binomial(n, k));
        expect(plan.paths!.length).toBe(binomial(n - 1, k - 1));
        const used = new Set<string>();
        for (const path of plan.paths!) {
          expect(path.splits.length).toBe(n);
          path.splits.forEach((split, g) => {
            expect(plan.folds[split]!.testGroups).toContain(g);
            used.add(`${g}/${split}`);
          });
        }
        // Every (group, split that tests it) pair lands on exactly one path.
        expect(used.size).toBe(n * binomial(n - 1, k - 1));
        for (const f of plan.folds) {
          disjoint(f.train, f.test);
          assertNoOverlap(s, f.train, f.test);
          expect(Array.from(f.train)).toEqual(expectedTrain(s, f, bars));
        }
        // A path's groups together test every labelled row once.
        const groups = plan.groups!;
        for (const path of plan.paths!) {
          const rows: number[] = [];
          path.splits.forEach((split, g) => {
            for (const r of plan.folds[split]!.test) if (s.ts[r]! >= groups[g]!.from && s.ts[r]! <= groups[g]!.to) rows.push(r);
          });
          expect(rows.sort((a, b) => a - b)).toEqual(eligible(s));
        }
      }),
      { numRuns: 120 },
    );
  });
});

describe('walk-forward and chronological', () => {
  it('walk-forward trains only on rows whose labels end before the test (with the embargo gap)', () => {
    fc.assert(
      fc.property(spansArb, fc.integer({ min: 1, max: 4 }), fc.constantFrom('expanding' as const, 'rolling' as const), fc.integer({ min: 0, max: 4 }), (s, folds, mode, bars) => {
        fc.pre(times(s).length >= folds + 1);
        const plan = walkForward(s, folds, mode, undefined, { bars });
        const clock = times(s);
        for (const f of plan.folds) {
          disjoint(f.train, f.test);
          assertNoOverlap(s, f.train, f.test);
          const from = f.testBlocks[0]!.from;
          const gap = clock.filter((t) => t < from).slice(-bars);
          for (const r of f.train) {
            expect(s.ts[r]!).toBeLessThan(from);
            if (bars > 0 && gap.length > 0) expect(s.t1[r]!).toBeLessThan(gap[0]!);
          }
        }
        if (mode === 'expanding') for (let i = 1; i < plan.folds.length; i++) expect(plan.folds[i]!.train.length + plan.folds[i]!.purged + plan.folds[i]!.embargoed).toBeGreaterThanOrEqual(plan.folds[i - 1]!.train.length);
      }),
    );
  });

  it('chronological: train, validation and test in time order, train purged against both later parts, validation against test', () => {
    fc.assert(
      fc.property(spansArb, fc.integer({ min: 0, max: 3 }), (s, bars) => {
        fc.pre(times(s).length >= 10);
        const plan = chronological(s, 0.6, 0.2, 0.2, { bars });
        const f = plan.folds[0]!;
        assertNoOverlap(s, f.train, [...f.validation!, ...f.test]);
        assertNoOverlap(s, f.validation!, f.test);
        const maxTs = (rows: ArrayLike<number>) => Math.max(...Array.from(rows, (r) => s.ts[r]!));
        const minTs = (rows: ArrayLike<number>) => Math.min(...Array.from(rows, (r) => s.ts[r]!));
        if (f.train.length > 0 && f.validation!.length > 0) expect(maxTs(f.train)).toBeLessThan(minTs(f.validation!));
        if (f.validation!.length > 0) expect(maxTs(f.validation!)).toBeLessThan(minTs(f.test));
        expect(f.train.length + f.validation!.length + f.test.length + f.purged + f.embargoed).toBe(eligible(s).length);
      }),
    );
  });
});

describe('hand-made cases', () => {
  // One symbol, 10 bars a minute apart, every label 2 bars long.
  const ts = Float64Array.from({ length: 10 }, (_, i) => i * MIN);
  const t1 = Float64Array.from({ length: 10 }, (_, i) => (i + 2 <= 9 ? (i + 2) * MIN : Number.NaN));
  const spans = { ts, t1 };

  it('purges the two rows before the test block and embargoes one after its last label end', () => {
    // 8 labelled rows (0…7) in 4 groups of 2: fold 1 tests rows 2, 3 (labels reach bar 5).
    const plan: SplitPlan = purgedKFold(spans, 4, { bars: 1 });
    const f = plan.folds[1]!;
    expect(Array.from(f.test)).toEqual([2, 3]);
    // Rows 0 and 1 end at bars 2 and 3: purged; rows 4 and 5 start inside the label of row 3: purged;
    // row 6 starts in the 1-bar embargo after bar 5; row 7 is kept.
    expect(Array.from(f.train)).toEqual([7]);
    expect([f.purged, f.embargoed]).toEqual([4, 1]);
    expect(plan.unlabeled).toBe(2);
  });

  it('never cuts inside a timestamp, even when the ideal cut falls in a crowd of rows of one timestamp', () => {
    // Timestamps a×4, b×3, c, d, e (a cross-section of 4 and 3 symbols, then one each) in 5 groups.
    const ts = Float64Array.from([0, 0, 0, 0, 1, 1, 1, 2, 3, 4], (m) => m * MIN);
    const crowd = { ts, t1: ts.slice() };
    const plan = combinatorialPurgedCV(crowd, 5, 2);
    const groups = plan.groups!;
    expect(groups.map((g) => [g.from / MIN, g.to / MIN, g.rows])).toEqual([[0, 0, 4], [1, 1, 3], [2, 2, 1], [3, 3, 1], [4, 4, 1]]);
    expect(() => purgedKFold(crowd, 6)).toThrow(/cannot cut 5 distinct labelled timestamps into 6 groups/);
  });

  it('groups of every method are disjoint in time (one timestamp, one group)', () => {
    fc.assert(
      fc.property(spansArb, fc.integer({ min: 2, max: 8 }), (s, n) => {
        fc.pre(times(s).length >= n);
        const groups = combinatorialPurgedCV(s, n, 1).groups!;
        for (let g = 1; g < groups.length; g++) expect(groups[g]!.from).toBeGreaterThan(groups[g - 1]!.to);
        expect(groups.reduce((a, g) => a + g.rows, 0)).toBe(eligible(s).length);
      }),
    );
  });

  it('ranges round-trip', () => {
    const rows = Int32Array.from([0, 1, 2, 5, 7, 8]);
    expect(toRanges(rows)).toEqual([[0, 3], [5, 6], [7, 9]]);
    expect(Array.from(fromRanges(toRanges(rows)))).toEqual(Array.from(rows));
  });

  it('refuses impossible plans with a reason', () => {
    expect(() => purgedKFold(spans, 1)).toThrow(/k must be an integer ≥ 2/);
    expect(() => purgedKFold(spans, 9)).toThrow(/cannot cut 8 distinct labelled timestamps into 9 groups/);
    expect(() => combinatorialPurgedCV(spans, 4, 4)).toThrow(/test groups must be an integer in 1…3/);
    expect(() => chronological(spans, 0.5, 0.2, 0.2)).toThrow(/must be 1/);
  });
});
