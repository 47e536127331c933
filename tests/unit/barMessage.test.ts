import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Bar, barsEqual } from '../../src/bars/bar.js';
import { decodeBar, encodeBar } from '../../src/streams/kafka/barMessage.js';

const T0 = Date.UTC(2023, 2, 1);

describe('bar messages', () => {
  it('encodes the documented schema with fixed field order', () => {
    const bar: Bar = { symbol: 'BTCUSDT', ts: T0, open: 23140.48, high: 23150.77, low: 23128.52, close: 23142.31, volume: 9e-5 };
    expect(encodeBar(bar)).toBe('{"symbol":"BTCUSDT","ts":"2023-03-01T00:00:00Z","open":23140.48,"high":23150.77,"low":23128.52,"close":23142.31,"volume":0.00009}');
    expect(JSON.parse(encodeBar(bar))).toEqual({ ...bar, ts: '2023-03-01T00:00:00Z' });
  });

  it('decodes what it encodes, bit for bit, for any valid bar', () => {
    const price = fc.double({ min: -1e9, max: 1e9, noNaN: true });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60_000_000 }), price, price, price, price, fc.double({ min: 0, max: 1e12, noNaN: true }), (minute, a, b, c, d, volume) => {
        const [low, open, close, high] = [a, b, c, d].sort((x, y) => x - y);
        const bar: Bar = { symbol: 'ES', ts: minute * 60_000, open: open!, high: high!, low: low!, close: close!, volume };
        const decoded = decodeBar(Buffer.from(encodeBar(bar)));
        expect(decoded.violation).toBeNull();
        expect(barsEqual(decoded.bar!, bar)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts epoch-ms timestamps, offsets and decimal strings from other producers', () => {
    const r = decodeBar('{"symbol":"ES","ts":1677628800000,"open":"4365.00","high":"4367.5","low":4364.25,"close":4365.25,"volume":"1132","extra":1}');
    expect(r.bar).toEqual({ symbol: 'ES', ts: T0, open: 4365, high: 4367.5, low: 4364.25, close: 4365.25, volume: 1132 });
    expect(decodeBar('{"symbol":"ES","ts":"2023-02-28T19:00:00-05:00","open":1,"high":1,"low":1,"close":1,"volume":0}').bar?.ts).toBe(T0);
  });

  it.each([
    [null, 'malformed_record'],
    ['not json', 'malformed_record'],
    ['[1,2]', 'malformed_record'],
    ['{"symbol":"ES","ts":"2023-03-01T00:00:00Z","open":1,"high":1,"low":1,"close":1}', 'malformed_record'],
    ['{"symbol":"ES","ts":"2023-03-01 00:00:00","open":1,"high":1,"low":1,"close":1,"volume":1}', 'unparsable_field'],
    ['{"symbol":"ES","ts":"2023-03-01T00:00:00Z","open":"abc","high":1,"low":1,"close":1,"volume":1}', 'unparsable_field'],
    ['{"symbol":"ES","ts":"2023-03-01T00:00:00Z","open":"NaN","high":1,"low":1,"close":1,"volume":1}', 'non_finite'],
    ['{"symbol":"E S","ts":"2023-03-01T00:00:00Z","open":1,"high":1,"low":1,"close":1,"volume":1}', 'unknown_symbol_format'],
    ['{"symbol":"ES","ts":"2023-03-01T00:00:30Z","open":1,"high":1,"low":1,"close":1,"volume":1}', 'ts_not_minute_aligned'],
    ['{"symbol":"ES","ts":"2023-03-01T00:00:00Z","open":1,"high":1,"low":2,"close":1,"volume":1}', 'high_below_low'],
    ['{"symbol":"ES","ts":"2023-03-01T00:00:00Z","open":1,"high":2,"low":1,"close":1,"volume":-1}', 'negative_volume'],
  ])('%s → %s', (value, reason) => {
    expect(decodeBar(value).violation?.reason).toBe(reason);
  });
});
