import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readReturnsCsv } from '../../../src/cli/commands/pbo.js';
import {
  EULER_MASCHERONI,
  deflatedSharpe,
  deflatedSharpeOfBest,
  expectedMaxSharpe,
  expectedMaxStandardNormal,
  probabilisticSharpe,
  psrStatistic,
  returnMoments,
} from '../../../src/training/overfitting/index.js';
import { FIXTURES } from '../../helpers/files.js';
import { expectClose } from '../../helpers/numbers.js';

// Known answers: pypbo's psr / dsr / dsr_from_returns / expected_max and pandas' moments
// (scripts/fixtures/make_dsr_fixtures.py), including the DSR paper's numerical example.
const DIR = resolve(FIXTURES, 'overfitting');
const ref = JSON.parse(readFileSync(resolve(DIR, 'dsr_cases.json'), 'utf8'));

interface ScalarCase {
  name: string;
  sharpe: number;
  T: number;
  skew: number;
  kurtosis: number;
  N: number;
  sharpe_std: number;
  expected_max: number;
  sr0: number;
  dsr: number;
  psr0?: number;
  psr_target?: number;
  paper?: { sr0: number; dsr: number };
}

describe('PSR and DSR against pypbo', () => {
  for (const c of ref.scalar as ScalarCase[]) {
    it(`${c.name}`, () => {
      const base = { sharpe: c.sharpe, periods: c.T, skewness: c.skew, kurtosis: c.kurtosis };
      expectClose(expectedMaxStandardNormal(c.N), c.expected_max, 'E[max Z]');
      expectClose(expectedMaxSharpe(c.N, c.sharpe_std ** 2), c.sr0, 'SR0');
      const d = deflatedSharpe({ ...base, trials: c.N, trialSharpeVariance: c.sharpe_std ** 2 });
      expectClose(d.benchmark, c.sr0, 'SR0');
      expectClose(d.dsr, c.dsr, 'DSR');
      expect(d.dsr).toBe(probabilisticSharpe({ ...base, benchmark: d.benchmark }));
      if (c.psr0 !== undefined) expectClose(probabilisticSharpe(base), c.psr0, 'PSR(0)');
      if (c.psr_target !== undefined) expectClose(probabilisticSharpe({ ...base, benchmark: c.sharpe_std }), c.psr_target, 'PSR(SR*)');
    });
  }

  it("reproduces the DSR paper's numerical example (SR0 ≈ 0.1132, DSR ≈ 0.9004)", () => {
    // Annualised SR 2.5 over T = 1250 daily returns, N = 100 trials with annualised V[SR] = 1/2,
    // skewness −3, kurtosis 10: in per-day units SR = 2.5/√250 and V = 0.5/250.
    const d = deflatedSharpe({ sharpe: 2.5 / Math.sqrt(250), periods: 1250, skewness: -3, kurtosis: 10, trials: 100, trialSharpeVariance: 0.5 / 250 });
    expect(d.benchmark.toFixed(4)).toBe('0.1132');
    expect(d.dsr.toFixed(4)).toBe('0.9004');
  });
});

interface MatrixCase {
  T: number;
  N: number;
  risk_free: number;
  sharpe: number[];
  skew: number[];
  kurtosis: number[];
  psr0: number[];
  best: number;
  best_name: string;
  sharpe_std: number;
  expected_max: number;
  sr0: number;
  dsr_best: number;
}

