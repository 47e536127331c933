import fc from 'fast-check';
import { concatMap, from, lastValueFrom, mergeMap, timer, toArray } from 'rxjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Bar } from '../../../src/bars/bar.js';
import { FeatureEngine } from '../../../src/operators/featureEngine.js';
import { type FeatureSet, loadFeatureSet, resolveFeatureSet } from '../../../src/operators/featureSet.js';
import { type BarEvent, featureRows, isWatermark } from '../../../src/operators/rx.js';
import { goldenInput } from '../../helpers/operatorFixtures.js';

const T0 = Date.UTC(2024, 2, 8, 17, 0); // a Friday, so gaps can cross a weekend and a DST change

/** The default set, and a session-anchored one with forming views and per-feature timeframes. */
const FEATURE_SETS = [
  ['default (utc-day)', loadFeatureSet()],
  [
    'session-anchored with forming views',
    resolveFeatureSet({
      name: 'session',
      version: 1,
      anchor: 'session:America/New_York@18:00',
      timeframes: ['1m', '25m', '45m', '1h'],
      features: [
        { name: 'rsi14', kind: 'rsi', period: 14 },
        { name: 'macdhist', kind: 'macd', output: 'hist', timeframes: ['25m', '1h'] },
        { name: 'retkurt20', kind: 'return_moments', period: 20, output: 'kurt' },
        { name: 'vwapdist20', kind: 'vwap', period: 20 },
        { name: 'ema9first', kind: 'ema', period: 9, seed: 'first' },
        { name: 'natr5first', kind: 'natr', period: 5, seed: 'first', timeframes: ['1m', '45m'] },
        { name: 'bbpctb10', kind: 'bbands', period: 10, output: 'percent_b' },
        { name: 'volz5', kind: 'volume_zscore', period: 5 },
      ],
      forming: [{ field: 'close', timeframes: ['25m', '1h'] }, { field: 'bars', timeframes: ['45m'] }],
    }),
  ],
] as const;

/**
 * Random-walk 1-minute bars with gaps (missing minutes, halts, weekends) and zero volumes, with a
 * watermark now and then (at a time after the bar it follows, as a quiet market would send).
 */
function arbSeries(symbol: string, maxLength = 300): fc.Arbitrary<Bar[]> {
  const step = fc.record({
    watermark: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 90 })),
    gap: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.integer({ min: 2, max: 20 }) }, fc.integer({ min: 21, max: 4000 })),
    ret: fc.double({ min: -0.004, max: 0.004, noNaN: true }),
    up: fc.double({ min: 0, max: 0.003, noNaN: true }),
    down: fc.double({ min: 0, max: 0.003, noNaN: true }),
    volume: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 500, noNaN: true })),
  });
  return fc.array(step, { minLength: 1, maxLength }).map((steps) => {
    let ts = T0;
    let close = 100;
    const events: BarEvent[] = [];
    for (const s of steps) {
      ts += s.gap * 60_000;
      const open = close;
      close = open * Math.exp(s.ret);
      events.push({ symbol, ts, open, close, high: Math.max(open, close) * (1 + s.up), low: Math.min(open, close) * (1 - s.down), volume: s.volume });
      // A watermark some minutes later (capped below at the next bar's open): it may close buckets.
      if (s.watermark > 0) events.push({ kind: 'watermark', symbol, ts: ts + s.watermark * 60_000 });
    }
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const next = events.slice(i + 1).find((x) => !isWatermark(x));
      if (isWatermark(e) && next !== undefined && e.ts > next.ts) e.ts = next.ts;
    }
    return events as Bar[];
  });
}

let fs: FeatureSet = FEATURE_SETS[0][1];

/** Every row of a series (a row per bar; watermarks update the engine only), copied out of the engine's buffer. */
function rowsOf(events: Bar[], engine = new FeatureEngine(fs)): Float64Array[] {
  const rows: Float64Array[] = [];
  for (const e of events as BarEvent[]) {
    if (isWatermark(e)) engine.watermark(e.ts);
    else {
      engine.update(e);
      rows.push(engine.row.slice());
    }
  }
  return rows;
}

/** How many bars (rows) the first k events hold. */
const barsIn = (events: Bar[], k: number) => (events.slice(0, k) as BarEvent[]).filter((e) => !isWatermark(e)).length;

/** Bit-for-bit equality of two lists of rows (NaN == NaN, -0 != 0). */
function expectSameRows(actual: Float64Array[], expected: Float64Array[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Buffer.compare(Buffer.from(actual[i]!.buffer), Buffer.from(expected[i]!.buffer)) !== 0) {
      const c = expected[i]!.findIndex((v, j) => !Object.is(v, actual[i]![j]));
      expect({ row: i, column: fs.columns[c]?.name, value: actual[i]![c] }).toEqual({ row: i, column: fs.columns[c]?.name, value: expected[i]![c] });
    }
  }
}

const real = goldenInput('ES').slice(0, 2500);

