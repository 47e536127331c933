import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Bar } from '../../src/bars/bar.js';
import { BarSchema } from '../../src/bars/barSchema.js';
import { BarValidator, checkBarValues } from '../../src/bars/validation.js';

const T0 = Date.UTC(2023, 2, 1);
const bar = (over: Partial<Bar> = {}): Bar => ({ symbol: 'BTCUSDT', ts: T0, open: 10, high: 12, low: 9, close: 11, volume: 5, ...over });

describe('checkBarValues', () => {
  it('accepts a valid bar, a flat bar, zero volume and negative prices', () => {
    expect(checkBarValues(bar())).toBeNull();
    expect(checkBarValues(bar({ open: 3, high: 3, low: 3, close: 3, volume: 0 }))).toBeNull();
    expect(checkBarValues(bar({ open: -37.6, high: -10, low: -40, close: -37 }))).toBeNull();
  });

  it.each<[string, Partial<Bar>]>([
    ['unknown_symbol_format', { symbol: 'BTC USDT' }],
    ['unknown_symbol_format', { symbol: '' }],
    ['non_finite', { close: Number.NaN }],
    ['non_finite', { volume: Number.POSITIVE_INFINITY }],
    ['ts_not_minute_aligned', { ts: T0 + 30_000 }],
    ['ts_not_minute_aligned', { ts: T0 + 0.5 }],
    ['high_below_low', { high: 8 }],
    ['open_outside_range', { open: 12.5 }],
    ['open_outside_range', { open: 8.9 }],
    ['close_outside_range', { close: 13 }],
    ['close_outside_range', { close: 8 }],
    ['negative_volume', { volume: -1 }],
  ])('%s for %j', (reason, over) => {
    expect(checkBarValues(bar(over))?.reason).toBe(reason);
  });
});

describe('BarValidator ordering', () => {
  it('tells identical duplicates from conflicting ones and from earlier bars', () => {
    const v = new BarValidator();
    expect(v.accept(bar())).toBeNull();
    expect(v.accept(bar())?.reason).toBe('duplicate');
    expect(v.accept(bar({ close: 10 }))?.reason).toBe('conflicting_duplicate');
    expect(v.accept(bar({ ts: T0 + 60_000 }))).toBeNull();
    expect(v.accept(bar({ ts: T0 }))?.reason).toBe('ts_not_increasing');
  });

  it('keeps each symbol separate', () => {
    const v = new BarValidator();
    expect(v.accept(bar({ ts: T0 + 60_000 }))).toBeNull();
    expect(v.accept(bar({ symbol: 'ES', ts: T0 }))).toBeNull();
    expect(v.stats().map((s) => [s.symbol, s.count])).toEqual([
      ['BTCUSDT', 1],
      ['ES', 1],
    ]);
  });

  it('does not let a rejected bar move the state', () => {
    const v = new BarValidator();
    v.accept(bar());
    expect(v.accept(bar({ ts: T0 + 120_000, high: 1 }))?.reason).toBe('high_below_low');
    expect(v.accept(bar({ ts: T0 + 60_000 }))).toBeNull();
  });

  it('accepts exactly a strictly increasing subsequence per symbol', () => {
    const arb = fc.array(fc.record({ symbol: fc.constantFrom('A', 'B'), minute: fc.integer({ min: 0, max: 30 }), close: fc.constantFrom(10, 11) }), {
      maxLength: 200,
    });
    fc.assert(
      fc.property(arb, (rows) => {
        const v = new BarValidator();
        const last = new Map<string, number>();
        for (const r of rows) {
          const b = bar({ symbol: r.symbol, ts: T0 + r.minute * 60_000, close: r.close });
          const violation = v.accept(b);
          const prev = last.get(r.symbol);
          expect(violation === null).toBe(prev === undefined || b.ts > prev);
          if (violation === null) last.set(r.symbol, b.ts);
        }
      }),
    );
  });
});

describe('BarSchema (zod, for bars handed over by library callers)', () => {
  it('accepts exactly what the rules accept, with the same reason code', () => {
    const value = fc.oneof(fc.double(), fc.constantFrom(10, 9, 12, 11, -1, 0));
    fc.assert(
      fc.property(value, value, value, value, value, fc.oneof(fc.constant(T0), fc.integer({ min: -1, max: 2 ** 45 })), (open, high, low, close, volume, ts) => {
        const candidate = bar({ open, high, low, close, volume, ts });
        const violation = checkBarValues(candidate);
        const parsed = BarSchema.safeParse(candidate);
        expect(parsed.success).toBe(violation === null);
        if (!parsed.success) expect((parsed.error.issues[0] as { params?: { reason?: string } }).params?.reason).toBe(violation?.reason);
      }),
      { numRuns: 2000 },
    );
  });
});
