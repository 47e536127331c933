import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  filterSequence,
  fitGaussianHmm,
  GaussianHmmParamsSchema,
  highVolatilityState,
  HmmFilter,
  type GaussianHmmParams,
} from '../../../src/training/regime/gaussianHmm.js';
import { gaussian, mulberry32 } from '../../helpers/random.js';

// tests/fixtures/regime/make_hmm_fixture.py (hmmlearn 0.3.3; the command is at its top)
interface Case {
  name: string;
  filter: { params: GaussianHmmParams; n: number; x: number[]; filtered: number[] };
  fit: { init: GaussianHmmParams; lengths: number[]; x: number[]; iterations: number; minVar: number; params: GaussianHmmParams; logLikelihood: number };
}
const fixture = JSON.parse(readFileSync('tests/fixtures/regime/hmm_fixture.json', 'utf8')) as { cases: Case[] };

function sameBits(a: Float64Array, b: Float64Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function paramBits(p: GaussianHmmParams): Float64Array {
  return Float64Array.from([...p.startProb, ...p.transmat.flat(), ...p.means.flat(), ...p.vars.flat()]);
}

/** The canonical order applied to a reference fit: ascending variance of dimension 0. */
function sortedByVar0(p: GaussianHmmParams): GaussianHmmParams {
  const o = Array.from({ length: p.states }, (_, k) => k).sort((a, b) => p.vars[a]![0]! - p.vars[b]![0]!);
  return { ...p, startProb: o.map((k) => p.startProb[k]!), transmat: o.map((i) => o.map((j) => p.transmat[i]![j]!)), means: o.map((k) => p.means[k]!), vars: o.map((k) => p.vars[k]!) };
}

/** Persistent low/high-volatility returns and a log-EWMA-of-squared-returns column; the true high-vol rows too. */
function regimeData(seed: number, n: number, vols = [0.5, 2.5]): { x: Float64Array; n: number; high: boolean[] } {
  const rand = mulberry32(seed);
  const x = new Float64Array(n * 2);
  const high: boolean[] = [];
  let s = 0;
  let ewma = 1;
  for (let t = 0; t < n; t++) {
    if (rand() < 0.01) s = 1 - s;
    const r = gaussian(rand) * vols[s]!;
    ewma = 0.8 * ewma + 0.2 * r * r;
    x[2 * t] = r;
    x[2 * t + 1] = Math.log(ewma) + 0.3 * gaussian(rand);
    high.push(s === 1);
  }
  return { x, n, high };
}

const [two, three] = fixture.cases as [Case, Case];

describe('forward filter against hmmlearn', () => {
  for (const c of fixture.cases) {
    it(`${c.name}: P(s_t | o_1..o_t) equals hmmlearn's normalised forward lattice within 1e-9 (extreme rows included)`, () => {
      expect(GaussianHmmParamsSchema.safeParse(c.filter.params).success).toBe(true);
      const p = filterSequence(c.filter.params, Float64Array.from(c.filter.x), c.filter.n);
      expect(p.length).toBe(c.filter.filtered.length);
      let worst = 0;
      p.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - c.filter.filtered[i]!))));
      expect(worst).toBeLessThan(1e-9);
    });
  }
});

describe('Baum–Welch against hmmlearn', () => {
  for (const c of fixture.cases) {
    it(`${c.name}: ${c.fit.iterations} EM iterations from the same start give hmmlearn's params within 1e-6`, () => {
      const { init, lengths } = c.fit;
      const all = Float64Array.from(c.fit.x);
      let at = 0;
      const sequences = lengths.map((n) => ({ x: all.subarray(at * init.dims, (at += n) * init.dims), n }));
      const fit = fitGaussianHmm(sequences, { states: init.states, dims: init.dims, seed: 1, init, maxIterations: c.fit.iterations, tolerance: -Infinity, minVar: c.fit.minVar });
      expect(fit.iterations).toBe(c.fit.iterations);
      const want = paramBits(sortedByVar0(c.fit.params));
      const got = paramBits(fit.params);
      got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-6));
      expect(Math.abs(fit.logLikelihood - c.fit.logLikelihood)).toBeLessThan(1e-6);
    });
  }
});

const observation = fc.oneof(fc.double({ min: -6, max: 6, noNaN: true }), fc.constant(Number.NaN), fc.double());
const rows = (max: number): fc.Arbitrary<number[]> => fc.array(fc.tuple(observation, observation), { maxLength: max }).map((r) => r.flat());

