import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Bar, formatTs } from '../../src/bars/bar.js';
import { StrictRejectError } from '../../src/bars/rejects.js';
import { CsvBarReader } from '../../src/streams/csv/csvBarReader.js';
import { LayoutError } from '../../src/streams/csv/layout.js';
import { CORRUPT_FIXTURES, FIXTURES, REAL_FILES, corruptFixture, readAll, readNormalizedCsv } from '../helpers/files.js';
import { tempDir } from '../helpers/tempDir.js';

const tmp = tempDir('reader');
let n = 0;
function csv(text: string): string {
  const file = join(tmp, `f${n++}.csv`);
  writeFileSync(file, text);
  return file;
}

/** Exact comparison that reports the first differing bar instead of a 30,000-line diff. */
function expectSameBars(actual: Bar[], expected: Bar[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const same = a.symbol === e.symbol && a.ts === e.ts && (['open', 'high', 'low', 'close', 'volume'] as const).every((k) => Object.is(a[k], e[k]));
    if (!same) expect({ index: i, ...a }).toEqual({ index: i, ...e });
  }
}

describe('CsvBarReader on the real files', () => {
  it.each(REAL_FILES)('reads every row of $file exactly', async ({ file, symbol }) => {
    const { bars, rejects, reader } = await readAll(file, { symbol, batchSize: 1000 });
    expect(rejects).toEqual([]);
    expectSameBars(bars, readNormalizedCsv(file, symbol));
    const summary = reader.summary();
    expect(summary.layout).toBe('barflow');
    expect(summary.rows).toBe(bars.length);
  });
});

describe('vendor layouts (fixtures from scripts/fixtures/make_vendor_fixtures.py)', () => {
  const vendor = (name: string) => resolve(FIXTURES, 'vendor', name);

  it('FirstRateData: headerless naive US Eastern with --tz', async () => {
    const { bars, rejects, reader } = await readAll(vendor('ES_firstrate_naive_et.csv'), { symbol: 'ES', tz: 'America/New_York' });
    expect(rejects).toEqual([]);
    expect(reader.summary().layout).toBe('firstrate');
    expectSameBars(bars, readNormalizedCsv(vendor('ES_firstrate_naive_et.expected.csv'), 'ES'));
  });

  it('FirstRateData across both DST changes matches Python zoneinfo', async () => {
    const { bars, rejects, reader } = await readAll(vendor('dst_firstrate_naive_et.csv'), { symbol: 'ES', tz: 'America/New_York' });
    expect(rejects).toEqual([]);
    expectSameBars(bars, readNormalizedCsv(vendor('dst_firstrate_naive_et.expected.csv'), 'ES'));
    expect(reader.summary().ambiguousLocalTimes).toBe(120);
  });

  it('rejects a local time inside the spring-forward gap and keeps every other row', async () => {
    const { bars, rejects } = await readAll(vendor('dst_gap_firstrate_naive_et.csv'), { symbol: 'ES', tz: 'America/New_York' });
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([[301, 'nonexistent_local_time']]);
    expect(bars.length).toBe(480);
  });

  it('stops a file of naive times without --tz, naming the fix, before any row is written', async () => {
    const reader = new CsvBarReader(vendor('ES_firstrate_naive_et.csv'), { symbol: 'ES' });
    const seen: Bar[] = [];
    await expect(async () => {
      for await (const batch of reader) seen.push(...batch.bars);
    }).rejects.toThrow(/line 1: timestamp "2023-09-24 18:00:00" has no zone, nor do the lines after it; pass --tz .*America\/New_York/);
    expect([seen.length, reader.summary().rejects.total]).toEqual([0, 0]);
  });

  it('resolves a row repeated inside the fall-back hour to its original instant: a duplicate', async () => {
    const file = csv(['2023-11-05 01:58:00,1,1,1,1,1', '2023-11-05 01:59:00,1,1,1,1,1', '2023-11-05 01:59:00,1,1,1,1,1', '2023-11-05 01:00:00,1,1,1,1,1', '2023-11-05 01:01:00,1,1,1,1,1'].join('\n'));
    const { bars, rejects } = await readAll(file, { symbol: 'ES', tz: 'America/New_York' });
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([[3, 'duplicate']]);
    expect(bars.map((b) => formatTs(b.ts))).toEqual(['2023-11-05T05:58:00Z', '2023-11-05T05:59:00Z', '2023-11-05T06:00:00Z', '2023-11-05T06:01:00Z']);
  });

  it.each(['BTCUSDT_binance_kline_ms.csv', 'BTCUSDT_binance_kline_us.csv', 'BTCUSDT_binance_kline_header.csv'])('Binance klines: %s', async (name) => {
    const { bars, rejects, reader } = await readAll(vendor(name), { symbol: 'BTCUSDT' });
    expect(rejects).toEqual([]);
    expect(reader.summary().layout).toBe('binance');
    expectSameBars(bars, readNormalizedCsv(vendor('BTCUSDT_binance_kline.expected.csv'), 'BTCUSDT'));
  });
});

