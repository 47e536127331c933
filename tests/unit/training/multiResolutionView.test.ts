import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FeatureSet } from '../../../src/operators/featureSet.js';
import { timeframeMs } from '../../../src/operators/timeframe.js';
import { BAR_CHANNELS, type BarChannel, type FeatureTable, MultiResolutionView, WindowView, loadFeatureTable } from '../../../src/training/index.js';
import { defaultSet, sessionSet, twoSymbolFeatures } from './fixtures.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
const OHLCV = ['open', 'high', 'low', 'close', 'volume'] as const;

// BTCUSDT 2023-03-10 … 13 then ES 2023-09-24 … 10-09, once on the UTC-day anchor (all features)
// and once on the CME session anchor (bars only; the US DST change falls on 2023-03-12).
const cases: { name: string; set: FeatureSet; table?: FeatureTable }[] = [
  { name: 'utc-day', set: defaultSet },
  { name: 'session', set: sessionSet },
];

beforeAll(async () => {
  for (const c of cases) c.table = loadFeatureTable(await twoSymbolFeatures(c.set, `two-${c.name}`));
}, 180_000);

/** First row of the symbol with ts ≥ t, by binary search in the symbol's rows. */
function lowerBound(t: FeatureTable, sym: number, ts: number): number {
  let lo = t.symbolStart[sym]!;
  let hi = t.symbolStart[sym + 1]!;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t.ts[mid]! < ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

describe.each(cases)('MultiResolutionView ($name anchor)', { timeout: 120_000 }, (c) => {
  it("the latest bar of every timeframe is the row's own open_<tf> … volume_<tf>, bit for bit", () => {
    const t = c.table!;
    const view = new MultiResolutionView(t, c.set, { timeframes: c.set.timeframes, seqLen: 3, dtype: 'float64' });
    const valid = view.validRows();
    expect(valid.length).toBeGreaterThan(t.n / 2);
    const { data, shape } = view.batch(valid);
    const [n, T, L, C] = shape;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < T; k++) {
        for (let ch = 0; ch < C; ch++) {
          const got = data[((i * T + k) * L + L - 1) * C + ch]!;
          const want = t.column(`${OHLCV[ch]}_${c.set.timeframes[k]}`)[valid[i]!]!;
          if (!Object.is(got, want)) throw new Error(`row ${valid[i]} ${OHLCV[ch]}_${c.set.timeframes[k]}: ${got} ≠ ${want}`);
        }
      }
    }
    // Every row, valid or not: the latest bar of the row's own symbol, or none where the row has NaN.
    for (const tf of c.set.timeframes) {
      const bars = view.bars(tf);
      const close = t.column(`close_${tf}`);
      for (let row = 0; row < t.n; row++) {
        const b = view.latestBar(tf, row);
        const ofSymbol = b >= 0 && bars.symbolCodes[b] === t.symbolCodes[row];
        if (ofSymbol ? !Object.is(bars.channel('close')[b], close[row]) : !Number.isNaN(close[row]!)) throw new Error(`row ${row} ${tf}: latest bar ${b}`);
      }
    }
  });

  it('property: every bar of a window is of the row symbol, complete by the row, built from rows up to it', () => {
    const t = c.table!;
    const tfs = c.set.timeframes;
    const views = new Map<string, MultiResolutionView<'float32' | 'float64'>>();
    fc.assert(
      fc.property(
        fc.subarray(tfs, { minLength: 1 }),
        fc.integer({ min: 1, max: 24 }),
        fc.shuffledSubarray([...BAR_CHANNELS], { minLength: 1 }),
        fc.constantFrom('float32' as const, 'float64' as const),
        fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
        (timeframes, seqLen, channels, dtype, picks) => {
          const key = JSON.stringify([timeframes, seqLen, channels, dtype]);
          let view = views.get(key);
          if (view === undefined) views.set(key, (view = new MultiResolutionView(t, c.set, { timeframes, seqLen, channels: channels as BarChannel[], dtype })));
          const valid = view.validRows();
          if (valid.length === 0) return;
          const rows = picks.map((p) => valid[p % valid.length]!);
          const { data, shape } = view.batch(rows);
          const [, T, L, C] = shape;
          rows.forEach((row, i) => {
            const sym = t.symbolCodes[row]!;
            timeframes.forEach((tf, k) => {
              const bars = view.bars(tf);
              const last = view.latestBar(tf, row);
              for (let s = 0; s < L; s++) {
                const b = last - L + 1 + s;
                const where = `row ${row} ${tf} step ${s} (bar ${b})`;
                if (bars.symbolCodes[b] !== sym) throw new Error(`${where}: another symbol's bar`);
                // (a) causality: completed at or before the row, and ended by the row's availability time.
                const done = bars.completedAt[b]!;
                if (!(done <= row && t.ts[done]! <= t.ts[row]!)) throw new Error(`${where}: completed at row ${done}, after the row`);
                if (!(bars.end[b]! <= t.ts[row]! + MINUTE)) throw new Error(`${where}: ends ${bars.end[b]} after the row is available`);
                // Completed at its last minute or by the first bar of a later bucket, not earlier.
                if (!(t.ts[done]! + MINUTE >= bars.end[b]!)) throw new Error(`${where}: completed before its end`);
                if (done > t.symbolStart[sym]! && t.ts[done - 1]! + MINUTE >= bars.end[b]!) throw new Error(`${where}: completed late`);
                const span = bars.end[b]! - bars.ts[b]!;
                if (!(span > 0 && span <= timeframeMs(tf))) throw new Error(`${where}: bucket of ${span} ms`);
                if (c.name === 'utc-day' && bars.end[b] !== Math.min(bars.ts[b]! + timeframeMs(tf), (Math.floor(bars.ts[b]! / DAY) + 1) * DAY)) {
                  throw new Error(`${where}: end ${bars.end[b]} is not the UTC-day bucket end`);
                }
                if (s > 0 && !(bars.end[b - 1]! <= bars.ts[b]!)) throw new Error(`${where}: overlaps the previous bar`);
                // Rebuilt from the table's 1-minute rows in [open, end): all at or before the row.
                const from = lowerBound(t, sym, bars.ts[b]!);
                const to = lowerBound(t, sym, bars.end[b]!);
                if (!(to - 1 <= row && to > from)) throw new Error(`${where}: built from rows ${from} … ${to - 1}`);
                const o = t.column('open_1m')[from]!;
                const cl = t.column('close_1m')[to - 1]!;
                let h = Number.NEGATIVE_INFINITY;
                let lo = Number.POSITIVE_INFINITY;
                let v = 0;
                for (let r = from; r < to; r++) {
                  h = Math.max(h, t.column('high_1m')[r]!);
                  lo = Math.min(lo, t.column('low_1m')[r]!);
                  v += t.column('volume_1m')[r]!;
                }
                const expected: Record<BarChannel, number> = { open: o, high: h, low: lo, close: cl, volume: v, bars: to - from };
                channels.forEach((ch, j) => {
                  const want = dtype === 'float32' ? Math.fround(expected[ch]) : expected[ch];
                  const got = data[((i * T + k) * L + s) * C + j]!;
                  if (!Object.is(got, want)) throw new Error(`${where} ${ch}: ${got} ≠ ${want}`);
                });
              }
            });
          });
        },
      ),
      { numRuns: 80 },
    );
  });

  it('the 1m timeframe is the rows themselves: the same windows as a WindowView across gaps', () => {
    const t = c.table!;
    const mrv = new MultiResolutionView(t, c.set, { timeframes: ['1m'], seqLen: 30, dtype: 'float64' });
    const wv = new WindowView(t, { columns: OHLCV.map((f) => `${f}_1m`), seqLen: 30, allowGaps: true, dtype: 'float64' });
    const valid = mrv.validRows();
    expect(Array.from(valid)).toEqual(Array.from(wv.validRows()));
    const a = mrv.batch(valid).data;
    const b = wv.batch(valid).data;
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
  });

  it('a symbol starts with no bars: the first rows of the second symbol are not valid', () => {
    const t = c.table!;
    const esStart = t.symbolStart[1]!;
    const view = new MultiResolutionView(t, c.set, { timeframes: ['1m', '5m'], seqLen: 2 });
    expect(view.latestBar('5m', esStart)).toBe(view.latestBar('5m', esStart - 1));
    expect(view.isValid(esStart)).toBe(false);
    expect(() => view.batch([esStart + 1])).toThrow(new RegExp(`row ${esStart + 1} \\(ES 2023-09-24T22:01:00Z\\) has no multi-resolution window: only 0 complete 5m bars of ES by then, the window needs 2`));
  });
});

