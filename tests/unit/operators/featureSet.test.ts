import { lastValueFrom, from, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Bar } from '../../../src/bars/bar.js';
import { FeatureEngine } from '../../../src/operators/featureEngine.js';
import { resolveFeatureSet } from '../../../src/operators/featureSet.js';
import { Ema } from '../../../src/operators/indicators/movingAverages.js';
import { type BarEvent, alignTimeframes, indicators, resample } from '../../../src/operators/rx.js';
import { goldenInput, readGolden } from '../../helpers/operatorFixtures.js';

const bars = goldenInput('ES').slice(0, 600);

describe('feature-set files', () => {
  it('refuses unknown keys, misspelt parameters, bad timeframes and anchors, duplicate columns', () => {
    const base = { name: 'x', version: 1, timeframes: ['1m'] };
    expect(() => resolveFeatureSet({ ...base, extra: 1 })).toThrow(/Unrecognized key/i);
    expect(() => resolveFeatureSet({ ...base, features: [{ name: 'r', kind: 'rsi', perod: 14 }] })).toThrow(/features\.0/);
    expect(() => resolveFeatureSet({ ...base, timeframes: ['7s'] })).toThrow(/invalid timeframe "7s"/);
    expect(() => resolveFeatureSet({ ...base, anchor: 'session:Nowhere/City@18:00' })).toThrow(/unknown time zone/);
    expect(() => resolveFeatureSet({ ...base, features: [{ name: 'close', kind: 'obv' }] })).toThrow(/column close_1m is defined twice/);
  });

  it('puts per-feature timeframes and forming views where asked, and the hash changes with the layout', () => {
    const fs = resolveFeatureSet({
      name: 'x',
      version: 1,
      timeframes: ['1m', '1h'],
      bar: ['close'],
      features: [{ name: 'rsi2', kind: 'rsi', period: 2, timeframes: ['1h'] }],
      forming: [{ field: 'close', timeframes: ['1h'] }],
    });
    expect(fs.columns.map((c) => c.name)).toEqual(['close_1m', 'close_1h', 'rsi2_1h', 'close_forming_1h']);
    expect(resolveFeatureSet({ name: 'x', version: 1, timeframes: ['1m', '1h'] }).schemaHash).not.toBe(fs.schemaHash);
  });

  it('the forming view is the bucket so far after the row bar, NaN once the bucket completed', () => {
    const fs = resolveFeatureSet({ name: 'x', version: 1, timeframes: ['1m', '15m'], bar: ['close'], forming: [{ field: 'close', timeframes: ['15m'] }] });
    expect(fs.columns.map((c) => c.name)).toEqual(['close_1m', 'close_15m', 'close_forming_15m']);
    const engine = new FeatureEngine(fs);
    const golden = readGolden('ES__utc-day__15m.csv');
    for (const bar of bars) {
      engine.update(bar);
      const bucket = golden.find((g) => g.ts <= bar.ts && bar.ts < g.end)!;
      const isFinalMinute = bar.ts + 60_000 === bucket.end;
      expect(Number.isNaN(engine.row[2]!)).toBe(isFinalMinute);
      if (!isFinalMinute) expect(engine.row[2]).toBe(bar.close);
    }
  });
});

describe('seeding option', () => {
  it("seed: first starts the EMA at the first value; it converges to TA-Lib's SMA seed", () => {
    const talib = new Ema(20, 'sma');
    const first = new Ema(20, 'first');
    const diffs: number[] = [];
    for (const b of bars) {
      const bar = { ...b, bars: 1 };
      talib.update(bar);
      first.update(bar);
      if (!Number.isNaN(talib.out[0]!)) diffs.push(Math.abs(talib.out[0]! - first.out[0]!));
    }
    expect(diffs[0]).toBeGreaterThan(0);
    expect(diffs.at(-1)!).toBeLessThan(diffs[0]! * 1e-6);
  });
});

describe('RxJS wrappers', () => {
  const events = bars as BarEvent[];

  it('resample emits the same complete bars as the golden series, with symbol and timeframe', async () => {
    const out = await lastValueFrom(from(events).pipe(resample('15m'), toArray()));
    const golden = readGolden('ES__utc-day__15m.csv').filter((g) => g.end <= bars.at(-1)!.ts + 60_000);
    expect(out.map(({ ts, close, bars: n }) => ({ ts, close, bars: n }))).toEqual(golden.map(({ ts, close, bars: n }) => ({ ts, close, bars: n })));
    expect(out[0]).toMatchObject({ symbol: 'ES', tf: '15m' });
  });

  it('a watermark closes a quiet bucket exactly as a later bar would', async () => {
    const cut: Bar[] = bars.slice(0, 7); // 7 minutes: the 5m bucket of minutes 5–9 is forming
    const last = cut.at(-1)!;
    const withWatermark = await lastValueFrom(from([...cut, { kind: 'watermark', symbol: 'ES', ts: last.ts + 4 * 60_000 } as BarEvent]).pipe(resample('5m'), toArray()));
    const withoutWatermark = await lastValueFrom(from(cut as BarEvent[]).pipe(resample('5m'), toArray()));
    expect(withoutWatermark.length + 1).toBe(withWatermark.length);
  });

  it('alignTimeframes gives the latest complete bar columns; indicators run specs over a bar series', async () => {
    const rows = await lastValueFrom(from(events).pipe(alignTimeframes(['1m', '1h']), toArray()));
    expect(rows.length).toBe(bars.length);
    const h = readGolden('ES__utc-day__1h.csv');
    const row = rows[300]!;
    const want = [...h].reverse().find((g) => g.end <= row.ts + 60_000)!;
    expect(row.values[5 + 3]).toBe(want.close); // close_1h
    const out = await lastValueFrom(from(h.map((g) => ({ ...g, symbol: 'ES' }))).pipe(indicators([{ name: 'rsi14', kind: 'rsi', period: 14, seed: 'sma' }]), toArray()));
    expect(out.map((o) => o.values[0])).toEqual(h.map((g) => g.features.rsi14));
  });
});
