import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdaptiveConformal } from '../../../src/training/conformal/adaptiveConformal.js';
import {
  CrossConformal,
  alphaOfCoverage,
  conformalQuantile,
  cqrShift,
  cqrShifts,
  splitConformal,
  splitInterval,
} from '../../../src/training/conformal/conformal.js';

// tests/fixtures/conformal/make_mapie_fixture.py (MAPIE 1.6.0; the command is at its top).
interface Fixture {
  versions: Record<string, string>;
  yCalib: number[];
  yTest: number[];
  split: { predCalib: number[]; predTest: number[]; cases: { coverage: number; halfWidth: number; lower: number[]; upper: number[] }[] };
  cqr: {
    cases: {
      coverage: number;
      lowerCalib: number[];
      upperCalib: number[];
      lowerTest: number[];
      upperTest: number[];
      shift: number;
      lower: number[];
      upper: number[];
      shiftLower: number;
      shiftUpper: number;
      lowerAsym: number[];
      upperAsym: number[];
    }[];
  };
  cvplus: { k: number; folds: number[]; residuals: number[]; foldPredTest: number[][]; cases: { coverage: number; lower: number[]; upper: number[] }[] };
}
const fx = JSON.parse(readFileSync('tests/fixtures/conformal/mapie_fixture.json', 'utf8')) as Fixture;
const TOL = 1e-9;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

// The fixture's numbers go through the same IEEE operations as MAPIE's, so beyond TOL they agree exactly.
function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  return a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));
}

function coverageOf(lo: ArrayLike<number>, hi: ArrayLike<number>, y: ArrayLike<number>): number {
  let c = 0;
  for (let i = 0; i < y.length; i++) if (y[i]! >= lo[i]! && y[i]! <= hi[i]!) c++;
  return c / y.length;
}

// Seeded generator for the synthetic streams (mulberry32 + Box–Muller): tests stay reproducible.
function rng(seed: number): { u: () => number; n: () => number } {
  let s = seed >>> 0;
  const u = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = (): number => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  return { u, n };
}

describe('conformal quantile rule', () => {
  it('takes alpha in decimal, as MAPIE', () => {
    expect(alphaOfCoverage(0.9)).toBe(0.1);
    expect(alphaOfCoverage(0.7)).toBe(0.3); // 1 - 0.7 in floats is 0.30000000000000004
    expect(alphaOfCoverage(0.95)).toBe(0.05);
    expect(alphaOfCoverage(0.9999999)).toBe(1e-7);
    expect(alphaOfCoverage(1e-7)).toBe(0.9999999);
    expect(() => alphaOfCoverage(1.5)).toThrow(RangeError);
  });

  it('is the ⌈(n+1)·coverage⌉-th smallest, +Infinity past n, NaN ignored', () => {
    const s = [5, 3, NaN, 1, 4, 2, 9, 8, 7, 6]; // nine scores
    expect(conformalQuantile(s, 0.9)).toBe(9); // ⌈9⌉ = 9
    expect(conformalQuantile(s, 0.8)).toBe(8); // ⌈8⌉ = 8
    expect(conformalQuantile(s, 0.5)).toBe(5); // ⌈5⌉ = 5
    expect(conformalQuantile(s, 0.91)).toBe(Infinity); // ⌈9.1⌉ = 10 > 9
    expect(conformalQuantile(s.slice(0, 3), 0.5)).toBe(5); // {5, 3}: ⌈1.5⌉ = 2
    expect(conformalQuantile(s, 0)).toBe(-Infinity);
    expect(splitInterval(1, 0.5)).toEqual([0.5, 1.5]);
  });
});