describe('corrupted copies of the real files (scripts/fixtures/make_corrupt_fixtures.py)', () => {
  it.each(CORRUPT_FIXTURES)('%s: every planted fault has its reason, every other row is kept', async (name) => {
    const { file, expected, validBars } = corruptFixture(name);
    const { bars, rejects, reader } = await readAll(file, { ...expected.read, batchSize: 500 });
    expect(rejects.map((r) => ({ line: r.line, reason: r.reason }))).toEqual(expected.rejects);
    expect(reader.summary().rejects.toJSON()).toEqual(expected.counts);
    expectSameBars(bars, validBars(expected.read.symbol ?? 'BTCUSDT'));
    for (const r of rejects) {
      expect(r.source).toBe(file);
      expect(r.raw.length).toBeGreaterThan(0);
      expect(r.detail.length).toBeGreaterThan(0);
    }
  });

  it('--strict stops at the first reject naming file, line and reason, after yielding the bars before it', async () => {
    const { file, expected, validBars } = corruptFixture('ES_corrupt');
    // Without its corrupted first data row, the file's first reject comes after a few dozen valid rows.
    const lines = readFileSync(file, 'utf8').split('\n');
    const trimmed = csv([lines[0], ...lines.slice(2)].join('\n'));
    const first = { ...expected.rejects[1]!, line: expected.rejects[1]!.line - 1 };
    const seen: Bar[] = [];
    let error: unknown;
    try {
      for await (const batch of new CsvBarReader(trimmed, { symbol: 'ES', strict: true, batchSize: 10 })) seen.push(...batch.bars);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StrictRejectError);
    expect((error as Error).message).toContain(`${trimmed}:${first.line}: rejected (${first.reason})`);
    expect(seen.length).toBeGreaterThan(10);
    expectSameBars(seen, validBars('ES').slice(0, first.line - 2));
  });
});

