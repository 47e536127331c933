import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadFeatureSet, resolveFeatureSet } from '../../../src/operators/featureSet.js';
import { Atr, Bbands, Natr } from '../../../src/operators/indicators/trend.js';
import { VolumeZScore } from '../../../src/operators/indicators/windowed.js';
import type { OhlcvBar } from '../../../src/operators/ohlcv.js';
import { StateReader, StateWriter } from '../../../src/operators/state.js';
import { goldenInput } from '../../helpers/operatorFixtures.js';
import { isClose } from '../../helpers/numbers.js';

const ohlcv = (b: Partial<OhlcvBar>): OhlcvBar => ({ ts: 0, open: 100, high: 101, low: 99, close: 100, volume: 1, bars: 1, ...b });

/** Two-pass reference of the z-score of the last value of a window (population σ; 0 when flat). */
function zscore(w: number[]): number {
  if (w.every((v) => v === w[0])) return 0;
  const mean = w.reduce((a, b) => a + b, 0) / w.length;
  const variance = w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length;
  return (w.at(-1)! - mean) / Math.sqrt(variance);
}

/**
 * How far two correct double computations of a window's z-score may differ: a relative 1e-9, plus
 * the rounding of the window's values themselves (one ulp of the largest, |v|·ε) magnified by
 * 1/σ. That last part is the problem's conditioning, not either algorithm's: for [999999.942,
 * 999999.905] the true value is −1, the two-pass reference gives −1.0000000031 and the running
 * sums give −1.
 */
function zscoreTolerance(w: number[], want: number): number {
  const largest = Math.max(...w.map(Math.abs));
  const mean = w.reduce((a, b) => a + b, 0) / w.length;
  const sigma = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
  return 1e-9 * Math.abs(want) + (sigma > 0 ? (64 * Number.EPSILON * largest * Math.max(1, Math.abs(want))) / sigma : 0) + 1e-12;
}

const close = (a: number, b: number) => isClose(a, b, 1e-12, 1e-12);

/** A snapshot of one indicator, restored into a fresh one. */
function cloneByState<T extends { save(w: StateWriter): void; load(r: StateReader): void }>(from: T, to: T): number {
  const w = new StateWriter();
  from.save(w);
  const bytes = w.finish(7);
  const r = new StateReader(bytes, 7);
  to.load(r);
  r.end();
  return bytes.byteLength / 8 - 3;
}

describe('NATR', () => {
  it('is (ATR / close) · 100 of the same bar, exactly; 0 when the close is exactly 0; missing until the ATR is ready', () => {
    const natr = new Natr(3);
    const atr = new Atr(3);
    const closes = [100, 101, 99, 102, 0, 1e-300, 103, -0, 104];
    closes.forEach((c, i) => {
      const bar = ohlcv({ close: c, high: Math.max(c, 100) + 1, low: Math.min(c, 100) - 1 });
      natr.update(bar);
      atr.update(bar);
      const got = natr.out[0]!;
      if (i < 3) expect(Number.isNaN(got)).toBe(true);
      else if (c === 0) expect(Object.is(got, 0)).toBe(true); // +0 for −0 too, as TA-Lib writes 0.0
      else expect(got).toBe((atr.out[0]! / c) * 100);
    });
  });

  it('refuses period 1 (TA-Lib would return the raw true range, in price units)', () => {
    expect(() => resolveFeatureSet({ name: 'x', version: 1, timeframes: ['1m'], features: [{ name: 'n', kind: 'natr', period: 1 }] })).toThrow(/features\.0\.period/);
  });
});

describe('Bollinger %B', () => {
  it('is 0.5 when the bands coincide (flat closes), with width 0', () => {
    const b = new Bbands(5, 2);
    for (let i = 0; i < 8; i++) b.update(ohlcv({ close: 4321.25 }));
    expect(b.out[b.output('percent_b')]).toBe(0.5);
    expect(b.out[b.output('width')]).toBe(0);
  });

  it('keeps its snapshot layout (four outputs and the state, %B recomputed on restore, bit for bit)', () => {
    const bars = goldenInput('ES').slice(0, 300);
    const period = 20;
    for (const cut of [0, 5, 19, 20, 157]) {
      const a = new Bbands(period, 2);
      for (const bar of bars.slice(0, cut)) a.update({ ...bar, bars: 1 });
      const b = new Bbands(period, 2);
      const values = cloneByState(a, b);
      // outputs width, upper, middle, lower; the window (head, size, values); maTotal, shift, v1, v2, barsSinceReseed
      expect(values).toBe(4 + (2 + period) + 5);
      expect(Buffer.from(b.out.buffer)).toEqual(Buffer.from(a.out.buffer));
      for (const bar of bars.slice(cut)) {
        a.update({ ...bar, bars: 1 });
        b.update({ ...bar, bars: 1 });
      }
      expect(Buffer.from(b.out.buffer)).toEqual(Buffer.from(a.out.buffer));
    }
  });
});