describe('against MAPIE 1.6.0', () => {
  it('pins the versions it was generated with', () => {
    expect(fx.versions.mapie).toBe('1.6.0');
  });

  it.each(fx.split.cases.map((c) => [c.coverage, c] as const))('split conformal at %s', (coverage, c) => {
    const { halfWidth, n } = splitConformal(fx.split.predCalib, fx.yCalib, coverage);
    expect(n).toBe(fx.yCalib.length);
    expect(Math.abs(halfWidth - c.halfWidth)).toBeLessThanOrEqual(TOL);
    const lo = fx.split.predTest.map((p) => splitInterval(p, halfWidth)[0]);
    const hi = fx.split.predTest.map((p) => splitInterval(p, halfWidth)[1]);
    expect(maxAbsDiff(lo, c.lower)).toBeLessThanOrEqual(TOL);
    expect(maxAbsDiff(hi, c.upper)).toBeLessThanOrEqual(TOL);
    expect(sameBits(lo, c.lower) && sameBits(hi, c.upper)).toBe(true);
    expect(Math.abs(coverageOf(lo, hi, fx.yTest) - coverage)).toBeLessThan(0.06);
  });

  it.each(fx.cqr.cases.map((c) => [c.coverage, c] as const))('CQR at %s', (coverage, c) => {
    const { shift, n } = cqrShift(c.lowerCalib, c.upperCalib, fx.yCalib, coverage);
    expect(n).toBe(fx.yCalib.length);
    expect(Math.abs(shift - c.shift)).toBeLessThanOrEqual(TOL);
    const lo = c.lowerTest.map((l) => l - shift);
    const hi = c.upperTest.map((u) => u + shift);
    expect(maxAbsDiff(lo, c.lower)).toBeLessThanOrEqual(TOL);
    expect(maxAbsDiff(hi, c.upper)).toBeLessThanOrEqual(TOL);
    expect(sameBits(lo, c.lower) && sameBits(hi, c.upper)).toBe(true);
    expect(Math.abs(coverageOf(lo, hi, fx.yTest) - coverage)).toBeLessThan(0.06);

    const two = cqrShifts(c.lowerCalib, c.upperCalib, fx.yCalib, coverage);
    expect(Math.abs(two.lowerShift - c.shiftLower)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(two.upperShift - c.shiftUpper)).toBeLessThanOrEqual(TOL);
    const loA = c.lowerTest.map((l) => l - two.lowerShift);
    const hiA = c.upperTest.map((u) => u + two.upperShift);
    expect(maxAbsDiff(loA, c.lowerAsym)).toBeLessThanOrEqual(TOL);
    expect(maxAbsDiff(hiA, c.upperAsym)).toBeLessThanOrEqual(TOL);
    expect(sameBits(loA, c.lowerAsym) && sameBits(hiA, c.upperAsym)).toBe(true);
    expect(Math.abs(coverageOf(loA, hiA, fx.yTest) - coverage)).toBeLessThan(0.06);
  });

  it.each(fx.cvplus.cases.map((c) => [c.coverage, c] as const))('CV+ at %s', (coverage, c) => {
    const cc = new CrossConformal(fx.cvplus.residuals, fx.cvplus.folds, fx.cvplus.k, coverage);
    expect(cc.n).toBe(fx.cvplus.residuals.length);
    const restored = CrossConformal.fromJson(JSON.parse(JSON.stringify(cc.toJson())));
    const out = new Float64Array(2 * fx.yTest.length);
    const again = new Float64Array(2 * fx.yTest.length);
    fx.cvplus.foldPredTest.forEach((row, i) => {
      cc.interval(row, out, 2 * i);
      restored.interval(row, again, 2 * i);
    });
    const lo = out.filter((_, i) => i % 2 === 0);
    const hi = out.filter((_, i) => i % 2 === 1);
    expect(maxAbsDiff(lo, c.lower)).toBeLessThanOrEqual(TOL);
    expect(maxAbsDiff(hi, c.upper)).toBeLessThanOrEqual(TOL);
    expect(sameBits(lo, c.lower) && sameBits(hi, c.upper)).toBe(true);
    expect(Buffer.from(again.buffer).equals(Buffer.from(out.buffer))).toBe(true);
    expect(Math.abs(coverageOf(lo, hi, fx.yTest) - coverage)).toBeLessThan(0.06);
  });
});