describe('causality', () => {
  it('the first k rows filtered alone are, bit for bit, those rows of the whole sequence filtered', () => {
    fc.assert(
      fc.property(fc.constantFrom(two.filter.params, three.filter.params), rows(80), fc.nat(), (params, flat, cut) => {
        const n = flat.length / 2;
        const k = n === 0 ? 0 : cut % (n + 1);
        const x = Float64Array.from(flat);
        const whole = filterSequence(params, x, n);
        const prefix = filterSequence(params, x.subarray(0, 2 * k), k);
        expect(sameBits(prefix, whole.subarray(0, k * params.states))).toBe(true);
        expect(whole.some(Number.isNaN)).toBe(false);
      }),
      { seed: 20240611, numRuns: 200 },
    );
  });

  it('appending arbitrary later rows never changes an earlier output', () => {
    const base = Float64Array.from(three.filter.x.slice(0, 2 * 150));
    const before = filterSequence(three.filter.params, base, 150);
    fc.assert(
      fc.property(rows(40), (later) => {
        const x = Float64Array.from([...base, ...later]);
        const after = filterSequence(three.filter.params, x, x.length / 2);
        expect(sameBits(after.subarray(0, before.length), before)).toBe(true);
      }),
      { seed: 7, numRuns: 200 },
    );
  });
});

describe('HmmFilter', () => {
  const params = three.filter.params;
  const x = Float64Array.from(three.filter.x);
  const n = three.filter.n;

  it('snapshot mid-sequence and restore continue bit-identically, and the snapshot round-trips', () => {
    const whole = filterSequence(params, x, n);
    const f = new HmmFilter(params);
    for (let t = 0; t < 317; t++) f.step(x, 2 * t);
    const snap = f.snapshot();
    const g = HmmFilter.restore(params, snap);
    expect(g.steps).toBe(317);
    expect(sameBits(g.snapshot(), snap)).toBe(true);
    for (let t = 317; t < n; t++) {
      const a = f.step(x, 2 * t).slice();
      const b = g.step(x, 2 * t);
      expect(sameBits(a, b)).toBe(true);
      expect(sameBits(b, whole.subarray(t * 3, t * 3 + 3))).toBe(true);
    }
    g.reset();
    expect(g.steps).toBe(0);
    expect(sameBits(g.step(x, 0), whole.subarray(0, 3))).toBe(true);
  });

  it('a NaN observation is a predict-only step: the prior propagated, never a NaN', () => {
    const f = new HmmFilter(params);
    expect(Array.from(f.step([Number.NaN, 1]))).toEqual(params.startProb.map((v) => expect.closeTo(v, 15)));
    for (let t = 0; t < 40; t++) f.step(x, 2 * t);
    for (const obs of [[Number.NaN, 0.3], [0.1, Number.NaN], [Number.NaN, Number.NaN]]) {
      const prev = Array.from(f.probabilities);
      const prior = params.transmat[0]!.map((_, j) => prev.reduce((s, p, i) => s + p * params.transmat[i]![j]!, 0));
      const got = f.step(obs);
      got.forEach((v, j) => expect(Math.abs(v - prior[j]!)).toBeLessThan(1e-15));
    }
    expect(f.steps).toBe(44);
    // no state explains these at all, or one does by a margin no linear-space division survives
    for (const obs of [[Infinity, 0], [-Infinity, Infinity], [1e308, -1e308], [1e200, 0], [-40, 3]]) {
      const got = f.step(obs);
      expect(got.some(Number.isNaN)).toBe(false);
      expect(Math.abs(got.reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-12);
    }
  });

  it('reads dims values at `at` and returns its one reused buffer', () => {
    const f = new HmmFilter(params);
    const a = f.step(Float64Array.from([9, 9, x[0]!, x[1]!]), 2);
    expect(f.step(x, 2)).toBe(a);
    expect(f.probabilities).toBe(a);
    expect(sameBits(new HmmFilter(params).step(x, 0), filterSequence(params, x.subarray(0, 2), 1))).toBe(true);
  });
});

describe('fitGaussianHmm', () => {
  const sequences = [regimeData(11, 3000), regimeData(12, 2500), regimeData(13, 4000)];

  it('is deterministic: the same input and seed give the same bits', () => {
    const a = fitGaussianHmm(sequences, { states: 3, dims: 2, seed: 5 });
    const b = fitGaussianHmm(sequences, { states: 3, dims: 2, seed: 5 });
    expect(sameBits(paramBits(a.params), paramBits(b.params))).toBe(true);
    expect(Object.is(a.logLikelihood, b.logLikelihood)).toBe(true);
    expect(a.iterations).toBe(b.iterations);
    expect(GaussianHmmParamsSchema.safeParse(a.params).success).toBe(true);
    // canonical order: variance of dimension 0 ascending, the last state the most volatile
    for (let k = 1; k < 3; k++) expect(a.params.vars[k]![0]!).toBeGreaterThanOrEqual(a.params.vars[k - 1]![0]!);
    expect(highVolatilityState(a.params)).toBe(2);
  });

  it('recovers the high-volatility regime of clearly two-regime data', () => {
    const fit = fitGaussianHmm(sequences, { states: 2, dims: 2, seed: 1 });
    expect(fit.iterations).toBeLessThan(100);
    expect(fit.params.vars[1]![0]! / fit.params.vars[0]![0]!).toBeGreaterThan(10);
    const hv = highVolatilityState(fit.params);
    const held = regimeData(99, 5000);
    const p = filterSequence(fit.params, held.x, held.n);
    let hits = 0;
    let highRows = 0;
    let lowHits = 0;
    held.high.forEach((h, t) => {
      if (h) {
        highRows++;
        if (p[t * 2 + hv]! > 0.8) hits++;
      } else if (p[t * 2 + hv]! < 0.2) lowHits++;
    });
    expect(highRows).toBeGreaterThan(500);
    expect(hits / highRows).toBeGreaterThan(0.85);
    expect(lowHits / (held.n - highRows)).toBeGreaterThan(0.85);
  });

  it('fits a 50k-row sequence without underflow (the scaled forward–backward)', () => {
    const long = regimeData(3, 50_000);
    const fit = fitGaussianHmm([long], { states: 2, dims: 2, seed: 2, maxIterations: 4, tolerance: -Infinity });
    expect(fit.iterations).toBe(4);
    expect(Number.isFinite(fit.logLikelihood)).toBe(true);
    expect(paramBits(fit.params).every(Number.isFinite)).toBe(true);
  });

  it('floors every variance at minVar', () => {
    const flat = { x: Float64Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? 0 : (i % 4) * 1e-4)), n: 200 };
    const fit = fitGaussianHmm([flat], { states: 2, dims: 2, seed: 3, minVar: 0.01 });
    expect(Math.min(...fit.params.vars.flat())).toBeGreaterThanOrEqual(0.01);
  });
});

