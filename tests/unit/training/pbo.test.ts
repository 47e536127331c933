import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { readReturnsCsv, registerPbo } from '../../../src/cli/commands/pbo.js';
import { pbo, type ReturnsMatrix } from '../../../src/training/overfitting/index.js';
import { binomial, combinationsOf } from '../../../src/training/combinatorics.js';
import { FIXTURES } from '../../helpers/files.js';
import { testTempDir } from '../../helpers/tempDir.js';
import { runBarflow } from '../../helpers/cli.js';
import { gaussian, mulberry32 } from '../../helpers/random.js';
import { expectAllClose as expectAllCloseTo, expectClose } from '../../helpers/numbers.js';

// Known answers: the R package pbo 1.3.5 (scripts/fixtures/make_pbo_fixtures.R) and pypbo's
// rank/(N+1) variant (scripts/fixtures/make_dsr_fixtures.py), on the same committed matrices.
const DIR = resolve(FIXTURES, 'overfitting');
const json = (name: string) => JSON.parse(readFileSync(resolve(DIR, name), 'utf8'));
const num = (v: number | string) => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : (v as number));

/** The references write ±Infinity as text in JSON. */
const expectAllClose = (actual: ArrayLike<number>, expected: (number | string)[], what: string) => expectAllCloseTo(actual, expected.map(num), what);

/** R's signif(x, digits). */
const signif = (x: number, digits: number) => Number(x.toPrecision(digits));

/** The package's own regression, lm(Rn ~ Rbn): IS performance on OOS performance. */
function reverseFit(is: Float64Array, oos: Float64Array): { intercept: number; slope: number; adjR2: number } {
  const n = is.length;
  const mx = oos.reduce((a, b) => a + b, 0) / n;
  const my = is.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (oos[i]! - mx) ** 2;
    sxy += (oos[i]! - mx) * (is[i]! - my);
    syy += (is[i]! - my) ** 2;
  }
  const r2 = (sxy * sxy) / (sxx * syy);
  return { slope: sxy / sxx, intercept: my - (sxy / sxx) * mx, adjR2: 1 - ((1 - r2) * (n - 1)) / (n - 2) };
}

const R_CASES = ['noise', 'skill', 'ties_odd', 'student_t', 'sixteen'];

describe('PBO by CSCV against the R package pbo 1.3.5', () => {
  for (const name of R_CASES) {
    it(`${name}: PBO, logits, ranks, n*, pairs, degradation and probability of loss`, () => {
      const ref = json(`pbo_${name}.r.json`);
      const m = readReturnsCsv(resolve(DIR, ref.matrix));
      expect([m.rows, m.columns]).toEqual([ref.T, ref.N]);
      const r = pbo(m, { partitions: ref.S, riskFree: ref.rf, threshold: ref.threshold });

      expect(r.combinations).toBe(ref.combinations);
      expect(r.pbo).toBe(ref.phi);
      expect(r.probabilityOfLoss).toBe(ref.prob_loss_unrounded);
      expect(Array.from(r.chosen, (n) => n + 1)).toEqual(ref.n_star);
      expect(Array.from(r.oosRanks)).toEqual(ref.os_rank);
      expectAllClose(r.relativeRanks, ref.omega_bar, 'omega_bar');
      // The package replaces λ = +Inf (IS best is also OOS best) by inf_sub for its plots.
      expectAllClose(Array.from(r.logits, (l) => (l === Infinity ? ref.inf_sub : l)), ref.lambda, 'lambda');
      expectAllClose(r.isPerformance, ref.Rn, 'Rn');
      expectAllClose(r.oosPerformance, ref.Rbn, 'Rbn');

      const fit = ref.fits.oos_on_is;
      expectClose(r.degradation.slope, fit.slope, 'slope');
      expectClose(r.degradation.intercept, fit.intercept, 'intercept');
      expectClose(r.degradation.r2, fit.r_squared, 'r2');
      expectClose(r.degradation.adjustedR2, fit.adj_r_squared, 'adjusted r2');

      // What the package prints: lm(Rn ~ Rbn)'s coefficients rounded to 5 digits, the intercept
      // labelled `slope`, and the probability of loss to 3 digits.
      const rev = reverseFit(r.isPerformance, r.oosPerformance);
      expect(signif(rev.intercept, 5)).toBe(ref.slope);
      expect(signif(rev.slope, 5)).toBe(ref.intercept);
      expect(signif(rev.adjR2, 2)).toBe(ref.ar2);
      expect(signif(r.probabilityOfLoss, 3)).toBe(ref.below_threshold);

      if (ref.combos) expect(Array.from(combinationsOf(ref.S, ref.S / 2), (c) => Array.from(c, (b) => b + 1))).toEqual(ref.combos);
    });
  }

  it('S = 16 gives C(16, 8) = 12,870 combinations in combn order', () => {
    expect(binomial(16, 8)).toBe(12870);
    const all = Array.from(combinationsOf(16, 8));
    expect(all.length).toBe(12870);
    expect(Array.from(all[0]!)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(all[1]!)).toEqual([0, 1, 2, 3, 4, 5, 6, 8]);
    expect(Array.from(all.at(-1)!)).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
  });
});

