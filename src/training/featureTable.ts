import { readFileSync } from 'node:fs';
import { type Data, type Field, type Table, DataType, Precision, TimeUnit, tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { formatTs } from '../bars/bar.js';

/**
 * A feature table in memory, column by column: one contiguous Float64Array per feature (NaN =
 * missing), so that views select rows by index without copying the table. Rows are those of the
 * file: each symbol's rows together, in strictly increasing `ts` (the 1-minute bar's open time; a
 * row is available at ts + 1 minute).
 */
export interface FeatureTable {
  /** The file it was read from (for error messages). */
  readonly path: string;
  readonly n: number;
  /** Epoch milliseconds, UTC: the open time of the row's 1-minute bar. */
  readonly ts: Float64Array;
  /** Per row, an index into `symbols`. */
  readonly symbolCodes: Int32Array;
  /** In file order. */
  readonly symbols: string[];
  /** Rows of symbol k are `symbolStart[k]` … `symbolStart[k + 1] - 1` (length symbols.length + 1). */
  readonly symbolStart: Int32Array;
  /** The feature columns loaded, in file order (ts and symbol excluded). */
  readonly columnNames: string[];
  /** `barflow.schema_hash` of the file's metadata: the identity of the feature set it was computed with. */
  readonly schemaHash: string;
  /** All schema metadata of the file. */
  readonly metadata: ReadonlyMap<string, string>;
  /** The column's values, shared, not copied: do not write to it. Throws for an unknown name. */
  column(name: string): Float64Array;
  hasColumn(name: string): boolean;
}

export interface LoadFeatureTableOptions {
  /** Load only these feature columns (default: all), to keep memory to what a model uses. */
  columns?: readonly string[];
}

const ARROW_FILE_MAGIC = 'ARROW1';
const PARQUET_MAGIC = 'PAR1';

/** Reads an Arrow IPC file or stream, or a Parquet file (told apart by their bytes, not the name). */
export function loadFeatureTable(path: string, options: LoadFeatureTableOptions = {}): FeatureTable {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`${path}: cannot read the feature table: ${(err as Error).message}`);
  }
  return featureTableFromTable(path, decode(path, bytes), options);
}

function decode(path: string, bytes: Uint8Array): Table {
  const head = Buffer.from(bytes.subarray(0, 6)).toString('latin1');
  // An IPC stream starts with a continuation marker (0xFFFFFFFF) before its schema message.
  const isStream = bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xff && bytes[2] === 0xff && bytes[3] === 0xff;
  try {
    if (head.startsWith(PARQUET_MAGIC)) {
      // intoIPCStream hands the wasm table over (it must not be freed after).
      return tableFromIPC(readParquet(bytes).intoIPCStream());
    }
    if (head === ARROW_FILE_MAGIC || isStream) return tableFromIPC(bytes);
  } catch (err) {
    throw new Error(`${path}: not a readable ${head.startsWith(PARQUET_MAGIC) ? 'Parquet' : 'Arrow IPC'} file: ${(err as Error).message}`);
  }
  throw new Error(`${path}: not a feature table: neither an Arrow IPC file nor a Parquet file (write one with barflow features --out F.arrow or barflow replay)`);
}

