import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classificationMetrics, rocAuc } from '../../../src/training/evaluation/classificationMetrics.js';
import { meanOf } from '../../../src/training/evaluation/metricMean.js';
import { binaryMacroF1, macroF1, multiclassMetrics } from '../../../src/training/evaluation/multiclassMetrics.js';
import { quantileMetrics } from '../../../src/training/evaluation/quantileMetrics.js';
import { averageRanks, regressionMetrics } from '../../../src/training/evaluation/regressionMetrics.js';

// Golden values from scikit-learn 1.7.2 / scipy 1.16.3; regenerate with the command at the top of
// tests/fixtures/metrics/make_objective_metrics.py. null in the fixture stands for NaN.
type Num = number | null;
interface Fixture {
  regression: { name: string; pred: Num[]; y: Num[]; expected: Record<string, Num> }[];
  multiclass: { name: string; k: number; probs: Num[]; y: Num[]; expected: Record<string, Num | Num[]> }[];
  binaryMacroF1: { p: number[]; y: number[]; expected: number };
  quantile: { name: string; levels: number[]; q: Num[]; y: Num[]; expected: Record<string, Num | Num[]> }[];
}
const fixture = JSON.parse(readFileSync('tests/fixtures/metrics/objective_metrics.json', 'utf8')) as Fixture;
const nan = (v: Num[]): number[] => v.map((x) => x ?? Number.NaN);

/**
 * Relative 1e-12 against the reference; values that are 0 in the reference (a width of 0, a
 * coverage of 0) get an absolute 1e-15 instead, where a relative bound means nothing.
 */
function expectClose(actual: number, expected: Num, what: string): void {
  if (expected === null) {
    expect(actual, what).toBeNaN();
    return;
  }
  const tol = expected === 0 ? 1e-15 : 1e-12 * Math.abs(expected);
  expect(Math.abs(actual - expected), `${what}: ${actual} vs reference ${expected}`).toBeLessThanOrEqual(tol);
}

function expectAllClose(actual: object, expected: Record<string, Num | Num[]>, what: string): void {
  const got = actual as Record<string, number | number[]>;
  for (const [name, want] of Object.entries(expected)) {
    if (Array.isArray(want)) {
      const g = got[name] as number[];
      expect(g.length, `${what} ${name}`).toBe(want.length);
      want.forEach((w, j) => expectClose(g[j]!, w, `${what} ${name}[${j}]`));
    } else expectClose(got[name] as number, want, `${what} ${name}`);
  }
}

describe('objective metrics against scikit-learn / scipy', () => {
  for (const c of fixture.regression) {
    it(`regression: ${c.name}`, () => expectAllClose(regressionMetrics(nan(c.pred), nan(c.y)), c.expected, c.name));
  }
  for (const c of fixture.multiclass) {
    it(`multiclass: ${c.name}`, () => expectAllClose(multiclassMetrics(Float64Array.from(nan(c.probs)), nan(c.y), c.k), c.expected, c.name));
  }
  it('binary macro F1 at 0.5', () => expectClose(binaryMacroF1(fixture.binaryMacroF1.p, fixture.binaryMacroF1.y), fixture.binaryMacroF1.expected, 'binaryMacroF1'));
  for (const c of fixture.quantile) {
    it(`quantile: ${c.name}`, () => expectAllClose(quantileMetrics(Float64Array.from(nan(c.q)), c.levels, nan(c.y)), c.expected, c.name));
  }
});

const runs = { seed: 20261204, numRuns: 60 };
// Values on a 0.01 grid: ties happen, and no subnormal makes a strictly increasing map collapse two values.
const value = fc.integer({ min: -10_000, max: 10_000 }).map((i) => i / 100);
const seriesPair = fc.integer({ min: 2, max: 40 }).chain((n) => fc.tuple(fc.array(value, { minLength: n, maxLength: n }), fc.array(value, { minLength: n, maxLength: n })));
const permutationOf = (n: number) => fc.shuffledSubarray(Array.from({ length: n }, (_, i) => i), { minLength: n, maxLength: n });

function expectSameMetrics(a: object, b: object): void {
  for (const [name, v] of Object.entries(a)) {
    const w = (b as Record<string, unknown>)[name];
    const pairs = Array.isArray(v) ? v.map((x, j) => [x, (w as number[])[j]!]) : [[v as number, w as number]];
    for (const [x, y] of pairs) {
      if (Number.isNaN(x)) expect(y, name).toBeNaN();
      else expect(Math.abs(x! - y!), name).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(x!)));
    }
  }
}