describe('moments and DSR of the best column against pandas and pypbo', () => {
  for (const [key, c] of Object.entries(ref.matrices as Record<string, MatrixCase>)) {
    it(`${key}`, () => {
      const m = readReturnsCsv(resolve(DIR, key.split('#')[0]!));
      expect([m.rows, m.columns]).toEqual([c.T, c.N]);
      const column = new Float64Array(m.rows);
      for (let j = 0; j < m.columns; j++) {
        for (let t = 0; t < m.rows; t++) column[t] = m.values[t * m.columns + j]!;
        const mo = returnMoments(column, c.risk_free);
        expectClose(mo.sharpe, c.sharpe[j]!, `sharpe[${j}]`);
        // pypbo takes skewness and kurtosis of the raw returns (risk-free not subtracted): the same
        // centred moments up to rounding.
        expectClose(mo.skewness, c.skew[j]!, `skew[${j}]`);
        expectClose(mo.kurtosis, c.kurtosis[j]!, `kurtosis[${j}]`, 1e-12);
        expectClose(probabilisticSharpe({ sharpe: mo.sharpe, periods: m.rows, skewness: mo.skewness, kurtosis: mo.kurtosis }), c.psr0[j]!, `psr0[${j}]`);
      }
      const best = deflatedSharpeOfBest(m, { riskFree: c.risk_free });
      expect(best.column).toBe(c.best);
      expect(best.name).toBe(c.best_name);
      expect(best.trials).toBe(c.N);
      expectClose(Math.sqrt(best.trialSharpeVariance), c.sharpe_std, 'sharpe std');
      expectClose(best.benchmark, c.sr0, 'SR0');
      expectClose(best.dsr, c.dsr_best, 'DSR');
    });
  }
});

describe('deflated Sharpe behaviour', () => {
  it('uses the Euler–Mascheroni constant', () => {
    expect(EULER_MASCHERONI).toBe(0.5772156649015329);
  });

  it('deflates more as the number of trials grows, and PSR(0) ≥ DSR for a positive SR0', () => {
    const base = { sharpe: 0.1, periods: 500, skewness: -0.5, kurtosis: 6, trialSharpeVariance: 0.002 };
    let previous = 1;
    for (const trials of [2, 5, 10, 100, 1000, 100000]) {
      const d = deflatedSharpe({ ...base, trials }).dsr;
      expect(d).toBeLessThan(previous);
      previous = d;
    }
    expect(probabilisticSharpe(base)).toBeGreaterThan(deflatedSharpe({ ...base, trials: 10 }).dsr);
    expect(deflatedSharpe({ ...base, trials: 10, trialSharpeVariance: 0 }).dsr).toBe(probabilisticSharpe(base));
  });

  it('matches the closed form for normal returns (skewness 0, kurtosis 3)', () => {
    const z = psrStatistic({ sharpe: 0.1, periods: 101, skewness: 0, kurtosis: 3 });
    expect(z).toBeCloseTo((0.1 * 10) / Math.sqrt(1 + 0.1 ** 2 / 2), 14);
  });

  it('refuses what has no meaning, with the reason', () => {
    expect(() => expectedMaxStandardNormal(1)).toThrow('trials must be a whole number ≥ 2');
    expect(() => expectedMaxSharpe(10, -1)).toThrow('must be finite and ≥ 0');
    expect(() => probabilisticSharpe({ sharpe: 2, periods: 100, skewness: 3, kurtosis: 0 })).toThrow('is not positive');
    expect(() => probabilisticSharpe({ sharpe: 0.1, periods: 1, skewness: 0, kurtosis: 3 })).toThrow('periods must be a whole number ≥ 2');
    expect(() => probabilisticSharpe({ sharpe: Number.NaN, periods: 10, skewness: 0, kurtosis: 3 })).toThrow('sharpe must be finite');
    expect(() => returnMoments([0.1, 0.2, 0.3])).toThrow('at least 4 returns');
    expect(() => returnMoments([0.1, 0.1, 0.1, 0.1])).toThrow('the returns are constant');
    expect(() => deflatedSharpeOfBest([[0.1], [0.2], [0.3], [0.4]])).toThrow('at least 2 columns');
    expect(() => deflatedSharpeOfBest({ values: Float64Array.from([0.1, 1, 0.2, 1, 0.3, 1, 0.4, 1]), rows: 4, columns: 2, names: ['a', 'flat'] })).toThrow(
      'column 2 (flat): the returns are constant',
    );
  });
});
