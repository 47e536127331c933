import { describe, expect, it } from 'vitest';
import { FeatureIlpEncoder, ILP_BINARY_DOUBLE, decodeFeatureIlp, escapeTag } from '../../src/streams/questdb/featureIlp.js';
import { mulberry32 } from '../helpers/random.js';

const COLUMNS = ['open_1m', 'rsi14_5m', 'retkurt20_1h', 'x'];
const SPECIAL = [Number.NaN, -0, 0, 5e-324, -1.7976931348623157e308, 0.1 + 0.2, 1e21, Number.POSITIVE_INFINITY];

function rows(n: number): { symbol: string; ts: number; values: Float64Array }[] {
  const u = mulberry32(42);
  // Values over forty orders of magnitude, both signs.
  const rnd = () => (u() - 0.5) * 10 ** (Math.floor(u() * 40) - 20);
  return Array.from({ length: n }, (_, i) => ({
    symbol: i % 3 === 0 ? 'BTCUSDT' : 'A B,C=D\\E',
    ts: 1_677_628_800_000 + i * 60_000,
    values: Float64Array.from(COLUMNS, (_, c) => (i * COLUMNS.length + c < SPECIAL.length ? SPECIAL[i * COLUMNS.length + c]! : rnd())),
  }));
}

describe('FeatureIlpEncoder', () => {
  it.each(['binary', 'text'] as const)('%s doubles decode back to the same bits, ts and symbol', (format) => {
    const input = rows(500);
    // A tiny first buffer: growth must keep what was written.
    const enc = new FeatureIlpEncoder('features', COLUMNS, format, 64);
    const shared = new Float64Array(COLUMNS.length);
    for (const r of input) {
      shared.set(r.values);
      enc.add(r.symbol, r.ts, shared);
    }
    expect(enc.rows).toBe(input.length);
    const buf = enc.take()!;
    expect(enc.bytes).toBe(0);
    expect(enc.take()).toBeNull();
    const lines = decodeFeatureIlp(buf);
    expect(lines.length).toBe(input.length);
    lines.forEach((line, i) => {
      const want = input[i]!;
      expect([line.table, line.symbol, line.ts]).toEqual(['features', want.symbol, want.ts]);
      COLUMNS.forEach((c, j) => {
        const x = want.values[j]!;
        // Text leaves NaN fields out (QuestDB stores NULL); binary sends NaN itself.
        if (format === 'text' && Number.isNaN(x)) expect(line.fields.has(c)).toBe(false);
        else expect(Object.is(line.fields.get(c), x), `${c} of row ${i}: ${line.fields.get(c)} vs ${x}`).toBe(true);
      });
    });
  });

  it('writes binary doubles as name==, type byte 16, float64 little-endian, and ms timestamps', () => {
    const enc = new FeatureIlpEncoder('t', ['a', 'b'], 'binary');
    enc.add('S', 1_677_628_800_000, Float64Array.of(1.5, Number.NaN));
    const buf = enc.take()!;
    const expected = Buffer.concat([
      Buffer.from('t,symbol=S a=='),
      Buffer.from([ILP_BINARY_DOUBLE]),
      Buffer.from(new Float64Array([1.5]).buffer),
      Buffer.from(',b=='),
      Buffer.from([ILP_BINARY_DOUBLE]),
      Buffer.from(new Float64Array([Number.NaN]).buffer),
      Buffer.from(' 1677628800000\n'),
    ]);
    expect(buf.equals(expected)).toBe(true);
  });

  it('text: −0 keeps its sign, a row of only NaN still has a field', () => {
    const enc = new FeatureIlpEncoder('t', ['a', 'b'], 'text');
    enc.add('S', -60_000, Float64Array.of(-0, Number.NaN));
    enc.add('S', 0, Float64Array.of(Number.NaN, Number.NaN));
    enc.add('S', 7, Float64Array.of(Number.NaN, 2));
    expect(enc.take()!.toString('latin1')).toBe('t,symbol=S a=-0.0 -60000\nt,symbol=S a=NaN 0\nt,symbol=S b=2 7\n');
  });

  it('refuses rows of the wrong shape without writing anything', () => {
    const enc = new FeatureIlpEncoder('t', ['a', 'b'], 'binary');
    expect(() => enc.add('S', 0, new Float64Array(3))).toThrow(/3 values, table t has 2 feature columns/);
    expect(() => enc.add('S', 1.5, new Float64Array(2))).toThrow(/not an integer epoch ms/);
    expect(() => enc.add('', 0, new Float64Array(2))).toThrow(/empty symbol/);
    expect(enc.bytes).toBe(0);
    expect(() => new FeatureIlpEncoder('t', ['a b'], 'binary')).toThrow(/not a plain identifier/);
    expect(() => new FeatureIlpEncoder('bad table', ['a'], 'binary')).toThrow(/invalid table name/);
  });

  it('escapes tag values as ILP wants', () => {
    expect(escapeTag('a b,c=d\\e\nf')).toBe('a\\ b\\,c\\=d\\\\e\\\nf');
  });
});
