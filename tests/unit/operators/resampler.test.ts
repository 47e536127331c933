import { describe, expect, it } from 'vitest';
import type { Bar } from '../../../src/bars/bar.js';
import { parseAnchor } from '../../../src/operators/anchor.js';
import type { OhlcvBar } from '../../../src/operators/ohlcv.js';
import { Resampler } from '../../../src/operators/resampler.js';
import { timeframeMs } from '../../../src/operators/timeframe.js';
import { goldenInput, goldenSeries } from '../../helpers/operatorFixtures.js';

function resampleAll(bars: Bar[], tf: string, anchor: string): OhlcvBar[] {
  const out: OhlcvBar[] = [];
  const r = new Resampler(timeframeMs(tf), parseAnchor(anchor), (b) => out.push({ ...b }));
  for (const bar of bars) r.update(bar);
  return out;
}

describe('Resampler against the golden bars (scripts/fixtures/make_operator_fixtures.py)', () => {
  const series = goldenSeries().filter((s) => s.tf !== '1m');
  it.each(series.map((s) => [s.file, s] as const))('%s', (_file, s) => {
    const got = resampleAll(goldenInput(s.symbol), s.tf, s.anchor);
    const want = s.bars.map(({ ts, open, high, low, close, volume, bars }) => ({ ts, open, high, low, close, volume, bars }));
    expect(got.length).toBe(want.length);
    expect(got).toEqual(want);
  });
});

describe('Resampler rules', () => {
  const T0 = Date.UTC(2023, 0, 2, 10, 0);
  const bar = (minute: number, close = 10, volume = 1): Bar => ({ symbol: 'X', ts: T0 + minute * 60_000, open: 10, high: close + 1, low: close - 1, close, volume });

  it('completes a bucket on its final minute, or before the first bar of a later bucket', () => {
    const done: number[] = [];
    const r = new Resampler(timeframeMs('5m'), parseAnchor('utc-day'), (b) => done.push((b.ts - T0) / 60_000));
    r.update(bar(0));
    r.update(bar(4));
    expect(done).toEqual([0]); // final minute 10:04 arrived
    r.update(bar(6));
    expect(done).toEqual([0]); // 10:05 bucket still forming (10:09 not seen)
    r.update(bar(12));
    expect(done).toEqual([0, 5]); // a bar of the 10:10 bucket closes the 10:05 one first
  });

  it('makes no bar for an empty bucket and a short one at the end of a UTC day for 25m', () => {
    const out = resampleAll([bar(0), bar(30), bar(13 * 60 + 59)], '25m', 'utc-day');
    // 25m buckets restart at 00:00 UTC: 10:00 opens one (600 = 24 × 25), 10:30 is in 10:25 (so the
    // 10:50… buckets stay empty: no bar), and 23:59 is the final minute of the short 23:45–24:00
    // bucket, which completes it.
    expect(out.map((b) => [new Date(b.ts).toISOString().slice(11, 16), b.bars])).toEqual([
      ['10:00', 1],
      ['10:25', 1],
      ['23:45', 1],
    ]);
  });

  it('a watermark closes a quiet bucket; the forming view shows the bucket so far', () => {
    const done: OhlcvBar[] = [];
    const r = new Resampler(timeframeMs('15m'), parseAnchor('epoch'), (b) => done.push({ ...b }));
    r.update(bar(1, 10, 2));
    r.update(bar(2, 12, 3));
    expect(r.forming()).toMatchObject({ high: 13, low: 9, close: 12, volume: 5, bars: 2 });
    r.watermark(T0 + 14 * 60_000);
    expect(done).toEqual([]);
    r.watermark(T0 + 15 * 60_000);
    expect(done.map((b) => b.bars)).toEqual([2]);
    expect(r.forming()).toBeNull();
  });
});