/** The same checks and layout as `loadFeatureTable`, for a table already in memory (`path` names it in errors). */
export function featureTableFromTable(path: string, table: Table, options: LoadFeatureTableOptions = {}): FeatureTable {
  const fields = table.schema.fields;
  const metadata = table.schema.metadata;
  const schemaHash = metadata.get('barflow.schema_hash');
  const tsField = fields.find((f) => f.name === 'ts');
  const symbolField = fields.find((f) => f.name === 'symbol');
  if (tsField === undefined || symbolField === undefined) {
    throw new Error(`${path}: not a feature table: no ${tsField === undefined ? 'ts' : 'symbol'} column (columns: ${preview(fields.map((f) => f.name))})`);
  }
  if (schemaHash === undefined) {
    throw new Error(`${path}: not a barflow feature table: its schema has no barflow.schema_hash metadata, so the feature set it was computed with is unknown`);
  }
  if (!DataType.isTimestamp(tsField.type)) throw new Error(`${path}: column ts has type ${tsField.type}, not a timestamp`);
  const featureFields = fields.filter((f) => f !== tsField && f !== symbolField);
  for (const f of featureFields) {
    if (!DataType.isFloat(f.type) || f.type.precision === Precision.HALF) {
      throw new Error(`${path}: column ${f.name} has type ${f.type}; feature columns are float64 (or float32)`);
    }
  }
  const byName = new Map(featureFields.map((f) => [f.name, f]));
  const wanted = options.columns ?? featureFields.map((f) => f.name);
  for (const name of wanted) {
    if (!byName.has(name)) throw new Error(unknownColumn(path, name, featureFields.map((f) => f.name)));
  }
  const chosen = new Set(wanted);
  const columnNames = featureFields.map((f) => f.name).filter((name) => chosen.has(name));

  const n = table.numRows;
  const ts = readTimestamps(path, table, n, tsField);
  const { codes, symbols } = readSymbols(path, table, n);
  const symbolStart = checkOrder(path, ts, codes, symbols);
  const columns = new Map<string, Float64Array>();
  for (const name of columnNames) columns.set(name, readFloatColumn(table, name, n));

  return {
    path,
    n,
    ts,
    symbolCodes: codes,
    symbols,
    symbolStart,
    columnNames,
    schemaHash,
    metadata,
    column(name: string): Float64Array {
      const values = columns.get(name);
      if (values === undefined) {
        throw new Error(byName.has(name) ? `${path}: column ${name} was not loaded (pass it in options.columns)` : unknownColumn(path, name, columnNames));
      }
      return values;
    },
    hasColumn: (name: string) => columns.has(name),
  };
}

/** A row as people read it in an error: index, symbol and bar open time. */
export function describeRow(table: FeatureTable, row: number): string {
  return `row ${row} (${table.symbols[table.symbolCodes[row]!]} ${formatTs(table.ts[row]!)})`;
}

function unknownColumn(path: string, name: string, names: string[]): string {
  return `${path}: unknown column ${JSON.stringify(name)}; the table has ${names.length} feature columns: ${preview(names)}`;
}

function preview(names: string[]): string {
  return names.length <= 12 ? names.join(', ') : `${names.slice(0, 12).join(', ')}, … (${names.length - 12} more)`;
}

/** The chunks of one column, in row order. */
function chunks(table: Table, name: string): Data<DataType>[] {
  return table.getChild(name)!.data as Data<DataType>[];
}

