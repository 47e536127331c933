import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveFeatureSet } from '../../../src/operators/featureSet.js';
import { FeatureArrowWriter } from '../../../src/streams/arrow/featureArrowWriter.js';
import { type FeatureTable, loadFeatureTable } from '../../../src/training/index.js';
import { REAL_FILES, readNormalizedCsv } from '../../helpers/files.js';
import { defaultSet, esFeatures, toParquet, twoSymbolFeatures, work } from './fixtures.js';

let esPath: string;
let es: FeatureTable;
let twoPath: string;

beforeAll(async () => {
  esPath = await esFeatures();
  es = loadFeatureTable(esPath);
  twoPath = await twoSymbolFeatures(defaultSet, 'two-default');
}, 120_000);

function bytesOf(a: Float64Array | Int32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** A tiny feature file written by the real writer, rows in the order given (the writer does not check it). */
async function tinyFile(name: string, rows: { symbol: string; ts: number }[]): Promise<string> {
  const set = resolveFeatureSet({ name: 'tiny', version: 1, timeframes: ['1m'] }, 'tiny');
  const path = join(work, `${name}.arrow`);
  const writer = new FeatureArrowWriter(path, set);
  for (const r of rows) writer.add({ ...r, values: new Float64Array(set.columns.length).fill(1), schemaHash: set.schemaHash });
  await writer.close();
  return path;
}

describe('loadFeatureTable', { timeout: 30_000 }, () => {
  it('reads ts, symbols and columns of a real feature file, NaN where missing', () => {
    const bars = readNormalizedCsv(REAL_FILES[1]!.file, 'ES');
    expect(es.n).toBe(bars.length);
    expect(es.symbols).toEqual(['ES']);
    expect(Array.from(es.symbolStart)).toEqual([0, es.n]);
    expect(es.schemaHash).toBe(defaultSet.schemaHash);
    expect(es.columnNames).toEqual(defaultSet.columns.map((c) => c.name));
    expect(Array.from(es.ts)).toEqual(bars.map((b) => b.ts));
    expect(Array.from(es.column('close_1m'))).toEqual(bars.map((b) => b.close));
    expect(Array.from(es.column('volume_1m'))).toEqual(bars.map((b) => b.volume));
    // Warm-up: no complete 1h bar in the first minutes, and RSI needs 14 of them.
    expect(Number.isNaN(es.column('close_1h')[0]!)).toBe(true);
    expect(Number.isNaN(es.column('rsi14_1h')[100]!)).toBe(true);
    expect(Number.isNaN(es.column('rsi14_1m')[es.n - 1]!)).toBe(false);
  });

  it('reads the same table from Parquet, bit for bit', () => {
    // A slice keeps the WebAssembly writer quick; it still spans several record batches and nulls.
    const rows = 3000;
    const pq = loadFeatureTable(toParquet(esPath, rows));
    expect(pq.n).toBe(rows);
    expect(pq.schemaHash).toBe(es.schemaHash);
    expect(pq.columnNames).toEqual(es.columnNames);
    expect(bytesOf(pq.ts).equals(bytesOf(es.ts.subarray(0, rows)))).toBe(true);
    for (const name of es.columnNames) expect(bytesOf(pq.column(name)).equals(bytesOf(es.column(name).subarray(0, rows))), name).toBe(true);
  });

  it('codes symbols of a symbol-major file and gives their row ranges', () => {
    const t = loadFeatureTable(twoPath);
    expect(t.symbols).toEqual(['BTCUSDT', 'ES']);
    const btcRows = t.symbolStart[1]!;
    expect(t.symbolStart[2]).toBe(t.n);
    expect(t.n - btcRows).toBe(es.n);
    for (let i = 0; i < t.n; i++) if (t.symbolCodes[i] !== (i < btcRows ? 0 : 1)) throw new Error(`row ${i} has the wrong symbol code`);
  });

  it('loads only the columns asked for', () => {
    const t = loadFeatureTable(esPath, { columns: ['rsi14_5m', 'close_1m'] });
    expect(t.columnNames).toEqual(['close_1m', 'rsi14_5m']);
    expect(bytesOf(t.column('rsi14_5m')).equals(bytesOf(es.column('rsi14_5m')))).toBe(true);
    expect(() => t.column('open_1m')).toThrow(/column open_1m was not loaded/);
    expect(() => loadFeatureTable(esPath, { columns: ['nope_1m'] })).toThrow(/unknown column "nope_1m"; the table has 207 feature columns: open_1m/);
  });

  it('names the file and the problem for what is not a feature table', async () => {
    expect(() => es.column('rsi_1m')).toThrow(`${esPath}: unknown column "rsi_1m"`);
    expect(() => loadFeatureTable(join(work, 'missing.arrow'))).toThrow(/missing\.arrow: cannot read the feature table/);
    expect(() => loadFeatureTable(REAL_FILES[1]!.file)).toThrow(/\.csv: not a feature table: neither an Arrow IPC file nor a Parquet file/);
    const truncated = join(work, 'truncated.arrow');
    writeFileSync(truncated, Buffer.from('ARROW1\0\0garbage'));
    expect(() => loadFeatureTable(truncated)).toThrow(/truncated\.arrow: not a readable Arrow IPC file/);

    const noTs = join(work, 'no-ts.arrow');
    writeFileSync(noTs, tableToIPC(tableFromArrays({ symbol: ['A'], x: new Float64Array([1]) }), 'file'));
    expect(() => loadFeatureTable(noTs)).toThrow(/no-ts\.arrow: not a feature table: no ts column \(columns: symbol, x\)/);
    const noHash = join(work, 'no-hash.arrow');
    writeFileSync(noHash, tableToIPC(tableFromArrays({ ts: [new Date(0)], symbol: ['A'], x: new Float64Array([1]) }), 'file'));
    expect(() => loadFeatureTable(noHash)).toThrow(/no-hash\.arrow: not a barflow feature table: .*no barflow\.schema_hash/);
  });

  it('refuses rows not ordered by symbol then ts', async () => {
    const m = 60_000;
    const backwards = await tinyFile('backwards', [
      { symbol: 'A', ts: 2 * m },
      { symbol: 'A', ts: m },
    ]);
    expect(() => loadFeatureTable(backwards)).toThrow(/backwards\.arrow: rows are not ordered by symbol then ts: row 1 \(A 1970-01-01T00:01:00Z\) is not after row 0/);
    const duplicate = await tinyFile('duplicate', [
      { symbol: 'A', ts: m },
      { symbol: 'A', ts: m },
    ]);
    expect(() => loadFeatureTable(duplicate)).toThrow(/row 1 .* is not after row 0/);
    const interleaved = await tinyFile('interleaved', [
      { symbol: 'A', ts: m },
      { symbol: 'B', ts: m },
      { symbol: 'A', ts: 2 * m },
    ]);
    expect(() => loadFeatureTable(interleaved)).toThrow(/interleaved\.arrow: rows are not ordered by symbol then ts: A appears again at row 2 after rows of B/);
    const ok = loadFeatureTable(await tinyFile('ok', [{ symbol: 'B', ts: m }, { symbol: 'A', ts: m }]));
    expect(ok.symbols).toEqual(['B', 'A']);
  });
});