describe.each(FEATURE_SETS)('causality and exact state, %s feature set (fast-check, generated and real series)', (_name, featureSet) => {
  beforeAll(() => {
    fs = featureSet;
  });

  it('(a) rows of a prefix equal the same rows of the whole series: no lookahead', () => {
    fc.assert(
      fc.property(arbSeries('X'), fc.nat(), (bars, cut) => {
        const k = cut % (bars.length + 1);
        expectSameRows(rowsOf(bars.slice(0, k)), rowsOf(bars).slice(0, barsIn(bars, k)));
      }),
      { numRuns: 60 },
    );
    const whole = rowsOf(real);
    expectSameRows(rowsOf(real.slice(0, 1777)), whole.slice(0, 1777));
  });

  it('(b) changing any bar after t changes no row at or before t', () => {
    fc.assert(
      fc.property(arbSeries('X'), arbSeries('X'), fc.nat(), (bars, other, cut) => {
        const t = cut % bars.length;
        // Replace everything after event t with another series, shifted to start after it.
        const shift = Math.max(...bars.slice(0, t + 1).map((b) => b.ts)) - other[0]!.ts + 60_000;
        const changed = [...bars.slice(0, t + 1), ...other.map((b) => ({ ...b, ts: b.ts + shift }))];
        const n = barsIn(bars, t + 1);
        expectSameRows(rowsOf(changed).slice(0, n), rowsOf(bars).slice(0, n));
      }),
      { numRuns: 60 },
    );
    // Real data: the ES slice, with every bar after the 1,200th replaced by the BTC slice's.
    const btc = goldenInput('BTCUSDT');
    const shift = real[1199]!.ts - btc[0]!.ts + 60_000;
    const changed = [...real.slice(0, 1200), ...btc.slice(0, 800).map((b) => ({ ...b, symbol: 'ES', ts: b.ts + shift }))];
    expectSameRows(rowsOf(changed).slice(0, 1200), rowsOf(real).slice(0, 1200));
  });

  it('(c) feeding the bars in chunks of any size, delivered asynchronously, equals feeding them at once', async () => {
    await fc.assert(
      fc.asyncProperty(arbSeries('X', 150), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }), async (bars, sizes) => {
        const chunks: Bar[][] = [];
        for (let i = 0, j = 0; i < bars.length; j++) {
          const n = sizes[j % sizes.length]!;
          chunks.push(bars.slice(i, i + n));
          i += n;
        }
        const chunked = await lastValueFrom(
          from(chunks).pipe(
            concatMap((chunk) => timer(0).pipe(mergeMap(() => from(chunk as BarEvent[])))),
            featureRows(fs),
            toArray(),
          ),
        );
        expectSameRows(
          chunked.map((r) => r.values),
          rowsOf(bars),
        );
      }),
      { numRuns: 25 },
    );
    const realChunked = await lastValueFrom(
      from([real.slice(0, 7), real.slice(7, 1000), real.slice(1000)]).pipe(
        concatMap((chunk) => timer(0).pipe(mergeMap(() => from(chunk as BarEvent[])))),
        featureRows(fs),
        toArray(),
      ),
    );
    expectSameRows(
      realChunked.map((r) => r.values),
      rowsOf(real),
    );
  });

  it('(d) snapshot at any point, restore into a new engine and continue: the same rows, bit for bit', () => {
    const check = (bars: Bar[], k: number) => {
      const whole = rowsOf(bars);
      const first = new FeatureEngine(fs);
      rowsOf(bars.slice(0, k), first);
      const restored = new FeatureEngine(fs);
      restored.restore(first.snapshot());
      const n = barsIn(bars, k);
      if (n > 0 && !isWatermark(bars[k - 1] as BarEvent)) expect(Buffer.from(restored.row.buffer)).toEqual(Buffer.from(whole[n - 1]!.buffer));
      expectSameRows(rowsOf(bars.slice(k), restored), whole.slice(n));
    };
    fc.assert(
      fc.property(arbSeries('X'), fc.nat(), (bars, cut) => check(bars, cut % (bars.length + 1))),
      { numRuns: 60 },
    );
    for (const k of [0, 1, 20, 333, 1440, 2499]) check(real, k);
  });

  it('(e) interleaving several symbols equals running each alone', async () => {
    await fc.assert(
      fc.asyncProperty(arbSeries('A', 120), arbSeries('B', 120), arbSeries('C', 120), fc.array(fc.nat(2), { maxLength: 400 }), async (a, b, c, picks) => {
        const queues = [a, b, c].map((s) => [...s]);
        const merged: Bar[] = [];
        for (const p of picks) {
          const q = queues[p]!.length > 0 ? queues[p]! : queues.find((x) => x.length > 0);
          if (q) merged.push(q.shift()!);
        }
        for (const q of queues) merged.push(...q);
        const rows = await lastValueFrom(from(merged as BarEvent[]).pipe(featureRows(fs), toArray()));
        for (const [symbol, alone] of [['A', a], ['B', b], ['C', c]] as const) {
          expectSameRows(
            rows.filter((r) => r.symbol === symbol).map((r) => r.values),
            rowsOf(alone),
          );
        }
      }),
      { numRuns: 25 },
    );
    // Real data: ES and BTC interleaved minute by minute, as one topic would carry them.
    const btc = goldenInput('BTCUSDT').slice(0, 1500);
    const es = real.slice(0, 1500);
    const merged = [...btc, ...es].sort((x, y) => x.ts - y.ts || (x.symbol < y.symbol ? -1 : 1));
    const rows = await lastValueFrom(from(merged as BarEvent[]).pipe(featureRows(fs), toArray()));
    expectSameRows(rows.filter((r) => r.symbol === 'ES').map((r) => r.values), rowsOf(es));
    expectSameRows(rows.filter((r) => r.symbol === 'BTCUSDT').map((r) => r.values), rowsOf(btc));
  });

  it('refuses a snapshot of another feature set', () => {
    const engine = new FeatureEngine(fs);
    rowsOf(real.slice(0, 10), engine);
    const other = new FeatureEngine({ ...fs, schemaHash: 'ffff'.repeat(16) });
    expect(() => other.restore(engine.snapshot())).toThrow(/another feature set/);
  });
});
