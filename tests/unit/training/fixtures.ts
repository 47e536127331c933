import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { type FeatureSet, loadFeatureSet, resolveFeatureSet } from '../../../src/operators/featureSet.js';
import { computeFeatures } from '../../../src/streams/operatorJobs.js';
import { REAL_FILES } from '../../helpers/files.js';
import { tempDir } from '../../helpers/tempDir.js';

// Feature files computed from the real bar files by the real pipeline (computeFeatures), once per
// test file, in a temporary folder.

export const work = tempDir('views');
export const defaultSet = loadFeatureSet();
/**
 * Bars only, on the CME session anchor, with timeframes that do not divide the session (short last
 * buckets) and a BTC slice over the US daylight-saving change of 2023-03-12 (a 23-hour session).
 */
export const sessionSet: FeatureSet = resolveFeatureSet(
  { name: 'session-bars', version: 1, anchor: 'session:America/New_York@18:00', timeframes: ['1m', '7m', '25m', '45m', '1h', '4h'] },
  'session-bars',
);

const btc = REAL_FILES[0]!;
const es = REAL_FILES[1]!;

async function features(input: string, featureSet: FeatureSet, name: string, symbol?: string): Promise<string> {
  const out = join(work, `${name}.arrow`);
  await computeFeatures(input, { ...(symbol ? { symbol } : {}), featureSet, out, rejects: join(work, `${name}.rejects.jsonl`) });
  return out;
}

/** ES alone (the real file, with its daily breaks and weekend), default feature set. */
export function esFeatures(): Promise<string> {
  return features(es.file, defaultSet, 'es', es.symbol);
}

/**
 * Two symbols, symbol-major: BTCUSDT 2023-03-10 … 2023-03-13 (over the DST change), then all of
 * ES, as one CSV with a symbol column.
 */
export function twoSymbolCsv(): string {
  const lines = ['ts,open,high,low,close,volume,symbol'];
  for (const line of readFileSync(btc.file, 'utf8').trim().split('\n').slice(1)) {
    if (line >= '2023-03-10' && line < '2023-03-14') lines.push(`${line},${btc.symbol}`);
  }
  for (const line of readFileSync(es.file, 'utf8').trim().split('\n').slice(1)) lines.push(`${line},${es.symbol}`);
  const path = join(work, 'two-symbols.csv');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

export function twoSymbolFeatures(featureSet: FeatureSet, name: string): Promise<string> {
  return features(twoSymbolCsv(), featureSet, name);
}

/** The first `rows` rows as a Parquet file (ZSTD, as replay writes), by parquet-wasm from the Arrow file. */
export function toParquet(arrowPath: string, rows: number): string {
  const table = tableFromIPC(readFileSync(arrowPath)).slice(0, rows);
  const wasm = parquet.Table.fromIPCStream(tableToIPC(table, 'stream'));
  const props = new parquet.WriterPropertiesBuilder().setCompression(parquet.Compression.ZSTD).build();
  const path = arrowPath.replace(/\.arrow$/, '.parquet');
  writeFileSync(path, parquet.writeParquet(wasm, props));
  return path;
}