describe('PBO with the paper convention rank/(N+1), against pypbo', () => {
  for (const [name, S] of [['noise', 8], ['ties_odd', 6], ['skill', 10], ['remainder', 8]] as const) {
    it(`${name}`, () => {
      const ref = json(`pbo_${name}.pypbo.json`);
      const m = readReturnsCsv(resolve(DIR, `pbo_${name}.csv`));
      const r = pbo(m, { partitions: S, rankDenominator: 'n+1', remainder: 'drop-first', threshold: ref.threshold });
      expect(r.rows).toBe(ref.T - (ref.T % S));
      expect(r.droppedRows).toBe(ref.T % S);
      expect(r.combinations).toBe(ref.combinations);
      expect(r.pbo).toBe(ref.pbo);
      expect(r.probabilityOfLoss).toBe(ref.prob_oos_loss);
      expect(Array.from(r.chosen)).toEqual(ref.rn);
      expect(Array.from(r.oosRanks)).toEqual(ref.rn_bar);
      expectAllClose(r.logits, ref.logits, 'logits');
      expectAllClose(r.isPerformance, ref.R_n_star, 'R_n_star');
      expectAllClose(r.oosPerformance, ref.R_bar_n_star, 'R_bar_n_star');
      expectClose(r.degradation.slope, ref.slope, 'slope');
      expectClose(r.degradation.intercept, ref.intercept, 'intercept');
      expectClose(r.degradation.r2, ref.r_squared, 'r2');
    });
  }

  it('the two conventions differ where the IS best lands exactly on the OOS median of an odd N', () => {
    const m = readReturnsCsv(resolve(DIR, 'pbo_ties_odd.csv'));
    expect(pbo(m, { partitions: 6 }).pbo).toBe(json('pbo_ties_odd.r.json').phi);
    expect(pbo(m, { partitions: 6, rankDenominator: 'n+1' }).pbo).toBe(json('pbo_ties_odd.pypbo.json').pbo);
  });
});

describe('PBO behaviour', () => {
  const noise = (rows: number, cols: number, seed: number): number[][] => {
    const u = mulberry32(seed);
    return Array.from({ length: rows }, () => Array.from({ length: cols }, () => gaussian(u) * 0.01));
  };

  it('takes number[][] and a row-major Float64Array alike', () => {
    const rows = noise(64, 5, 1);
    const flat: ReturnsMatrix = { values: Float64Array.from(rows.flat()), rows: 64, columns: 5 };
    expect(pbo(rows, { partitions: 8 })).toEqual(pbo(flat, { partitions: 8 }));
  });

  it('the merged block statistics equal a direct computation of the metric on each half', () => {
    const m = readReturnsCsv(resolve(DIR, 'pbo_student_t.csv'));
    const direct = (x: Float64Array) => {
      const mean = x.reduce((a, b) => a + b, 0) / x.length;
      const sd = Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / (x.length - 1));
      return mean / sd;
    };
    const viaBlocks = pbo(m, { partitions: 4 });
    const viaFunction = pbo(m, { partitions: 4, metric: direct });
    expect(viaFunction.pbo).toBe(viaBlocks.pbo);
    expectAllClose(viaFunction.isPerformance, Array.from(viaBlocks.isPerformance), 'IS');
    const mean = pbo(m, { partitions: 4, metric: 'mean' });
    const meanDirect = pbo(m, { partitions: 4, metric: (x) => x.reduce((a, b) => a + b, 0) / x.length });
    expectAllClose(mean.oosPerformance, Array.from(meanDirect.oosPerformance), 'mean OOS');
  });

  it('refuses bad input with a clear message', () => {
    const rows = noise(40, 3, 2);
    expect(() => pbo(rows, { partitions: 5 })).toThrow('partitions must be an even whole number');
    expect(() => pbo(rows, { partitions: 42 })).toThrow('partitions (42) exceed the number of periods (40)');
    expect(() => pbo(rows.map((r) => [r[0]!]), { partitions: 4 })).toThrow('at least 2 strategies');
    expect(() => pbo(rows, { partitions: 16 })).toThrow('40 periods do not split into 16 equal blocks: drop the first 8 periods');
    expect(pbo(rows, { partitions: 16, remainder: 'drop-first' }).droppedRows).toBe(8);
    const bad = rows.map((r) => [...r]);
    bad[6]![1] = Number.NaN;
    expect(() => pbo(bad, { partitions: 4 })).toThrow('row 7, column 2 is NaN');
    const named: ReturnsMatrix = { values: Float64Array.from(bad.flat()), rows: 40, columns: 3, names: ['a', 'b', 'c'] };
    expect(() => pbo(named, { partitions: 4 })).toThrow('row 7, column 2 (b) is NaN');
    expect(() => pbo([[1, 2], [3]], { partitions: 2 })).toThrow('row 2 has 1 values');
    const flat = rows.map((r) => [r[0]!, 0, r[2]!]);
    expect(() => pbo(flat, { partitions: 4 })).toThrow('the metric is NaN for column 2');
  });

  it('property: PBO is a fraction, invariant under a permutation of the strategies', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 2, max: 7 }), fc.constantFrom(2, 4, 6), (seed, cols, S) => {
        const rows = noise(S * 6, cols, seed);
        const r = pbo(rows, { partitions: S });
        expect(r.pbo).toBeGreaterThanOrEqual(0);
        expect(r.pbo).toBeLessThanOrEqual(1);
        const reversed = pbo(rows.map((row) => [...row].reverse()), { partitions: S });
        expect(reversed.pbo).toBe(r.pbo);
        expect(Array.from(reversed.chosen, (c) => cols - 1 - c)).toEqual(Array.from(r.chosen));
      }),
      { numRuns: 60 },
    );
  });

  it('pure noise gives a PBO near 1/2, one skilled strategy a PBO near 0', () => {
    const rows = noise(480, 20, 7);
    expect(Math.abs(pbo(rows, { partitions: 10 }).pbo - 0.5)).toBeLessThan(0.25);
    const skilled = rows.map((r) => r.map((v, c) => (c === 3 ? v + 0.004 : v)));
    expect(pbo(skilled, { partitions: 10 }).pbo).toBeLessThan(0.05);
  });
});