describe('MultiResolutionView on the session anchor', () => {
  it('cuts the last bucket of a session short, also on the 23-hour session of the DST change', () => {
    const [, session] = cases;
    const view = new MultiResolutionView(session!.table!, sessionSet, { timeframes: ['4h'], seqLen: 1 });
    const bars = view.bars('4h');
    const endOf = (iso: string) => {
      const i = Array.from(bars.ts).indexOf(Date.parse(iso));
      expect(i, iso).toBeGreaterThanOrEqual(0);
      return new Date(bars.end[i]!).toISOString();
    };
    // Sessions start at 18:00 New York: 23:00 UTC in winter time, 22:00 UTC after 2023-03-12.
    expect(endOf('2023-03-11T19:00:00Z')).toBe('2023-03-11T23:00:00.000Z');
    expect(endOf('2023-03-12T19:00:00Z')).toBe('2023-03-12T22:00:00.000Z');
    expect(endOf('2023-03-12T22:00:00Z')).toBe('2023-03-13T02:00:00.000Z');
  });
});

describe('MultiResolutionView errors', { timeout: 60_000 }, () => {
  it('names what is wrong', () => {
    const [utc, session] = cases;
    const t = utc!.table!;
    expect(() => new MultiResolutionView(t, sessionSet, { timeframes: ['5m'], seqLen: 2 })).toThrow(/computed with feature set schema .*, not session-bars's .*; pass the feature set the table was made with/);
    const partial = loadFeatureTable(t.path, { columns: ['close_1m', 'rsi14_5m'] });
    expect(() => new MultiResolutionView(partial, defaultSet, { timeframes: ['5m'], seqLen: 2 })).toThrow(
      /MultiResolutionView rebuilds bars from the 1-minute bar columns, and the table lacks open_1m, high_1m, low_1m, volume_1m/,
    );
    expect(() => new MultiResolutionView(t, defaultSet, { timeframes: ['5m'], seqLen: 2, channels: ['open', 'vwap' as BarChannel] })).toThrow(/unknown channel "vwap"/);
    expect(() => new MultiResolutionView(t, defaultSet, { timeframes: ['5m', '5m'], seqLen: 2 })).toThrow(/a timeframe is listed twice/);
    expect(() => new MultiResolutionView(t, defaultSet, { timeframes: ['7x'], seqLen: 2 })).toThrow(/invalid timeframe "7x"/);
    expect(() => new MultiResolutionView(t, defaultSet, { timeframes: ['5m'], seqLen: -1 })).toThrow(/seqLen must be a positive integer/);
    const view = new MultiResolutionView(session!.table!, sessionSet, { timeframes: ['1m', '5m', '1h'], seqLen: 3 });
    expect(() => view.batch([5])).toThrow(/row 5 \(BTCUSDT 2023-03-10T00:05:00Z\) has no multi-resolution window: only 1 complete 5m bars of BTCUSDT by then, the window needs 3/);
    expect(() => view.batch([0.5])).toThrow(/indices\[0\] is 0.5, not a row of the table/);
    expect(() => view.latestBar('5m', -1)).toThrow(/row -1 is not a row of the table/);
    expect(() => view.bars('15m')).toThrow(/timeframe 15m is not one of the view's \(1m, 5m, 1h\)/);
  });
});