describe('CrossConformal order statistic', () => {
  // MAPIE's definition, by sorting all n candidates.
  function bruteForce(res: number[], folds: number[], mu: number[], coverage: number): [number, number] {
    const a = alphaOfCoverage(coverage);
    const n = res.length;
    const kLow = Math.ceil((1 - 2 * a + a) * (n + 1));
    const kUp = Math.ceil((1 - a) * (n + 1));
    const down = Float64Array.from(res, (r, i) => mu[folds[i]!]! - r).sort();
    const up = Float64Array.from(res, (r, i) => mu[folds[i]!]! + r).sort();
    return [kLow > n ? -Infinity : down[n - kLow]!, kUp > n ? Infinity : up[kUp - 1]!];
  }

  const tied = fc.integer({ min: 0, max: 6 }).map((v) => v / 4);
  const value = fc.oneof(tied, fc.double({ min: 0, max: 1e3, noNaN: true }));
  const pred = fc.oneof(tied, fc.double({ min: -1e3, max: 1e3, noNaN: true }));

  it('equals a brute-force sort of the candidates, ties included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }).chain((k) =>
          fc.record({
            k: fc.constant(k),
            rows: fc.array(fc.tuple(value, fc.integer({ min: 0, max: k - 1 })), { minLength: 1, maxLength: 120 }),
            mu: fc.array(pred, { minLength: k, maxLength: k }),
            coverage: fc.oneof(fc.constantFrom(0.5, 0.8, 0.9, 0.95), fc.double({ min: 0.001, max: 0.999, noNaN: true })),
          }),
        ),
        ({ k, rows, mu, coverage }) => {
          const res = rows.map((r) => r[0]);
          const folds = rows.map((r) => r[1]);
          const out = new Float64Array(3);
          new CrossConformal(res, folds, k, coverage).interval(mu, out, 1);
          const [lo, hi] = bruteForce(res, folds, mu, coverage);
          // Equal, and bit for bit one of the candidates (only +0 / −0 ties may pick either zero).
          expect(out[1]! === lo).toBe(true);
          expect(out[2]! === hi).toBe(true);
          const isCandidate = (v: number, sign: number): boolean =>
            !Number.isFinite(v) || res.some((r, i) => Object.is(sign < 0 ? mu[folds[i]!]! - r : mu[folds[i]!]! + r, v));
          expect(isCandidate(out[1]!, -1) && isCandidate(out[2]!, 1)).toBe(true);
          expect(out[0]).toBe(0);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('drops NaN residuals and refuses NaN fold predictions', () => {
    const cc = new CrossConformal([1, NaN, 2, 3], [0, 0, 1, 1], 2, 0.5);
    expect(cc.n).toBe(3);
    const out = new Float64Array(2);
    cc.interval([0, NaN], out);
    expect(Number.isNaN(out[0]!) && Number.isNaN(out[1]!)).toBe(true);
  });

  it('is fast for n = 50k residuals and k = 10 folds', () => {
    const r = rng(3);
    const n = 50_000;
    const k = 10;
    const res = Float64Array.from({ length: n }, () => Math.abs(r.n()));
    const folds = Int32Array.from({ length: n }, (_, i) => i % k);
    const cc = new CrossConformal(res, folds, k, 0.9);
    const mu = new Float64Array(k);
    const out = new Float64Array(2);
    const rows = 2000;
    const t0 = performance.now();
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < k; j++) mu[j] = 0.01 * r.n();
      cc.interval(mu, out);
    }
    const perRowMs = (performance.now() - t0) / rows;
    expect(perRowMs).toBeLessThan(1); // ~0.02 ms here; the bound only catches an O(n) regression
    expect(out[0]).toBeLessThan(out[1]!);
  });
});

