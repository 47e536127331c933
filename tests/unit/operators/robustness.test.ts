import { describe, expect, it } from 'vitest';
import type { Bar } from '../../../src/bars/bar.js';
import { parseAnchor } from '../../../src/operators/anchor.js';
import { FeatureEngine } from '../../../src/operators/featureEngine.js';
import { loadFeatureSet, resolveFeatureSet } from '../../../src/operators/featureSet.js';
import { RollingSum } from '../../../src/operators/indicators/indicator.js';
import { Parkinson, ReturnMoments, VolumeRatio } from '../../../src/operators/indicators/windowed.js';
import type { OhlcvBar } from '../../../src/operators/ohlcv.js';
import { OutOfOrderBarError, Resampler } from '../../../src/operators/resampler.js';

const T0 = Date.UTC(2024, 0, 2, 10, 0);
const bar = (minute: number, close = 100, volume = 1): Bar => ({ symbol: 'X', ts: T0 + minute * 60_000, open: close, high: close + 1, low: close - 1, close, volume });
const ohlcv = (b: Partial<OhlcvBar>): OhlcvBar => ({ ts: 0, open: 100, high: 101, low: 99, close: 100, volume: 1, bars: 1, ...b });

describe('operators refuse bars out of order instead of folding them into closed buckets', () => {
  it('FeatureEngine: a duplicate, an earlier bar, and a bar after a watermark past it', () => {
    const engine = new FeatureEngine(loadFeatureSet());
    engine.update(bar(0));
    engine.update(bar(2));
    expect(() => engine.update(bar(2))).toThrow(OutOfOrderBarError);
    expect(() => engine.update(bar(1))).toThrow(/is not after the previous bar/);
    engine.watermark(T0 + 5 * 60_000);
    expect(() => engine.update(bar(3))).toThrow(/arrives after a watermark/);
    engine.update(bar(5));
  });

  it('Resampler: the same rules, kept across a snapshot', () => {
    const r = new Resampler(5 * 60_000, parseAnchor('utc-day'), () => undefined);
    r.update(bar(0));
    r.watermark(T0 + 4 * 60_000);
    expect(() => r.update(bar(3))).toThrow(OutOfOrderBarError);
    const engine = new FeatureEngine(loadFeatureSet());
    engine.update(bar(0));
    const restored = new FeatureEngine(loadFeatureSet());
    restored.restore(engine.snapshot());
    expect(() => restored.update(bar(0))).toThrow(OutOfOrderBarError);
  });

  it('a watermark inside the final minute closes the bucket: that bar can no longer come', () => {
    const done: number[] = [];
    const r = new Resampler(5 * 60_000, parseAnchor('utc-day'), (b) => done.push(b.bars));
    r.update(bar(0));
    r.update(bar(1));
    r.watermark(T0 + 4 * 60_000); // the 10:04 bar may still come
    expect(done).toEqual([]);
    r.watermark(T0 + 4 * 60_000 + 30_000); // every bar opening before 10:04:30 is in
    expect(done).toEqual([2]);
  });
});

describe('windowed sums stay exact', () => {
  it('a spike leaving the window leaves no residue (compensated, re-summed)', () => {
    const sum = new RollingSum(20);
    const ratio = new VolumeRatio(20);
    const values = [1e6, ...Array.from({ length: 45 }, (_, i) => 1e-3 * (1 + (i % 7) * 0.1))];
    values.forEach((v, i) => {
      sum.push(v);
      ratio.update(ohlcv({ volume: v }));
      if (i >= 19) {
        const window = values.slice(i - 19, i + 1);
        const exact = window.reduce((a, b) => a + b, 0);
        expect(Math.abs(sum.sum - exact) / exact).toBeLessThan(1e-12);
        expect(Math.abs(ratio.out[0]! - v / (exact / 20)) / ratio.out[0]!).toBeLessThan(1e-12);
      }
    });
  });

  it('a non-positive low makes Parkinson missing while it is in the window, then it recovers', () => {
    const p = new Parkinson(3);
    const out = [ohlcv({}), ohlcv({ low: -1 }), ohlcv({}), ohlcv({}), ohlcv({}), ohlcv({})].map((b) => {
      p.update(b);
      return p.out[0]!;
    });
    expect(out.map(Number.isNaN)).toEqual([true, true, true, true, false, false]);
  });

  it('return moments are missing while a missing return (non-positive close) is in the window', () => {
    const m = new ReturnMoments(4);
    const closes = [100, 101, 102, 101, 100, -5, 100, 101, 102, 103, 104, 105];
    const std = closes.map((close) => {
      m.update(ohlcv({ close, open: close, high: close + 1, low: Math.min(close, 0) - 1 }));
      return m.out[1]!;
    });
    // returns: bar 0 none; bars 5 and 6 none (to and from −5); the window of 4 is complete at 4 and from 10.
    expect(std.map((v) => !Number.isNaN(v))).toEqual([false, false, false, false, true, false, false, false, false, false, true, true]);
  });
});

describe('feature-set validation', () => {
  const base = { name: 'x', version: 1, timeframes: ['1m', '5m'] };
  it('refuses timeframes outside the set, forming views of 1m bars, and periods TA-Lib refuses', () => {
    expect(() => resolveFeatureSet({ ...base, features: [{ name: 'r', kind: 'rsi', period: 14, timeframes: ['1h'] }] })).toThrow(/1h is not one of the set's timeframes/);
    expect(() => resolveFeatureSet({ ...base, forming: [{ field: 'close', timeframes: ['1m'] }] })).toThrow(/no forming view/);
    expect(() => resolveFeatureSet({ ...base, forming: [{ field: 'close', timeframes: ['15m'] }] })).toThrow(/15m is not one of the set's timeframes/);
    expect(() => resolveFeatureSet({ ...base, features: [{ name: 'r', kind: 'rsi', period: 1 }] })).toThrow(/features\.0\.period/);
  });
});
