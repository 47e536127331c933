import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Bool, Float64, Int32, Table, TimestampMillisecond, Utf8, type Vector, tableToIPC, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { Bar } from '../../src/bars/bar.js';
import { type Reject, StrictRejectError } from '../../src/bars/rejects.js';
import { CsvBarReader } from '../../src/streams/csv/csvBarReader.js';
import { LayoutError } from '../../src/streams/csv/layout.js';
import { ColumnarBarReader, type ColumnarReadOptions } from '../../src/streams/sources/columnarBarReader.js';
import { float32ToDecimal } from '../../src/streams/sources/columnarCells.js';
import { FIXTURES } from '../helpers/files.js';
import { tempDir } from '../helpers/tempDir.js';

// Fixtures from scripts/fixtures/make_columnar_fixtures.py (pyarrow, from the real files).
const fixture = (name: string) => resolve(FIXTURES, 'columnar', name);
const tmp = tempDir('columnar');

async function readColumnar(file: string, options: ColumnarReadOptions = {}) {
  const reader = new ColumnarBarReader(file, options);
  const bars: Bar[] = [];
  const rejects: Reject[] = [];
  let batches = 0;
  for await (const batch of reader) {
    bars.push(...batch.bars);
    rejects.push(...batch.rejects);
    batches++;
  }
  return { bars, rejects, reader, batches };
}

/** The expected side: barflow's CSV reader on the equivalent CSV rows. */
async function readCsv(name: string, symbol?: string): Promise<Bar[]> {
  const bars: Bar[] = [];
  for await (const batch of new CsvBarReader(fixture(name), symbol === undefined ? {} : { symbol })) {
    expect(batch.rejects).toEqual([]);
    bars.push(...batch.bars);
  }
  return bars;
}

/** Bit-for-bit comparison (Object.is on every value) that reports the first differing bar. */
function expectSameBars(actual: Bar[], expected: Bar[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const same = a.symbol === e.symbol && a.ts === e.ts && (['open', 'high', 'low', 'close', 'volume'] as const).every((k) => Object.is(a[k], e[k]));
    if (!same) expect({ index: i, ...a }).toEqual({ index: i, ...e });
  }
}

/** Writes an in-memory Arrow table as an IPC file (or stream) for the error and edge cases. */
function arrowFile(columns: Record<string, Vector>, format: 'file' | 'stream' = 'file'): string {
  const file = join(tmp, `t${Math.random().toString(36).slice(2)}.${format === 'file' ? 'arrow' : 'arrows'}`);
  writeFileSync(file, tableToIPC(new Table(columns), format));
  return file;
}

const ms = (iso: string) => Date.parse(iso);
const minutes = (n: number) => Array.from({ length: n }, (_, i) => ms('2023-03-01T00:00:00Z') + i * 60_000);

describe('ColumnarBarReader: every schema variant reads as the CSV rows do', () => {
  it.each([
    ['BTCUSDT_ts_ms_utc.parquet', 'parquet', ['ms'], 1000],
    ['BTCUSDT_ts_ns_naive.parquet', 'parquet', ['ns'], 200],
    ['BTCUSDT_iso_decimal.parquet', 'parquet', [], 200],
    ['BTCUSDT_ts_s_utc.arrow', 'arrow', ['s'], 200],
  ] as const)('%s', async (name, layout, tsUnits, rows) => {
    const { bars, rejects, reader } = await readColumnar(fixture(name), { symbol: 'BTCUSDT', batchSize: 333 });
    expect(rejects).toEqual([]);
    expectSameBars(bars, (await readCsv('BTCUSDT.expected.csv', 'BTCUSDT')).slice(0, rows));
    const summary = reader.summary();
    expect(summary).toMatchObject({ layout, tsUnits, rows, bars: rows, hasHeader: true });
    expect(summary.rejects.total).toBe(0);
    expect([reader.rowsRead, reader.bytesRead]).toEqual([rows, reader.totalBytes]);
  });

  it('Arrow IPC stream, int64 epoch ms, float32 volume read as its shortest decimal (numpy)', async () => {
    const { bars, rejects, reader } = await readColumnar(fixture('BTCUSDT_epoch_f32.arrows'), { symbol: 'BTCUSDT' });
    expect(rejects).toEqual([]);
    expectSameBars(bars, await readCsv('BTCUSDT_f32.expected.csv', 'BTCUSDT'));
    expect(reader.summary().tsUnits).toEqual(['ms']);
  });

  it.each(['multi_symbol.parquet', 'multi_symbol_dict.arrow'])('two symbols from a symbol column: %s', async (name) => {
    const { bars, rejects, reader } = await readColumnar(fixture(name));
    expect(rejects).toEqual([]);
    expectSameBars(bars, await readCsv('multi_symbol.expected.csv'));
    expect(reader.summary().symbols.map((s) => [s.symbol, s.count])).toEqual([
      ['BTCUSDT', 150],
      ['ES', 150],
    ]);
  });

  it('detects the format by content, whatever the extension says', async () => {
    const parquetAsArrow = join(tmp, 'really-parquet.arrow');
    const arrowAsParquet = join(tmp, 'really-arrow.parquet');
    copyFileSync(fixture('BTCUSDT_ts_ms_utc.parquet'), parquetAsArrow);
    copyFileSync(fixture('BTCUSDT_ts_s_utc.arrow'), arrowAsParquet);
    expect((await readColumnar(parquetAsArrow, { symbol: 'BTCUSDT' })).reader.summary()).toMatchObject({ layout: 'parquet', bars: 1000 });
    expect((await readColumnar(arrowAsParquet, { symbol: 'BTCUSDT' })).reader.summary()).toMatchObject({ layout: 'arrow', bars: 200 });
  });

  it('yields batches of at most batchSize rows, in file order, with progress that only grows', async () => {
    const reader = new ColumnarBarReader(fixture('BTCUSDT_ts_ms_utc.parquet'), { symbol: 'BTCUSDT', batchSize: 128 });
    const progress: number[] = [];
    let last = 0;
    for await (const batch of reader) {
      expect(batch.bars.length + batch.rejects.length).toBeLessThanOrEqual(128);
      for (const bar of batch.bars) {
        expect(bar.ts).toBeGreaterThan(last);
        last = bar.ts;
      }
      progress.push(reader.bytesRead);
    }
    expect(progress.length).toBe(8);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(reader.totalBytes);
  });
});

