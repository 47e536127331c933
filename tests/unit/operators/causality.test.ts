import fc from 'fast-check';
import { concatMap, from, lastValueFrom, mergeMap, timer, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Bar } from '../../../src/bars/bar.js';
import { FeatureEngine } from '../../../src/operators/featureEngine.js';
import { loadFeatureSet } from '../../../src/operators/featureSet.js';
import { type BarEvent, featureRows } from '../../../src/operators/rx.js';
import { goldenInput } from '../../helpers/operatorFixtures.js';

const fs = loadFeatureSet();
const T0 = Date.UTC(2024, 2, 8, 17, 0); // a Friday, so gaps can cross a weekend and a DST change

/** Random-walk 1-minute bars with gaps (missing minutes, halts, weekends) and zero volumes. */
function arbSeries(symbol: string, maxLength = 300): fc.Arbitrary<Bar[]> {
  const step = fc.record({
    gap: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.integer({ min: 2, max: 20 }) }, fc.integer({ min: 21, max: 4000 })),
    ret: fc.double({ min: -0.004, max: 0.004, noNaN: true }),
    up: fc.double({ min: 0, max: 0.003, noNaN: true }),
    down: fc.double({ min: 0, max: 0.003, noNaN: true }),
    volume: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 500, noNaN: true })),
  });
  return fc.array(step, { minLength: 1, maxLength }).map((steps) => {
    let ts = T0;
    let close = 100;
    return steps.map((s) => {
      ts += s.gap * 60_000;
      const open = close;
      close = open * Math.exp(s.ret);
      return { symbol, ts, open, close, high: Math.max(open, close) * (1 + s.up), low: Math.min(open, close) * (1 - s.down), volume: s.volume };
    });
  });
}

/** Every row of a series, each copied out of the engine's buffer. */
function rowsOf(bars: Bar[], engine = new FeatureEngine(fs)): Float64Array[] {
  return bars.map((b) => {
    engine.update(b);
    return engine.row.slice();
  });
}

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

describe('causality and exact state (fast-check, generated and real series)', () => {
  it('(a) rows of a prefix equal the same rows of the whole series: no lookahead', () => {
    fc.assert(
      fc.property(arbSeries('X'), fc.nat(), (bars, cut) => {
        const k = cut % (bars.length + 1);
        expectSameRows(rowsOf(bars.slice(0, k)), rowsOf(bars).slice(0, k));
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
        // Replace everything after bar t with another series, shifted to start after it.
        const shift = bars[t]!.ts - other[0]!.ts + 60_000;
        const changed = [...bars.slice(0, t + 1), ...other.map((b) => ({ ...b, ts: b.ts + shift }))];
        expectSameRows(rowsOf(changed).slice(0, t + 1), rowsOf(bars).slice(0, t + 1));
      }),
      { numRuns: 60 },
    );
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
  });

  it('(d) snapshot at any point, restore into a new engine and continue: the same rows, bit for bit', () => {
    const check = (bars: Bar[], k: number) => {
      const whole = rowsOf(bars);
      const first = new FeatureEngine(fs);
      rowsOf(bars.slice(0, k), first);
      const restored = new FeatureEngine(fs);
      restored.restore(first.snapshot());
      if (k > 0) expect(Buffer.from(restored.row.buffer)).toEqual(Buffer.from(whole[k - 1]!.buffer));
      expectSameRows(rowsOf(bars.slice(k), restored), whole.slice(k));
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
  });

  it('refuses a snapshot of another feature set', () => {
    const engine = new FeatureEngine(fs);
    rowsOf(real.slice(0, 10), engine);
    const small = loadFeatureSet();
    const other = new FeatureEngine({ ...small, schemaHash: 'ffff'.repeat(16) });
    expect(() => other.restore(engine.snapshot())).toThrow(/another feature set/);
  });
});
