import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Bar } from '../../src/bars/bar.js';
import { CsvBarReader, type CsvReadOptions } from '../../src/streams/csv/csvBarReader.js';
import type { Reject } from '../../src/bars/rejects.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const FIXTURES = resolve(ROOT, 'tests', 'fixtures');
export const SAMPLES = resolve(ROOT, 'data', 'samples');

/**
 * The real files of shared/data (beside the checkout, as in CI). On a machine without them the
 * committed samples, slices of the same files, stand in, so the tests still run on real data.
 */
const SHARED = resolve(process.env.BARFLOW_SHARED_DATA ?? resolve(ROOT, '..', 'shared', 'data'));
export const REAL_FILES: { file: string; symbol: string }[] = existsSync(resolve(SHARED, 'BTCUSDT_binanceus_1m_20230301_20230321.csv'))
  ? [
      { file: resolve(SHARED, 'BTCUSDT_binanceus_1m_20230301_20230321.csv'), symbol: 'BTCUSDT' },
      { file: resolve(SHARED, 'ES_firstratedata_1m_20230924_20231009.csv'), symbol: 'ES' },
    ]
  : [
      { file: resolve(SAMPLES, 'BTCUSDT_binanceus_1m_20230310_20230313.csv'), symbol: 'BTCUSDT' },
      { file: resolve(SAMPLES, 'ES_firstratedata_1m_20230924_20230929.csv'), symbol: 'ES' },
    ];

/**
 * Reads a normalized CSV (ts,open,high,low,close,volume) with a deliberately naive parser built
 * from Date.parse and Number, independent of barflow's reader, as the expected side of comparisons.
 */
export function readNormalizedCsv(file: string, symbol: string): Bar[] {
  const lines = readFileSync(file, 'utf8').trim().split('\n').slice(1);
  return lines.map((line) => {
    const [ts, open, high, low, close, volume] = line.split(',');
    return { symbol, ts: Date.parse(ts!), open: Number(open), high: Number(high), low: Number(low), close: Number(close), volume: Number(volume) };
  });
}

export async function readAll(file: string, options: CsvReadOptions = {}): Promise<{ bars: Bar[]; rejects: Reject[]; reader: CsvBarReader }> {
  const reader = new CsvBarReader(file, options);
  const bars: Bar[] = [];
  const rejects: Reject[] = [];
  for await (const batch of reader) {
    bars.push(...batch.bars);
    rejects.push(...batch.rejects);
  }
  return { bars, rejects, reader };
}

export interface CorruptExpectation {
  /** Reader options the file needs (symbol unless it has a symbol column, tz for naive times). */
  read: { symbol?: string; tz?: string };
  rejects: { line: number; reason: string }[];
  counts: Record<string, number>;
  validRows: number;
}

/**
 * A corrupted copy of a real file (scripts/fixtures/make_corrupt_fixtures.py) with what the
 * reference validator expects: the rejects, and the valid rows normalized to UTC by Python.
 */
export function corruptFixture(name: string): { file: string; expected: CorruptExpectation; validBars: (symbol: string) => Bar[] } {
  const file = resolve(FIXTURES, 'corrupt', `${name}.csv`);
  const expected = JSON.parse(readFileSync(resolve(FIXTURES, 'corrupt', `${name}.expected.json`), 'utf8')) as CorruptExpectation;
  return { file, expected, validBars: (symbol: string) => readNormalizedCsv(resolve(FIXTURES, 'corrupt', `${name}.valid.csv`), symbol) };
}

export const CORRUPT_FIXTURES = ['BTCUSDT_corrupt', 'ES_corrupt', 'BTCUSDT_symbolcol_corrupt', 'ES_firstrate_corrupt', 'BTCUSDT_binance_corrupt'];