describe('regression metrics: invariants', () => {
  it('do not depend on the order of the rows', () => {
    fc.assert(
      fc.property(seriesPair.chain(([p, y]) => fc.tuple(fc.constant(p), fc.constant(y), permutationOf(y.length))), ([p, y, perm]) => {
        expectSameMetrics(regressionMetrics(p, y), regressionMetrics(perm.map((i) => p[i]!), perm.map((i) => y[i]!)));
      }),
      runs,
    );
  });
  it('perfect predictions give rmse 0, mae 0, r2 1, ic 1, direction 1', () => {
    fc.assert(
      fc.property(fc.uniqueArray(value.filter((v) => v !== 0), { minLength: 2, maxLength: 40 }), (y) => {
        expect(regressionMetrics(y, y)).toEqual({ n: y.length, skipped: 0, rmse: 0, mae: 0, r2: 1, directionalAccuracy: 1, ic: 1 });
      }),
      runs,
    );
  });
  it('ic sees only ranks: a strictly increasing map of the predictions leaves it unchanged', () => {
    fc.assert(
      fc.property(seriesPair, ([p, y]) => {
        expect(regressionMetrics(p.map((v) => Math.atan(v) * 3 + 1), y).ic).toBe(regressionMetrics(p, y).ic);
      }),
      runs,
    );
  });
  it('NaN rows are skipped and counted, and change nothing else', () => {
    const base = regressionMetrics([1, -2, 3, 0.5], [0.5, -1, 2, -0.5]);
    const withNaN = regressionMetrics([1, Number.NaN, -2, 3, 7, 0.5], [0.5, 4, -1, 2, Number.NaN, -0.5]);
    expect(withNaN).toEqual({ ...base, skipped: 2 });
  });
  it('with every row skipped, every metric is NaN and the rows are counted', () => {
    const N = Number.NaN;
    expect(regressionMetrics([N, 1], [1, N])).toEqual({ n: 0, skipped: 2, rmse: N, mae: N, r2: N, directionalAccuracy: N, ic: N });
    expect(multiclassMetrics([N, 0.5, 0.5], [N], 3)).toMatchObject({ n: 0, skipped: 1, logLoss: N, auc: N, classShares: [N, N, N] });
    expect(quantileMetrics([N, 1], [0.1, 0.9], [0])).toMatchObject({ n: 0, skipped: 1, coverage: N, pinball: [N, N], nominalCoverage: 0.8 });
  });
  it('average ranks share tied ranks', () => {
    expect(Array.from(averageRanks([3, 1, 3, 2, 3]))).toEqual([4, 1, 4, 2, 4]);
  });
  it('names a length mismatch', () => {
    expect(() => regressionMetrics([1, 2], [1])).toThrow(/2 predictions for 1 targets/);
  });
});

const k3Rows = fc.integer({ min: 3, max: 40 }).chain((n) =>
  fc.tuple(fc.array(fc.tuple(fc.double({ min: 0.01, max: 1, noNaN: true }), fc.double({ min: 0.01, max: 1, noNaN: true }), fc.double({ min: 0.01, max: 1, noNaN: true })), { minLength: n, maxLength: n }), fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n })),
);
const normalised = (rows: [number, number, number][]) => Float64Array.from(rows.flatMap((r) => r.map((v) => v / (r[0] + r[1] + r[2]))));

describe('multiclass metrics: invariants', () => {
  it('do not depend on the order of the rows; shares sum to 1; Brier in [0, 2]', () => {
    fc.assert(
      fc.property(k3Rows.chain(([w, y]) => fc.tuple(fc.constant(w), fc.constant(y), permutationOf(y.length))), ([w, y, perm]) => {
        const m = multiclassMetrics(normalised(w), y, 3);
        expectSameMetrics(m, multiclassMetrics(normalised(perm.map((i) => w[i]!)), perm.map((i) => y[i]!), 3));
        expect(m.classShares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
        expect(m.brier).toBeGreaterThanOrEqual(0);
        expect(m.brier).toBeLessThanOrEqual(2);
      }),
      runs,
    );
  });
  it('one-hot truth: accuracy 1, macro F1 1, Brier 0, AUC 1, log loss ε', () => {
    const y = [0, 1, 2, 2, 1, 0, 0];
    const m = multiclassMetrics(Float64Array.from(y.flatMap((t) => [0, 1, 2].map((c) => (c === t ? 1 : 0)))), y, 3);
    expect(m).toMatchObject({ n: 7, skipped: 0, accuracy: 1, macroF1: 1, brier: 0, auc: 1 });
    expect(m.logLoss).toBeCloseTo(-Math.log(1 - Number.EPSILON), 20);
  });
  // p on a 0.001 grid so that 1 − p keeps every order of p (near 0 or 1 it would round ties in).
  it('two classes agree with the binary metrics (AUC, log loss, twice the Brier score)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 999 }).map((i) => i / 1000), fc.integer({ min: 0, max: 1 })), { minLength: 2, maxLength: 40 }), (rows) => {
        const p = rows.map((r) => r[0]);
        const y = rows.map((r) => r[1]);
        const m = multiclassMetrics(Float64Array.from(p.flatMap((v) => [1 - v, v])), y, 2);
        const b = classificationMetrics(p, y);
        if (Number.isNaN(b.auc)) expect(m.auc).toBeNaN();
        else expect(m.auc).toBeCloseTo(rocAuc(p, y), 12);
        expect(m.logLoss).toBeCloseTo(b.logLoss, 10);
        expect(m.brier).toBeCloseTo(2 * b.brier, 12);
      }),
      runs,
    );
  });
  it('macro F1 counts a class neither present nor predicted as 0', () => {
    expect(macroF1([0, 2, 2], [0, 2, 2], 3)).toBeCloseTo(2 / 3, 15);
  });
  it('names a bad class index and a wrong matrix size', () => {
    expect(() => multiclassMetrics(new Float64Array(6), [0, 3], 3)).toThrow(/row 1 has class 3/);
    expect(() => multiclassMetrics(new Float64Array(5), [0, 1], 3)).toThrow(/5 probabilities for 2 rows × 3 classes/);
  });
});