describe('refusals', () => {
  it('a NaN in the fit input names the sequence and row', () => {
    const bad = regimeData(4, 50);
    bad.x[2 * 7 + 1] = Number.NaN;
    expect(() => fitGaussianHmm([regimeData(5, 50), bad], { states: 2, dims: 2, seed: 1 })).toThrow(/sequence 1 row 7 dimension 1 is NaN/);
    expect(() => fitGaussianHmm([{ x: new Float64Array(5), n: 3 }], { states: 2, dims: 2, seed: 1 })).toThrow(/sequence 0 has n = 3 and 5 values/);
  });

  it('a snapshot of another shape, of other params, or not a snapshot at all', () => {
    const snap3 = new HmmFilter(three.filter.params).snapshot();
    expect(() => HmmFilter.restore(two.filter.params, snap3)).toThrow(/snapshot is of a 3-state × 2-dim filter .* these params are 2 states × 2 dims/);
    const other = { ...three.filter.params, means: three.filter.params.means.map((r) => r.map((v) => v + 0.01)) };
    expect(() => HmmFilter.restore(other, snap3)).toThrow(/taken under other params/);
    expect(() => HmmFilter.restore(three.filter.params, new Float64Array(8))).toThrow(/not an HmmFilter snapshot/);
  });

  it('params that fail the schema, and params not in canonical order', () => {
    const p = two.filter.params;
    expect(() => new HmmFilter({ ...p, transmat: [[0.9, 0.2], p.transmat[1]!] })).toThrow(/transmat\.0: must sum to 1/);
    expect(() => new HmmFilter({ ...p, vars: [[0.4, 0], p.vars[1]!] })).toThrow(/vars\.0\.1: a variance must be > 0/);
    expect(() => new HmmFilter({ ...p, means: [[0]] })).toThrow(/means/);
    expect(() => highVolatilityState({ ...p, vars: [p.vars[1]!, p.vars[0]!] })).toThrow(/not in canonical order/);
  });
});
