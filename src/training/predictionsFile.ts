import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { parse as parseCsv } from 'csv-parse/sync';
import { formatTs } from '../bars/bar.js';
import { parseIsoInstant } from '../time/timestamps.js';
import type { FeatureTable } from './featureTable.js';

/**
 * A file of per-row values keyed by (ts, symbol): model predictions or a primary signal. CSV (header
 * row; ts as ISO-8601 with a zone or epoch milliseconds) or Arrow IPC (ts a timestamp or a number).
 * Values are placed on the dataset's rows; a key that is not a row of the dataset, or that comes
 * twice, is an error naming the line, since a silently dropped prediction would bias a backtest.
 */
export interface AlignedValues {
  /** Per dataset row, NaN where the file has no value. */
  columns: Map<string, Float64Array>;
  /** 1 where the file has a row for the dataset row. */
  present: Uint8Array;
  rows: number;
}

interface RawRows {
  ts: Float64Array;
  symbol: string[];
  columns: Map<string, Float64Array>;
  /** How to name row r in an error. */
  where(r: number): string;
}

export function alignToDataset(table: FeatureTable, file: string, columns: readonly string[], cwd?: string): AlignedValues {
  return alignByGroup(table, file, columns, undefined, cwd).get(0)!;
}

/**
 * The same, one alignment per value of `groupBy` (e.g. the `fold` column of CPCV predictions, where
 * a row is predicted once per split that tests it). No `groupBy`: one group, keyed 0.
 */
export function alignByGroup(table: FeatureTable, file: string, columns: readonly string[], groupBy: string | undefined, cwd?: string): Map<number, AlignedValues> {
  const path = cwd === undefined ? file : resolve(cwd, file);
  const raw = readRows(path, groupBy === undefined ? columns : [...columns, groupBy]);
  const groupCol = groupBy === undefined ? undefined : raw.columns.get(groupBy)!;
  const groups = new Map<number, AlignedValues>();
  const symbolIndex = new Map(table.symbols.map((s, k) => [s, k]));
  for (let r = 0; r < raw.ts.length; r++) {
    const g = groupCol === undefined ? 0 : groupCol[r]!;
    if (!Number.isInteger(g)) throw new Error(`${raw.where(r)}: ${groupBy} ${g} is not an integer`);
    let out = groups.get(g);
    if (out === undefined) {
      out = { columns: new Map(columns.map((c) => [c, new Float64Array(table.n).fill(Number.NaN)])), present: new Uint8Array(table.n), rows: 0 };
      groups.set(g, out);
    }
    const k = symbolIndex.get(raw.symbol[r]!);
    const row = k === undefined ? -1 : findRow(table.ts, table.symbolStart[k]!, table.symbolStart[k + 1]!, raw.ts[r]!);
    if (row < 0) throw new Error(`${raw.where(r)}: ${raw.symbol[r]} ${formatTs(raw.ts[r]!)} is not a row of the dataset${k === undefined ? ` (its symbols: ${table.symbols.join(', ')})` : ''}`);
    if (out.present[row]) throw new Error(`${raw.where(r)}: a second value for ${raw.symbol[r]} ${formatTs(raw.ts[r]!)}${groupBy === undefined ? '' : ` in ${groupBy} ${g}`}`);
    out.present[row] = 1;
    out.rows++;
    for (const c of columns) out.columns.get(c)![row] = raw.columns.get(c)![r]!;
  }
  return new Map([...groups.entries()].sort((a, b) => a[0] - b[0]));
}

/** The columns a predictions file has (header only for CSV). */
export function predictionColumns(file: string): string[] {
  const bytes = readFileSync(file);
  if (bytes.subarray(0, 6).toString('latin1') === 'ARROW1' || bytes.readUInt32LE(0) === 0xffffffff) return tableFromIPC(bytes).schema.fields.map((f) => f.name);
  const firstLine = bytes.subarray(0, Math.max(0, bytes.indexOf(10))).toString('utf8');
  return (parseCsv(firstLine) as string[][])[0] ?? [];
}