const quantileRows = fc.integer({ min: 1, max: 40 }).chain((n) => fc.tuple(fc.array(fc.tuple(value, value, value), { minLength: n, maxLength: n }), fc.array(value, { minLength: n, maxLength: n })));
const levels = [0.1, 0.5, 0.9];

describe('quantile metrics: invariants', () => {
  it('do not depend on the order of the rows; sorting a row removes crossing but keeps the interval', () => {
    fc.assert(
      fc.property(quantileRows.chain(([q, y]) => fc.tuple(fc.constant(q), fc.constant(y), permutationOf(y.length))), ([q, y, perm]) => {
        const m = quantileMetrics(Float64Array.from(q.flat()), levels, y);
        expectSameMetrics(m, quantileMetrics(Float64Array.from(perm.flatMap((i) => q[i]!)), levels, perm.map((i) => y[i]!)));
        const sorted = quantileMetrics(Float64Array.from(q.flatMap((r) => [...r].sort((a, b) => a - b))), levels, y);
        expect(sorted.crossingShare).toBe(0);
        expect(sorted.coverage).toBe(m.coverage);
        expect(sorted.meanWidth).toBe(m.meanWidth);
        for (const l of m.pinball) expect(l).toBeGreaterThanOrEqual(0);
      }),
      runs,
    );
  });
  it('a huge interval covers everything', () => {
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 40 }), (y) => {
        const m = quantileMetrics(Float64Array.from(y.flatMap((v) => [-1e300, v, 1e300])), levels, y);
        expect(m.coverage).toBe(1);
        expect(m.crossingShare).toBe(0);
        expect(m.pinball[1]).toBe(0);
      }),
      runs,
    );
  });
  it('names levels that are not ascending and a wrong matrix size', () => {
    expect(() => quantileMetrics(new Float64Array(2), [0.9, 0.1], [0])).toThrow(/strictly ascending/);
    expect(() => quantileMetrics(new Float64Array(5), levels, [0, 1])).toThrow(/5 quantiles for 2 rows × 3 levels/);
  });
});

describe('meanOf: the fold mean', () => {
  it('averages numbers and arrays of numbers field by field; NaN stays NaN', () => {
    const folds = [
      { n: 10, auc: 0.6, shares: [0.2, 0.8], ic: Number.NaN },
      { n: 20, auc: 0.8, shares: [0.4, 0.6], ic: 0.1 },
    ];
    const m = meanOf(folds);
    expect(m.n).toBe(15);
    expect(m.auc).toBeCloseTo(0.7, 15);
    expect(m.shares[0]).toBeCloseTo(0.3, 15);
    expect(m.shares[1]).toBeCloseTo(0.7, 15);
    expect(m.ic).toBeNaN();
  });
  it('works on every metric type and rejects folds that do not match', () => {
    const q = quantileMetrics([0, 1, 2, 3], [0.25, 0.75], [0.5, 2.5]);
    expect(meanOf([q, q])).toEqual(q);
    expect(() => meanOf([])).toThrow(/no metrics/);
    expect(() => meanOf([{ a: 1 }, { b: 1 }])).toThrow(/fold 1 has no metric a/);
    expect(() => meanOf([{ a: [1] }, { a: [1, 2] }])).toThrow(/not an array of 1 numbers/);
  });
});