function isNull(d: Data<DataType>, i: number): boolean {
  const bitmap = d.nullBitmap;
  if (d.nullCount === 0 || bitmap === undefined || bitmap.length === 0) return false;
  const j = d.offset + i;
  return (bitmap[j >> 3]! & (1 << (j & 7))) === 0;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function readTimestamps(path: string, table: Table, n: number, field: Field): Float64Array {
  const unit = (field.type as { unit: TimeUnit }).unit;
  const ts = new Float64Array(n);
  let at = 0;
  for (const d of chunks(table, 'ts')) {
    const values = d.values as BigInt64Array;
    // Number(bigint) costs about a microsecond; the two 32-bit halves give the same integer (exact
    // below 2^53, decades either side of 1970 in ms, us and s) in a few nanoseconds.
    const halves = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
    for (let i = 0; i < d.length; i++) {
      if (isNull(d, i)) throw new Error(`${path}: row ${at} has no ts`);
      const j = d.offset + i;
      if (unit === TimeUnit.NANOSECOND) {
        ts[at++] = Number(values[j]! / 1_000_000n);
        continue;
      }
      const v = LITTLE_ENDIAN ? halves[2 * j + 1]! * 4294967296 + (halves[2 * j]! >>> 0) : Number(values[j]!);
      ts[at++] = unit === TimeUnit.MICROSECOND ? v / 1000 : unit === TimeUnit.SECOND ? v * 1000 : v;
    }
  }
  return ts;
}

/**
 * Symbol codes without decoding a string per row: a row's bytes are compared with the current
 * symbol's, and decoded only when they differ (symbols come in long runs).
 */
function readSymbols(path: string, table: Table, n: number): { codes: Int32Array; symbols: string[] } {
  const codes = new Int32Array(n);
  const symbols: string[] = [];
  const index = new Map<string, number>();
  const code = (s: string) => {
    let c = index.get(s);
    if (c === undefined) {
      c = symbols.push(s) - 1;
      index.set(s, c);
    }
    return c;
  };
  const decoder = new TextDecoder();
  const vector = table.getChild('symbol')!;
  let at = 0;
  for (const d of chunks(table, 'symbol')) {
    const offsets = d.valueOffsets as Int32Array | undefined;
    const bytes = d.values as Uint8Array | undefined;
    const plain = DataType.isUtf8(d.type) && offsets !== undefined && bytes !== undefined;
    let runStart = -1;
    let runEnd = -1;
    let runCode = -1;
    for (let i = 0; i < d.length; i++, at++) {
      if (isNull(d, i)) throw new Error(`${path}: row ${at} has no symbol`);
      if (!plain) {
        codes[at] = code(String(vector.get(at)));
        continue;
      }
      const s = offsets[d.offset + i]!;
      const e = offsets[d.offset + i + 1]!;
      if (runCode < 0 || !sameBytes(bytes, s, e, runStart, runEnd)) {
        runCode = code(decoder.decode(bytes.subarray(s, e)));
        runStart = s;
        runEnd = e;
      }
      codes[at] = runCode;
    }
  }
  return { codes, symbols };
}

function sameBytes(b: Uint8Array, s: number, e: number, s2: number, e2: number): boolean {
  if (e - s !== e2 - s2) return false;
  for (let k = 0; k < e - s; k++) if (b[s + k] !== b[s2 + k]) return false;
  return true;
}

/** Each symbol's rows together and in strictly increasing ts: what windows and splits rely on. */
function checkOrder(path: string, ts: Float64Array, codes: Int32Array, symbols: string[]): Int32Array {
  const start = new Int32Array(symbols.length + 1);
  const seen = new Uint8Array(symbols.length);
  for (let i = 0; i < ts.length; i++) {
    const c = codes[i]!;
    if (i === 0 || c !== codes[i - 1]) {
      if (seen[c]) {
        throw new Error(`${path}: rows are not ordered by symbol then ts: ${symbols[c]} appears again at row ${i} after rows of ${symbols[codes[i - 1]!]}`);
      }
      seen[c] = 1;
      start[c] = i;
    } else if (!(ts[i]! > ts[i - 1]!)) {
      throw new Error(`${path}: rows are not ordered by symbol then ts: row ${i} (${symbols[c]} ${formatTs(ts[i]!)}) is not after row ${i - 1} (${formatTs(ts[i - 1]!)})`);
    }
  }
  start[symbols.length] = ts.length;
  return start;
}

function readFloatColumn(table: Table, name: string, n: number): Float64Array {
  const out = new Float64Array(n);
  let at = 0;
  for (const d of chunks(table, name)) {
    const values = d.values as Float64Array | Float32Array;
    out.set(values.subarray(d.offset, d.offset + d.length), at);
    // Writers may leave any value under a null (parquet leaves 0): the bitmap decides.
    const bitmap = d.nullCount > 0 ? d.nullBitmap : undefined;
    if (bitmap !== undefined && bitmap.length > 0) {
      for (let i = 0, j = d.offset; i < d.length; i++, j++) if ((bitmap[j >> 3]! & (1 << (j & 7))) === 0) out[at + i] = Number.NaN;
    }
    at += d.length;
  }
  return out;
}