describe('ColumnarBarReader: corrupted rows are rejected with the CSV reader reason codes', () => {
  const expected = JSON.parse(readFileSync(fixture('BTCUSDT_corrupt.expected.json'), 'utf8')) as {
    rows: number;
    rejects: { line: number; reason: string }[];
    counts: Record<string, number>;
    validRows: number;
  };

  it.each(['BTCUSDT_corrupt.parquet', 'BTCUSDT_corrupt.arrows'])('%s matches the Python reference validator', async (name) => {
    const file = fixture(name);
    const { bars, rejects, reader } = await readColumnar(file, { batchSize: 50 });
    expect(rejects.map((r) => ({ line: r.line, reason: r.reason }))).toEqual(expected.rejects);
    expect(reader.summary().rejects.toJSON()).toEqual(expected.counts);
    expect([reader.summary().rows, bars.length]).toEqual([expected.rows, expected.validRows]);
    expectSameBars(bars, await readCsv('BTCUSDT_corrupt.valid.csv'));
    for (const r of rejects) {
      expect(r.source).toBe(file);
      expect(Object.keys(JSON.parse(r.raw) as object)).toEqual(['symbol', 'ts', 'open', 'high', 'low', 'close', 'volume']);
    }
    // Nulls are named; NaN and digits below the millisecond survive into raw.
    expect(rejects[0]).toMatchObject({ line: 1, detail: 'open: null' });
    expect(JSON.parse(rejects[0]!.raw)).toMatchObject({ symbol: 'BTCUSDT', ts: '2023-03-01T00:00:00Z', open: null, high: 23150.77 });
    expect(JSON.parse(rejects.find((r) => r.line === 46)!.raw)).toMatchObject({ close: 'NaN' });
    expect(JSON.parse(rejects.find((r) => r.line === 166)!.raw).ts).toMatch(/:00\.000000001Z$/);
  });

  it('strict mode throws StrictRejectError at the first reject', async () => {
    const reader = new ColumnarBarReader(fixture('BTCUSDT_corrupt.parquet'), { strict: true });
    const error = await (async () => {
      try {
        for await (const _ of reader) void _;
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(StrictRejectError);
    expect((error as StrictRejectError).reject).toMatchObject({ line: 1, reason: 'unparsable_field' });
  });
});

describe('ColumnarBarReader: types and time zones', () => {
  it('reads int and text value columns, and naive ISO text in the given zone', async () => {
    const ts = ['2023-03-12 01:59:00', '2023-03-12 03:00:00', '2023-03-12 02:30:00'];
    const file = arrowFile({
      date_time: vectorFromArray(ts, new Utf8()),
      O: vectorFromArray([1, 2, 3], new Int32()),
      H: vectorFromArray(['2', '3', '4'], new Utf8()),
      L: vectorFromArray([1, 1, 1], new Float64()),
      C: vectorFromArray([2, 2, 2], new Float64()),
      V: vectorFromArray([7, 8, 9], new Int32()),
    });
    const { bars, rejects, reader } = await readColumnar(file, { symbol: 'ES', tz: 'America/New_York' });
    expect(bars.map((b) => [new Date(b.ts).toISOString(), b.open, b.high, b.volume])).toEqual([
      ['2023-03-12T06:59:00.000Z', 1, 2, 7],
      ['2023-03-12T07:00:00.000Z', 2, 3, 8],
    ]);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([[3, 'nonexistent_local_time']]);
    expect(reader.summary().tz).toBe('America/New_York');
  });

  it('stops on naive ISO text without tz, naming the fix, instead of guessing UTC', async () => {
    const file = arrowFile({ ts: vectorFromArray(['2023-03-01 00:00:00'], new Utf8()), ...ohlcv(1) });
    await expect(readColumnar(file, { symbol: 'X' })).rejects.toThrow(/row 1: timestamp "2023-03-01 00:00:00" has no zone; pass tz/);
  });

  it('rejects unparsable text and bad numbers with the CSV codes', async () => {
    const file = arrowFile({ ts: vectorFromArray(['2023-03-01T00:00:00Z', 'yesterday', '2023-03-01T00:02:00Z'], new Utf8()), ...ohlcv(3), volume: vectorFromArray(['1', '1', '1e999'], new Utf8()) }, 'stream');
    const { rejects } = await readColumnar(file, { symbol: 'X' });
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([
      [2, 'unparsable_field'],
      [3, 'non_finite'],
    ]);
  });

  it('float32 values come out as the shortest decimal of the float32', () => {
    expect([float32ToDecimal(Math.fround(2.131777)), float32ToDecimal(Math.fround(0.1)), float32ToDecimal(Math.fround(23140.48))]).toEqual([2.131777, 0.1, 23140.48]);
  });
});

function ohlcv(n: number) {
  const ones = () => vectorFromArray(Array.from({ length: n }, () => 1), new Float64());
  return { open: ones(), high: ones(), low: ones(), close: ones(), volume: ones() };
}

describe('ColumnarBarReader: clear errors naming the file', () => {
  it('refuses a file that is neither Arrow nor Parquet', () => {
    const file = join(tmp, 'bars.parquet');
    writeFileSync(file, 'ts,open,high,low,close,volume\n');
    expect(() => new ColumnarBarReader(file, { symbol: 'X' })).toThrow(new LayoutError(file, 'is not an Arrow IPC file/stream nor a Parquet file (first bytes "ts,open,"; expected "ARROW1", "PAR1" or an IPC stream)'));
  });

  it('lists the columns found when a required one is missing', async () => {
    const { volume: _, ...noVolume } = ohlcv(1);
    const file = arrowFile({ Time: vectorFromArray([ms('2023-03-01T00:00:00Z')], new TimestampMillisecond('UTC')), ...noVolume });
    await expect(readColumnar(file, { symbol: 'X' })).rejects.toThrow(`${file}: has no column for volume; found Time (Timestamp<MILLISECOND, UTC>), open (Float64), high (Float64), low (Float64), close (Float64)`);
  });

  it('names a column of an unsupported type', async () => {
    const file = arrowFile({ ts: vectorFromArray(minutes(1), new TimestampMillisecond()), ...ohlcv(1), volume: vectorFromArray([true], new Bool()) });
    await expect(readColumnar(file, { symbol: 'X' })).rejects.toThrow(`${file}: column "volume" (volume) has type Bool; accepted: float, integer, decimal or decimal text`);
  });

  it('asks for a symbol, and refuses one when the file has a symbol column', async () => {
    await expect(readColumnar(fixture('BTCUSDT_ts_s_utc.arrow'))).rejects.toThrow(/has no symbol column; pass --symbol/);
    await expect(readColumnar(fixture('multi_symbol.parquet'), { symbol: 'ES' })).rejects.toThrow(/has a symbol column, so --symbol ES is ambiguous/);
  });

  it('refuses compressed Arrow IPC with a hint', async () => {
    await expect(readColumnar(fixture('BTCUSDT_lz4.arrow'), { symbol: 'X' })).rejects.toThrow(/BTCUSDT_lz4\.arrow: cannot read Arrow IPC data: .*compressed Arrow IPC is not supported/);
  });

  it('names the file when a Parquet file is truncated', async () => {
    const file = join(tmp, 'cut.parquet');
    writeFileSync(file, readFileSync(fixture('multi_symbol.parquet')).subarray(0, 5000));
    await expect(readColumnar(file)).rejects.toThrow(new RegExp(`${file}: cannot read Parquet data`));
  });
});