describe('returns CSV', () => {
  const write = (text: string) => {
    const file = join(testTempDir('pbo'), 'm.csv');
    writeFileSync(file, text);
    return file;
  };

  it('reads names, skips a ts index column, keeps every digit', () => {
    const m = readReturnsCsv(write('ts,a,"b,c"\r\n2024-01-01,0.1,-2.5e-3\r\n2024-01-02,0.30000000000000004,.5\r\n'));
    expect(m.names).toEqual(['a', 'b,c']);
    expect(m.index).toBe('ts');
    expect(Array.from(m.values)).toEqual([0.1, -2.5e-3, 0.30000000000000004, 0.5]);
  });

  it('names the file, line and column of a bad cell', () => {
    const bad = write('a,b\n0.1,0.2\n0.3,\n');
    expect(() => readReturnsCsv(bad)).toThrow(`${bad}:3, column 2 (b): empty cell`);
    expect(() => readReturnsCsv(write('a,b\n0.1,NaN\n'))).toThrow(':2, column 2 (b): "NaN" is not a finite decimal number');
    expect(() => readReturnsCsv(write('a,b\n0.1,0.2,0.3\n'))).toThrow(':2: 3 fields, the header has 2');
    expect(() => readReturnsCsv(write('a,a\n0.1,0.2\n'))).toThrow(':1, column 2: strategy name "a" repeats column 1');
    expect(() => readReturnsCsv(write('0.1,0.2\n0.3,0.4\n'))).toThrow('is a number; the first line must name the strategies');
    expect(() => readReturnsCsv('nope.csv')).toThrow('input file not found: nope.csv');
  });
});

describe('barflow pbo', () => {
  const ref = json('pbo_sixteen.r.json');
  const dsr = json('dsr_cases.json').matrices['pbo_sixteen.csv'];
  const file = resolve(DIR, 'pbo_sixteen.csv');

  function check(out: Record<string, any>): void {
    expect(out.combinations).toBe(12870);
    expect(out.partitions).toBe(16);
    expect(out.pbo).toBe(ref.phi);
    expect(out.probabilityOfLoss).toBe(ref.prob_loss_unrounded);
    expectClose(out.degradation.slope, ref.fits.oos_on_is.slope, 'slope');
    expect(out.bestStrategy.name).toBe(dsr.best_name);
    expectClose(out.bestStrategy.dsr, dsr.dsr_best, 'dsr');
    expectClose(out.bestStrategy.expectedMaxSharpe, dsr.sr0, 'sr0');
  }

  it('registerPbo: --json prints the reference PBO and DSR (in process)', async () => {
    const program = new Command('barflow').exitOverride();
    registerPbo(program);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await program.parseAsync(['node', 'barflow', 'pbo', '--input', file, '--json']);
      check(JSON.parse(String(log.mock.calls[0]![0])));
      await program.parseAsync(['node', 'barflow', 'pbo', '--input', file]);
      const text = String(log.mock.calls[1]![0]);
      expect(text).toContain('12870 combinations');
      expect(text).toContain(`PBO                   ${ref.phi.toFixed(4)}`);
      expect(text).toContain('deflated Sharpe       DSR');
    } finally {
      log.mockRestore();
    }
  });

  it('node bin/barflow.js pbo --input <fixture> --json (built CLI)', async () => {
    const { stdout } = await runBarflow(['pbo', '--input', file, '--json']);
    check(JSON.parse(stdout));
    const failed = await runBarflow(['pbo', '--input', resolve(DIR, 'pbo_remainder.csv'), '--partitions', '8']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('250 periods do not split into 8 equal blocks: drop the first 2 periods');
  });
});