describe('AdaptiveConformal', () => {
  const scores19 = Array.from({ length: 19 }, (_, i) => 19 - i); // 1..19, shuffled order

  it('follows α_{t+1} = α_t + γ(α − err_t) on a hand-computed sequence', () => {
    const aci = new AdaptiveConformal({ coverage: 0.9, gamma: 0.01, scores: scores19 });
    expect(aci.alphaT).toBe(0.1);
    expect(aci.level()).toBe(0.9);
    expect(aci.quantile()).toBe(18); // ⌈0.9 · 20⌉ = 18
    aci.observe(true); // 0.1 + 0.01 · (0.1 − 1) = 0.091
    expect(aci.alphaT).toBeCloseTo(0.091, 15);
    expect(aci.quantile()).toBe(19); // ⌈0.909 · 20⌉ = 19
    aci.observe(false); // 0.091 + 0.001 = 0.092
    aci.observe(false); // 0.093
    expect(aci.alphaT).toBeCloseTo(0.093, 15);
    aci.observe(true); // 0.093 − 0.009 = 0.084
    expect(aci.alphaT).toBeCloseTo(0.084, 15);
    expect(aci.quantile()).toBe(19); // ⌈0.916 · 20⌉ = ⌈18.32⌉ = 19
    aci.observe(false);
    aci.observe(false); // 0.086: ⌈0.914 · 20⌉ = 19 still
    expect(aci.quantile()).toBe(19);
  });

  it('is infinite at α_t ≤ 0 and zero-width at α_t ≥ 1', () => {
    const aci = new AdaptiveConformal({ coverage: 0.5, gamma: 1, scores: scores19 });
    aci.observe(false); // 0.5 + 0.5 = 1
    expect(aci.alphaT).toBe(1);
    expect(aci.level()).toBe(0);
    expect(aci.quantile()).toBe(0);
    aci.observe(true); // 0.5
    aci.observe(true); // 0
    expect(aci.level()).toBe(1);
    expect(aci.quantile()).toBe(Infinity);
    expect(new AdaptiveConformal({ coverage: 0.5, gamma: 1, scores: scores19, emptyQuantile: -Infinity })).toBeDefined();
  });

  // A drifting stream: calibration noise σ = 1, live noise σ rising to 3, ŷ = 0, |y| the score.
  function drift(h: number, seed: number): { aci: AdaptiveConformal; fixedMiss: number; minA: number; maxA: number; T: number } {
    const r = rng(seed);
    const calib = Array.from({ length: 500 }, () => Math.abs(r.n()));
    const aci = new AdaptiveConformal({ coverage: 0.9, gamma: 0.005, scores: calib });
    const fixed = conformalQuantile(calib, 0.9);
    const T = 20_000;
    const y = new Float64Array(T + h + 1);
    for (let t = 0; t < y.length; t++) y[t] = (1 + (2 * t) / T) * r.n();
    let fixedMisses = 0;
    let minA = Infinity;
    let maxA = -Infinity;
    for (let t = 0; t < T; t++) {
      aci.advance(t, (id) => (id + h <= t ? y[id] : undefined));
      minA = Math.min(minA, aci.alphaT);
      maxA = Math.max(maxA, aci.alphaT);
      const q = aci.quantile();
      aci.predict(t, t, t + h, -q, q);
      if (Math.abs(y[t]!) > fixed) fixedMisses++;
    }
    aci.advance(T + h, (id) => y[id]);
    return { aci, fixedMiss: fixedMisses / T, minA, maxA, T };
  }

  it.each([0, 3])('long-run miss rate tends to 1 − coverage under drift (label delay %i)', (h) => {
    const { aci, fixedMiss, minA, maxA, T } = drift(h, 11 + h);
    expect(fixedMiss).toBeGreaterThan(0.2); // the fixed split interval under-covers
    expect(aci.observed).toBe(T);
    const g = aci.gamma;
    // Gibbs & Candès, Prop. 4.1: mean err − α = (α_1 − α_{T+1}) / (γT) with α_t ∈ [−γ, 1 + γ], so
    // |mean err − α| ≤ (max(α_1, 1 − α_1) + γ) / (γT). A label delay of h leaves h + 1 outcomes in
    // flight, which widens the state bounds to γ(h + 1).
    const w = g * (h + 1);
    expect(Math.abs(aci.missed / T - 0.1)).toBeLessThanOrEqual((0.9 + w) / (g * T));
    expect(aci.missed / T - 0.1).toBeCloseTo((0.1 - aci.alphaT) / (g * T), 9);
    expect(minA).toBeGreaterThanOrEqual(-w);
    expect(maxA).toBeLessThanOrEqual(1 + w);
  });

  it('observes in (t1, id) order, drops unknown outcomes, refuses time going back', () => {
    const aci = new AdaptiveConformal({ coverage: 0.9, scores: scores19 });
    aci.predict(5, 0, 10, 0, 1);
    aci.predict(2, 0, 12, 0, 1);
    aci.predict(9, 1, 10, 0, 1);
    aci.predict(1, 2, 10, 0, 1);
    aci.predict(3, 3, 20, 0, 1);
    const seen: number[] = [];
    expect(aci.advance(12, (id) => (seen.push(id), id === 9 ? undefined : 0.5))).toBe(3);
    expect(seen).toEqual([1, 5, 9, 2]);
    expect(aci.dropped).toBe(1);
    expect(aci.pendingCount).toBe(1);
    expect(() => aci.advance(11, () => 0)).toThrow(RangeError);
    expect(() => aci.predict(4, 5, 4, 0, 1)).toThrow(RangeError);
  });

  it('never reads an outcome before its t1, so later outcomes leave earlier levels unchanged', () => {
    const event = fc.record({ delay: fc.integer({ min: 0, max: 6 }), y: fc.double({ min: -3, max: 3, noNaN: true }) });
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 60 }), fc.nat(), fc.array(event, { maxLength: 10 }), (events, cut, extra) => {
        const T = events.length;
        const J = cut % T;
        const run = (ys: (id: number) => number, extraToo: boolean): number[] => {
          const aci = new AdaptiveConformal({ coverage: 0.8, gamma: 0.05, scores: scores19 });
          // Extra intervals issued up front whose labels end after the cut.
          if (extraToo) extra.forEach((e, i) => aci.predict(1000 + i, 0, J + 1 + e.delay, -1, 1));
          const levels: number[] = [];
          for (let t = 0; t < T; t++) {
            aci.advance(t, (id) => {
              const t1 = id >= 1000 ? J + 1 + extra[id - 1000]!.delay : id + events[id]!.delay;
              expect(t1).toBeLessThanOrEqual(t);
              return ys(id);
            });
            levels.push(aci.level());
            const q = aci.quantile();
            aci.predict(t, t, t + events[t]!.delay, -q / 4, q / 4);
          }
          return levels;
        };
        const base = run((id) => events[id]!.y, false);
        // Outcomes whose labels end after step J differ, and extra later intervals exist.
        const other = run((id) => (id >= 1000 || id + events[id]!.delay > J ? 10 - (events[id]?.y ?? 0) : events[id]!.y), true);
        for (let t = 0; t <= J; t++) expect(Object.is(other[t], base[t])).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('continues bit for bit after snapshot / restore', () => {
    const r = rng(5);
    const calib = Array.from({ length: 200 }, () => Math.abs(r.n()));
    const ys = Float64Array.from({ length: 3000 }, (_, t) => (1 + t / 1000) * r.n());
    const step = (aci: AdaptiveConformal, t: number, trace: number[]): void => {
      aci.advance(t, (id) => ys[id]);
      trace.push(aci.alphaT, aci.quantile());
      const q = aci.quantile();
      aci.predict(t, t, t + (t % 7), -q, q);
    };
    const a = new AdaptiveConformal({ coverage: 0.9, gamma: 0.01, scores: calib });
    const trA: number[] = [];
    for (let t = 0; t < 1500; t++) step(a, t, trA);
    const snap = a.snapshot();
    expect(a.pendingCount).toBeGreaterThan(0);
    const b = AdaptiveConformal.restore(Float64Array.from(snap));
    expect(Buffer.from(b.snapshot().buffer).equals(Buffer.from(snap.buffer))).toBe(true);
    const trB: number[] = [];
    trA.length = 0;
    for (let t = 1500; t < 2990; t++) {
      step(a, t, trA);
      step(b, t, trB);
    }
    expect(Buffer.from(Float64Array.from(trB).buffer).equals(Buffer.from(Float64Array.from(trA).buffer))).toBe(true);
    expect(Buffer.from(b.snapshot().buffer).equals(Buffer.from(a.snapshot().buffer))).toBe(true);
    expect(() => AdaptiveConformal.restore(snap.subarray(0, snap.length - 1))).toThrow();
  });
});
