import { describe, expect, it } from 'vitest';
import type { FeatureSpec } from '../../../src/operators/featureSet.js';
import { createIndicator } from '../../../src/operators/indicators/registry.js';
import { goldenSeries } from '../../helpers/operatorFixtures.js';
import { isClose } from '../../helpers/numbers.js';

/**
 * The fixture columns (scripts/fixtures/make_operator_fixtures.py) and the spec computing each.
 * `talib`: compared bit for bit (TA-Lib's own arithmetic, or, for %B, one formula on its bands).
 */
const SPECS: Record<string, { spec: FeatureSpec; output?: string; talib: boolean }> = {
  ret1: { spec: { name: 'ret1', kind: 'log_return' }, talib: false },
  rsi14: { spec: { name: 'rsi14', kind: 'rsi', period: 14, seed: 'sma' }, talib: true },
  atr14: { spec: { name: 'atr14', kind: 'atr', period: 14, seed: 'sma' }, talib: true },
  natr14: { spec: { name: 'natr14', kind: 'natr', period: 14, seed: 'sma' }, talib: true },
  macdhist: { spec: { name: 'macdhist', kind: 'macd', fast: 12, slow: 26, signal: 9, seed: 'sma', output: 'hist' }, output: 'hist', talib: true },
  adx14: { spec: { name: 'adx14', kind: 'adx', period: 14 }, talib: true },
  bbwidth20: { spec: { name: 'bbwidth20', kind: 'bbands', period: 20, devs: 2, output: 'width' }, output: 'width', talib: true },
  bbpctb20: { spec: { name: 'bbpctb20', kind: 'bbands', period: 20, devs: 2, output: 'percent_b' }, output: 'percent_b', talib: true },
  stochk: { spec: { name: 'stochk', kind: 'stoch', fastk: 14, slowk: 3, slowd: 3, output: 'k' }, output: 'k', talib: true },
  obv: { spec: { name: 'obv', kind: 'obv' }, talib: true },
  sma20: { spec: { name: 'sma20', kind: 'sma', period: 20 }, talib: true },
  ema20: { spec: { name: 'ema20', kind: 'ema', period: 20, seed: 'sma' }, talib: true },
  park20: { spec: { name: 'park20', kind: 'parkinson', period: 20 }, talib: false },
  gk20: { spec: { name: 'gk20', kind: 'garman_klass', period: 20 }, talib: false },
  vwapdist20: { spec: { name: 'vwapdist20', kind: 'vwap', period: 20, output: 'distance' }, output: 'distance', talib: false },
  volratio20: { spec: { name: 'volratio20', kind: 'volume_ratio', period: 20 }, talib: false },
  volz20: { spec: { name: 'volz20', kind: 'volume_zscore', period: 20 }, talib: false },
  retmean20: { spec: { name: 'retmean20', kind: 'return_moments', period: 20, output: 'mean' }, output: 'mean', talib: false },
  retstd20: { spec: { name: 'retstd20', kind: 'return_moments', period: 20, output: 'std' }, output: 'std', talib: false },
  retskew20: { spec: { name: 'retskew20', kind: 'return_moments', period: 20, output: 'skew' }, output: 'skew', talib: false },
  retkurt20: { spec: { name: 'retkurt20', kind: 'return_moments', period: 20, output: 'kurt' }, output: 'kurt', talib: false },
};

/** Relative difference, with an absolute floor for values that are cancellation residue near 0. */
/** Formula families without a TA-Lib original: equal to their numpy reference within 1e-9 relative. */
const close = (a: number, b: number) => isClose(a, b, 1e-9, 1e-12);

describe('indicators against TA-Lib and the documented formulas, on every golden timeframe series', () => {
  const cases = goldenSeries().filter((s) => s.featureNames.length > 0);
  it.each(cases.map((s) => [s.file, s] as const))('%s', (_file, s) => {
    for (const name of s.featureNames) {
      const def = SPECS[name];
      expect(def, `no spec for fixture column ${name}`).toBeDefined();
      const ind = createIndicator(def!.spec);
      const k = def!.output ? ind.output(def!.output) : 0;
      s.bars.forEach((bar, i) => {
        ind.update(bar);
        const got = ind.out[k]!;
        const want = bar.features[name]!;
        const where = `${name} at bar ${i} (${new Date(bar.ts).toISOString()})`;
        if (Number.isNaN(want) || Number.isNaN(got)) expect(Number.isNaN(got), `${where}: got ${got}, want ${want}`).toBe(Number.isNaN(want));
        else if (def!.talib) expect(got, where).toBe(want); // TA-Lib's own arithmetic: bit for bit
        else expect(close(got, want), `${where}: got ${got}, want ${want}`).toBe(true);
      });
    }
  });
});
