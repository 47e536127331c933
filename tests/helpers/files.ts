import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Bar } from '../../src/bars/bar.js';
import { CsvBarReader, type CsvReadOptions } from '../../src/streams/csv/csvBarReader.js';
import type { Reject } from '../../src/bars/rejects.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const FIXTURES = resolve(ROOT, 'tests', 'fixtures');
export const SAMPLES = resolve(ROOT, 'data', 'samples');

export interface DataFile {
  file: string;
  symbol: string;
}

/** The committed samples (data/samples/SOURCES.md): slices of the shared/data files, what a fresh clone has. */
export const SAMPLE_FILES: DataFile[] = [
  { file: resolve(SAMPLES, 'BTCUSDT_binanceus_1m_20230310_20230313.csv'), symbol: 'BTCUSDT' },
  { file: resolve(SAMPLES, 'ES_firstratedata_1m_20230924_20230929.csv'), symbol: 'ES' },
];

/** The real files of shared/data, beside the checkout as in CI; null on a machine without them (a user's clone). */
export const SHARED_DATA = resolve(process.env.BARFLOW_SHARED_DATA ?? resolve(ROOT, '..', 'shared', 'data'));
export const SHARED_FILES: DataFile[] | null = existsSync(resolve(SHARED_DATA, 'BTCUSDT_binanceus_1m_20230301_20230321.csv'))
  ? [
      { file: resolve(SHARED_DATA, 'BTCUSDT_binanceus_1m_20230301_20230321.csv'), symbol: 'BTCUSDT' },
      { file: resolve(SHARED_DATA, 'ES_firstratedata_1m_20230924_20231009.csv'), symbol: 'ES' },
    ]
  : null;

/**
 * What the determinism and parity tests that depend on data run on: the committed samples in every
 * run, so that a fresh clone's path is CI's path too, and shared/data as well where it is present.
 * (A replay that differed only on the samples once passed CI, which had shared/data, and failed
 * every user's first `npm test`.)
 */
export const DATA_SETS: { name: string; files: DataFile[] }[] = [{ name: 'samples', files: SAMPLE_FILES }, ...(SHARED_FILES ? [{ name: 'shared/data', files: SHARED_FILES }] : [])];

/** The largest real data at hand, for tests that read data exactly: shared/data, else the samples. */
export const REAL_FILES: DataFile[] = SHARED_FILES ?? SAMPLE_FILES;

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