describe('volume z-score', () => {
  it('is 0 for a flat window (zero volumes or any equal volumes), decided exactly', () => {
    const z = new VolumeZScore(4);
    const volumes = [0, 0, 0, 0, 0, 3, 3, 3, 3, 3, 0.1, 0.1, 0.1, 0.1];
    const out = volumes.map((v) => {
      z.update(ohlcv({ volume: v }));
      return z.out[0]!;
    });
    expect(out.slice(0, 3).every(Number.isNaN)).toBe(true);
    expect([out[3], out[4], out[8], out[9], out[13]]).toEqual([0, 0, 0, 0, 0]);
    for (const i of [5, 6, 7, 10, 11, 12]) expect(close(out[i]!, zscore(volumes.slice(i - 3, i + 1))), `bar ${i}`).toBe(true);
  });

  it('a spike leaving the window and jumps of the volume level leave no residue', () => {
    const z = new VolumeZScore(20);
    const volumes = [1e9, ...Array.from({ length: 45 }, (_, i) => 1e-3 * (1 + (i % 7) * 0.1)), ...Array.from({ length: 60 }, (_, i) => 5e4 + (i % 5))];
    volumes.forEach((v, i) => {
      z.update(ohlcv({ volume: v }));
      if (i >= 19) expect(close(z.out[0]!, zscore(volumes.slice(i - 19, i + 1))), `bar ${i}: ${z.out[0]} vs ${zscore(volumes.slice(i - 19, i + 1))}`).toBe(true);
    });
  });

  it('equals the two-pass reference on generated series, and a snapshot restored anywhere continues bit for bit', () => {
    // Volumes of 0 or at least 1e-9 (far above 1e-154, where σ² would underflow), flat stretches included.
    const volume = fc.oneof(fc.constant(0), fc.constant(7), fc.double({ min: 1e-9, max: 1e6, noNaN: true }), fc.double({ min: 1e-9, max: 1e-3, noNaN: true }));
    fc.assert(
      fc.property(fc.array(volume, { minLength: 1, maxLength: 200 }), fc.integer({ min: 2, max: 25 }), fc.nat(), (volumes, period, cut) => {
        const k = cut % (volumes.length + 1);
        const whole = new VolumeZScore(period);
        const first = new VolumeZScore(period);
        const outs: number[] = [];
        volumes.forEach((v, i) => {
          whole.update(ohlcv({ volume: v }));
          outs.push(whole.out[0]!);
          if (i < k) first.update(ohlcv({ volume: v }));
          if (i >= period - 1) {
            const window = volumes.slice(i - period + 1, i + 1);
            const want = zscore(window);
            expect(Math.abs(whole.out[0]! - want) <= zscoreTolerance(window, want), `bar ${i}: ${whole.out[0]} vs ${want}`).toBe(true);
          } else expect(Number.isNaN(whole.out[0]!)).toBe(true);
        });
        const restored = new VolumeZScore(period);
        cloneByState(first, restored);
        volumes.slice(k).forEach((v, j) => {
          restored.update(ohlcv({ volume: v }));
          expect(Object.is(restored.out[0], outs[k + j])).toBe(true);
        });
      }),
      // The first example: the window whose reference is less exact than the running sums.
      { numRuns: 200, examples: [[[999999.9421343241, 999999.9048747013, 7], 2, 0]] },
    );
  });
});

describe('column roles', () => {
  const base = { name: 'x', version: 1, timeframes: ['1m', '5m'] };

  it('every column of the default set has its role; levels are the bar fields, MACD and ATR', () => {
    const fs = loadFeatureSet();
    const levels = fs.columns.filter((c) => c.role === 'level').map((c) => c.name);
    expect(levels.filter((n) => n.endsWith('_1m'))).toEqual(['open_1m', 'high_1m', 'low_1m', 'close_1m', 'volume_1m', 'macdhist_1m', 'atr14_1m']);
    expect(levels).toHaveLength(9 * 7);
    expect(fs.columns.filter((c) => c.role === 'stationary')).toHaveLength(9 * 16);
    expect(fs.columns.find((c) => c.name === 'natr14_1h')!.role).toBe('stationary');
  });

  it("follows the kind and output when omitted, the bar field for bars and forming views; an explicit role wins", () => {
    const fs = resolveFeatureSet({
      ...base,
      bar: ['close', 'bars'],
      features: [
        { name: 'up', kind: 'bbands', output: 'upper' },
        { name: 'pb', kind: 'bbands', output: 'percent_b' },
        { name: 'vw', kind: 'vwap', period: 5, output: 'vwap' },
        { name: 'vd', kind: 'vwap', period: 5 },
        { name: 'sig', kind: 'macd', output: 'signal' },
        { name: 'ema9', kind: 'ema', period: 9, role: 'stationary' },
        { name: 'vz', kind: 'volume_zscore', period: 20, timeframes: ['5m'] },
      ],
      forming: [{ field: 'close', timeframes: ['5m'] }, { field: 'bars', timeframes: ['5m'] }],
    });
    expect(Object.fromEntries(fs.columns.map((c) => [c.name, c.role]))).toEqual({
      close_1m: 'level', bars_1m: 'stationary', up_1m: 'level', pb_1m: 'stationary', vw_1m: 'level', vd_1m: 'stationary', sig_1m: 'level', ema9_1m: 'stationary',
      close_5m: 'level', bars_5m: 'stationary', up_5m: 'level', pb_5m: 'stationary', vw_5m: 'level', vd_5m: 'stationary', sig_5m: 'level', ema9_5m: 'stationary', vz_5m: 'stationary',
      close_forming_5m: 'level', bars_forming_5m: 'stationary',
    });
    expect(() => resolveFeatureSet({ ...base, features: [{ name: 'r', kind: 'rsi', period: 14, role: 'trend' }] })).toThrow(/features\.0\.role/);
  });

  it('are not in the schema hash, nor in the spec an indicator is built from', () => {
    const features = [{ name: 'atr14', kind: 'atr', period: 14 }, { name: 'rsi14', kind: 'rsi', period: 14 }];
    const plain = resolveFeatureSet({ ...base, features });
    const declared = resolveFeatureSet({ ...base, features: features.map((f) => ({ ...f, role: 'stationary' })) });
    expect(declared.schemaHash).toBe(plain.schemaHash);
    expect(declared.columns.map((c) => c.role)).not.toEqual(plain.columns.map((c) => c.role));
    expect(declared.columns.map((c) => c.source)).toEqual(plain.columns.map((c) => c.source));
  });
});