/** One column of the file on the dataset's rows (NaN elsewhere). */
export function alignSignalColumn(table: FeatureTable, file: string, column: string, cwd?: string): Float64Array {
  return alignToDataset(table, file, [column], cwd).columns.get(column)!;
}

function findRow(ts: Float64Array, lo: number, hi: number, t: number): number {
  let a = lo;
  let b = hi - 1;
  while (a <= b) {
    const m = (a + b) >> 1;
    const v = ts[m]!;
    if (v === t) return m;
    if (v < t) a = m + 1;
    else b = m - 1;
  }
  return -1;
}

function readRows(path: string, columns: readonly string[]): RawRows {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  return bytes.subarray(0, 6).toString('latin1') === 'ARROW1' || bytes.readUInt32LE(0) === 0xffffffff ? readArrow(path, bytes, columns) : readCsv(path, bytes, columns);
}

function readCsv(path: string, bytes: Buffer, columns: readonly string[]): RawRows {
  let records: string[][];
  try {
    records = parseCsv(bytes, { skip_empty_lines: true, trim: true, relax_column_count: false });
  } catch (err) {
    throw new Error(`${path}: not a readable CSV file: ${(err as Error).message}`);
  }
  if (records.length === 0) throw new Error(`${path}: empty file; expected a header with ts, symbol, ${columns.join(', ')}`);
  const header = records[0]!;
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`${path}: no column ${name} in the header (${header.join(', ')})`);
    return i;
  };
  const tsAt = col('ts');
  const symbolAt = col('symbol');
  const at = columns.map(col);
  const n = records.length - 1;
  const ts = new Float64Array(n);
  const symbol = new Array<string>(n);
  const values = columns.map(() => new Float64Array(n));
  for (let r = 0; r < n; r++) {
    const rec = records[r + 1]!;
    const line = r + 2;
    const t = rec[tsAt]!;
    const ms = /^-?\d+$/.test(t) ? Number(t) : parseIsoInstant(t);
    if (ms === null || !Number.isFinite(ms)) throw new Error(`${path}:${line}: ts ${JSON.stringify(t)} is neither ISO-8601 with a zone nor epoch milliseconds`);
    ts[r] = ms;
    symbol[r] = rec[symbolAt]!;
    for (let c = 0; c < at.length; c++) {
      const text = rec[at[c]!]!;
      const v = text === '' || text.toLowerCase() === 'nan' ? Number.NaN : Number(text);
      if (Number.isNaN(v) && text !== '' && text.toLowerCase() !== 'nan') throw new Error(`${path}:${line}: ${columns[c]} ${JSON.stringify(text)} is not a number`);
      values[c]![r] = v;
    }
  }
  return { ts, symbol, columns: new Map(columns.map((c, i) => [c, values[i]!])), where: (r) => `${path}:${r + 2}` };
}

function readArrow(path: string, bytes: Buffer, columns: readonly string[]): RawRows {
  const table = tableFromIPC(bytes);
  const get = (name: string) => {
    const v = table.getChild(name);
    if (v === null) throw new Error(`${path}: no column ${name} (columns: ${table.schema.fields.map((f) => f.name).join(', ')})`);
    return v;
  };
  const n = table.numRows;
  const tsCol = get('ts');
  const symCol = get('symbol');
  const ts = new Float64Array(n);
  const symbol = new Array<string>(n);
  for (let r = 0; r < n; r++) {
    const t = tsCol.get(r) as number | bigint | Date | null;
    if (t === null) throw new Error(`${path}: row ${r} has no ts`);
    ts[r] = t instanceof Date ? t.getTime() : Number(t);
    symbol[r] = String(symCol.get(r));
  }
  const map = new Map<string, Float64Array>();
  for (const c of columns) {
    const v = get(c);
    const arr = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      const x = v.get(r) as number | bigint | null;
      arr[r] = x === null ? Number.NaN : Number(x);
    }
    map.set(c, arr);
  }
  return { ts, symbol, columns: map, where: (r) => `${path} row ${r}` };
}