describe('format edge cases', () => {
  it('handles CRLF, a BOM, blank lines, quoted fields and spaces', async () => {
    const file = csv('\ufeffts,open,high,low,close,volume\r\n"2023-03-01T00:00:00Z", 1.5 ,2,1,"1.5",9e-05\r\n\r\n2023-03-01T00:01:00Z,1.5,2,1,2,0\r\n');
    const { bars, rejects, reader } = await readAll(file, { symbol: 'X' });
    expect(rejects).toEqual([]);
    expect(bars.map((b) => [formatTs(b.ts), b.open, b.close, b.volume])).toEqual([
      ['2023-03-01T00:00:00Z', 1.5, 1.5, 9e-5],
      ['2023-03-01T00:01:00Z', 1.5, 2, 0],
    ]);
    expect(reader.summary().blankLines).toBe(1);
  });

  it('maps header aliases, date+time columns, a symbol column and semicolons', async () => {
    const file = csv('Date;Time;Open;High;Low;Close;Vol;Ticker\n2023-03-01;00:00:00Z;1;2;1;2;3;AAA\n2023-03-01;00:00:00Z;1;2;1;2;3;BBB\n');
    const { bars, rejects } = await readAll(file);
    expect(rejects).toEqual([]);
    expect(bars.map((b) => b.symbol)).toEqual(['AAA', 'BBB']);
  });

  it('reads headerless epoch seconds and a leading symbol column', async () => {
    const { bars } = await readAll(csv('ES,1677628800,1,2,1,2,3\nES,1677628860,1,2,1,2,3\n'));
    expect(bars.map((b) => b.ts)).toEqual([Date.UTC(2023, 2, 1), Date.UTC(2023, 2, 1, 0, 1)]);
  });

  it('explains a header it cannot map', async () => {
    await expect(readAll(csv('time,price,qty\n'), { symbol: 'X' })).rejects.toThrow(LayoutError);
    await expect(readAll(csv('when,o,h,l,c,v\n'), { symbol: 'X' })).rejects.toThrow(/no column for ts/);
  });

  it('refuses --symbol when the file has a symbol column, and demands one otherwise', async () => {
    await expect(readAll(csv('ts,open,high,low,close,volume,symbol\n'), { symbol: 'X' })).rejects.toThrow(/drop --symbol/);
    await expect(readAll(csv('ts,open,high,low,close,volume\n2023-03-01T00:00:00Z,1,1,1,1,1\n'))).rejects.toThrow(/pass --symbol/);
  });

  it('guesses the epoch unit per value (Binance spot moved from ms to µs) and refuses implausible times', async () => {
    const t = Date.UTC(2024, 11, 31, 23, 58);
    const file = csv([`${t},1,1,1,1,1`, `${t + 60_000}000,1,1,1,1,1`, '16782300,1,1,1,1,1', `${t + 120_000}000,1,1,1,1,1`].join('\n'));
    const { bars, rejects, reader } = await readAll(file, { symbol: 'B' });
    expect(bars.map((b) => b.ts)).toEqual([t, t + 60_000, t + 120_000]);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([[3, 'ts_not_increasing']]);
    expect(reader.summary().tsUnits).toEqual(['ms', 'us', 's']);
    const bad = await readAll(csv(['0,1,1,1,1,1', '99999999999999,1,1,1,1,1', `${t},1,1,1,1,1`].join('\n')), { symbol: 'B' });
    expect(bad.rejects.map((r) => r.reason)).toEqual(['ts_out_of_range', 'ts_out_of_range']);
    expect(bad.bars.length).toBe(1);
  });

  it('keeps a corrupted first line of a headerless file a data row: rejected, the rest lands', async () => {
    const lines = readFileSync(resolve(FIXTURES, 'vendor', 'ES_firstrate_naive_et.csv'), 'utf8').trimEnd().split('\n');
    const file = csv([lines[0]!.replace('2023-09-24', '2023-09-2X'), ...lines.slice(1)].join('\n'));
    const { bars, rejects } = await readAll(file, { symbol: 'ES', tz: 'America/New_York' });
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([[1, 'unparsable_field']]);
    expect(bars.length).toBe(lines.length - 1);
  });

  it('rejects a naive first row of a zoned file instead of stopping', async () => {
    const file = csv(['ts,open,high,low,close,volume', '2023-03-01T00:00:00,1,1,1,1,1', '2023-03-01T00:01:00Z,1,1,1,1,1', '2023-03-01T00:02:00Z,1,1,1,1,1'].join('\n'));
    const { bars, rejects } = await readAll(file, { symbol: 'X' });
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([[2, 'unparsable_field']]);
    expect(bars.length).toBe(2);
  });

  it('finds the symbol column of a headerless 7-column file at either end, even for tickers like T', async () => {
    const first = await readAll(csv('T,2023-03-01T00:00:00Z,1,2,1,2,3\nT,2023-03-01T00:01:00Z,1,2,1,2,3\n'));
    const last = await readAll(csv('2023-03-01T00:00:00Z,1,2,1,2,3,C\n2023-03-01T00:01:00Z,1,2,1,2,3,C\n'));
    expect([first.bars.length, first.rejects.length, first.bars[0]?.symbol]).toEqual([2, 0, 'T']);
    expect([last.bars.length, last.rejects.length, last.bars[0]?.symbol]).toEqual([2, 0, 'C']);
  });

  it('reads an empty file as zero rows', async () => {
    const { bars, rejects } = await readAll(csv(''), { symbol: 'X' });
    expect([bars.length, rejects.length]).toEqual([0, 0]);
  });
});

describe('property: any valid bar series survives any accepted text form', () => {
  const T0 = Date.UTC(2020, 0, 1);
  const price = fc.double({ min: 1e-8, max: 1e7, noNaN: true });
  const arbBar = fc.tuple(fc.integer({ min: 1, max: 5 }), price, price, price, price, fc.double({ min: 0, max: 1e9, noNaN: true }));
  const numberForm = fc.constantFrom(
    (x: number) => String(x),
    (x: number) => x.toPrecision(17),
    (x: number) => x.toExponential(),
    (x: number) => `+${String(x)}`,
  );
  const tsForm = fc.constantFrom(
    (ms: number) => formatTs(ms),
    (ms: number) => new Date(ms).toISOString(),
    (ms: number) => String(ms),
    (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '+00:00'),
  );

  it('parses back to the same float64 values and instants', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbBar, { minLength: 1, maxLength: 60 }), numberForm, tsForm, async (rows, num, tsText) => {
        let ts = T0;
        const bars: Bar[] = rows.map(([gap, a, b, c, d, volume]) => {
          ts += gap * 60_000;
          const sorted = [a, b, c, d].sort((x, y) => x - y);
          return { symbol: 'P', ts, open: sorted[1]!, high: sorted[3]!, low: sorted[0]!, close: sorted[2]!, volume };
        });
        const text = ['ts,open,high,low,close,volume', ...bars.map((b) => [tsText(b.ts), num(b.open), num(b.high), num(b.low), num(b.close), num(b.volume)].join(','))].join('\n');
        const { bars: read, rejects } = await readAll(csv(text), { symbol: 'P', tsUnit: 'ms' });
        expect(rejects).toEqual([]);
        expectSameBars(read, bars);
      }),
      { numRuns: 150 },
    );
  });
});
