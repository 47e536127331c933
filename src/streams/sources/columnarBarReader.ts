import { openAsBlob, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { DataType, type RecordBatch, RecordBatchReader, type Schema, tableFromIPC } from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { BAR_VALUE_FIELDS, type Bar, type BarValueField, isValidSymbol } from '../../bars/bar.js';
import { type Reject, RejectCounts, StrictRejectError, type Violation } from '../../bars/rejects.js';
import { BarValidator } from '../../bars/validation.js';
import { TimeZone } from '../../time/timezone.js';
import { type EpochUnit, type ParsedTimestamp, emptyTimestamp, guessEpochUnit, isEpochNumber, parseEpoch, parseIsoTimestamp } from '../../time/timestamps.js';
import { type BarBatch, type CsvReadSummary, checkSymbolOptions } from '../csv/csvBarReader.js';
import { HEADER_ALIASES, LayoutError } from '../csv/layout.js';
import {
  type ColumnarFormat,
  type NumberCell,
  type RawCell,
  type SymbolCell,
  type TsCell,
  describeFields,
  detectFormat,
  numberCell,
  rawCell,
  symbolCell,
  timestampUnit,
  tsCell,
  unsupportedType,
} from './columnarCells.js';

export type { BarBatch };

export interface ColumnarReadOptions {
  /** Symbol of every bar; required unless the file has a symbol column. */
  symbol?: string;
  /** Symbol for a file without a symbol column when `symbol` is not given. */
  defaultSymbol?: string;
  /**
   * IANA zone of naive times: zone-less timestamp columns (UTC when not given, as pandas writes
   * them) and zone-less ISO text (refused when not given, as in the CSV reader).
   */
  tz?: string;
  /** Unit of integer/float epoch columns; 'auto' guesses it per value like the CSV reader. */
  tsUnit?: 'auto' | EpochUnit;
  /** Throw a StrictRejectError at the first rejected row instead of reporting it. */
  strict?: boolean;
  /** Rows per yielded batch (bars and rejects together); also the Parquet decoding batch size. */
  batchSize?: number;
}

/** CsvReadSummary with the columnar format in `layout` (and `hasHeader` always true: names come from the schema). */
export interface ColumnarReadSummary extends Omit<CsvReadSummary, 'layout'> {
  layout: ColumnarFormat | null;
}

type Role = 'ts' | BarValueField | 'symbol';
const ROLES: readonly Role[] = ['ts', ...BAR_VALUE_FIELDS, 'symbol'];

const ALIASES: Record<Role | 'date' | 'time', string[]> = HEADER_ALIASES;

/** Column name in the file per role (symbol absent when the file has none). */
type Columns = Partial<Record<Role, string>>;

interface Cells {
  ts: TsCell;
  tsRaw: RawCell;
  values: NumberCell[];
  symbol: SymbolCell | null;
  raw: [string, RawCell][];
}

/**
 * Streams bars out of an Arrow IPC (file or stream) or Parquet file, one record batch at a time,
 * validating every row with the CSV reader's rules and reason codes. A reject's `line` is the
 * 1-based row number in the file and its `raw` a JSON object of the row's bar columns. Values are
 * converted as the CSV reader would read the same values written as text, so both give identical
 * bars. Iterate it once.
 */
export class ColumnarBarReader implements AsyncIterable<BarBatch> {
  readonly totalBytes: number;
  readonly format: ColumnarFormat;
  private consumed = 0;
  private columns: Columns | null = null;
  private readonly fixedUnit: EpochUnit | null;
  private readonly unitsSeen: EpochUnit[] = [];
  private readonly zone: TimeZone | null;
  private readonly validator = new BarValidator();
  private readonly rejectCounts = new RejectCounts();
  private readonly scratch: ParsedTimestamp = emptyTimestamp();
  private rows = 0;
  private bars = 0;
  private ambiguous = 0;
  private sawZonedText = false;
  private tsIsText = false;
  private fixedSymbol: string | undefined;

  constructor(
    readonly file: string,
    private readonly options: ColumnarReadOptions = {},
  ) {
    checkSymbolOptions(options);
    this.totalBytes = statSync(file).size;
    this.format = detectFormat(file);
    this.fixedUnit = options.tsUnit === undefined || options.tsUnit === 'auto' ? null : options.tsUnit;
    this.zone = options.tz === undefined ? null : TimeZone.of(options.tz);
  }

  /** Bytes of the file consumed so far, estimated from the record batches decoded (exact at the end), for progress. */
  get bytesRead(): number {
    return Math.min(this.consumed, this.totalBytes);
  }

  /** Data rows seen so far. */
  get rowsRead(): number {
    return this.rows;
  }

  summary(): ColumnarReadSummary {
    return {
      file: this.file,
      layout: this.columns === null ? null : this.format,
      hasHeader: this.columns !== null,
      tsUnits: [...this.unitsSeen],
      tz: this.zone?.name ?? null,
      rows: this.rows,
      bars: this.bars,
      blankLines: 0,
      ambiguousLocalTimes: this.ambiguous,
      rejects: this.rejectCounts,
      symbols: this.validator.stats(),
    };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<BarBatch> {
    const batchSize = this.options.batchSize ?? 8192;
    let out: BarBatch = { bars: [], rejects: [] };
    const source = this.format === 'parquet' ? this.parquetBatches(batchSize) : this.arrowBatches();
    for await (const batch of source) {
      const cells = this.cellsOf(batch);
      for (let row = 0; row < batch.numRows; row++) {
        const bar = this.parseRow(cells, row, ++this.rows, out.rejects);
        if (bar !== null) {
          out.bars.push(bar);
          this.bars++;
        } else if (this.options.strict) {
          if (out.bars.length > 0) yield { bars: out.bars, rejects: [] };
          throw new StrictRejectError(out.rejects[out.rejects.length - 1]!);
        }
        if (out.bars.length + out.rejects.length >= batchSize) {
          yield out;
          out = { bars: [], rejects: [] };
        }
      }
    }
    this.consumed = this.totalBytes;
    if (out.bars.length > 0 || out.rejects.length > 0) yield out;
  }

  /**
   * Arrow IPC through apache-arrow's async reader on a file handle: an IPC file is read by random
   * access (footer, then one record batch at a time), a stream message by message, so memory is
   * bounded by the largest record batch. (Given a Node stream instead, apache-arrow reads a whole
   * IPC file into memory first to reach its footer.)
   */
  private async *arrowBatches(): AsyncGenerator<RecordBatch> {
    const handle = await open(this.file, 'r');
    try {
      const reader = await this.wrap('Arrow IPC', () => RecordBatchReader.from(handle).then((r) => r.open()));
      this.resolveColumns(reader.schema);
      const fileBatches = reader.isFile() ? reader.numRecordBatches : 0;
      const batches = reader[Symbol.asyncIterator]();
      for (let i = 1; ; i++) {
        const next = await this.wrap('Arrow IPC', () => batches.next());
        if (next.done) break;
        // Progress: share of the file's batches, or for a stream the bytes of the batches decoded.
        this.consumed = fileBatches > 0 ? Math.round((i / fileBatches) * this.totalBytes) : this.consumed + next.value.data.byteLength;
        yield next.value;
      }
    } finally {
      await handle.close();
    }
  }

  /**
   * Parquet through parquet-wasm's async reader over a file-backed Blob (fs.openAsBlob): it reads
   * the footer, then the needed column chunks of one row group at a time, and decodes `batchSize`
   * rows per record batch; only the bar columns are read. Each batch crosses from WebAssembly
   * memory to apache-arrow as one IPC message.
   */
  private async *parquetBatches(batchSize: number): AsyncGenerator<RecordBatch> {
    const file = await this.wrap('Parquet', async () => parquet.ParquetFile.fromFile(await openAsBlob(this.file)));
    let batches: AsyncIterator<parquet.RecordBatch> | undefined;
    try {
      const schema = tableFromIPC(file.schema().intoIPCStream()).schema;
      const columns = this.resolveColumns(schema);
      const meta = file.metadata();
      const totalRows = meta.fileMetadata().numRows();
      meta.free();
      const stream = await this.wrap('Parquet', () => file.stream({ batchSize, columns }));
      const iterator = (stream as unknown as AsyncIterable<parquet.RecordBatch>)[Symbol.asyncIterator]();
      batches = iterator;
      for (;;) {
        const next = await this.wrap('Parquet', () => iterator.next());
        if (next.done) break;
        const table = tableFromIPC(next.value.intoIPCStream());
        for (const batch of table.batches) {
          this.consumed = totalRows > 0 ? Math.round(((this.rows + batch.numRows) / totalRows) * this.totalBytes) : this.totalBytes;
          yield batch;
        }
      }
    } finally {
      // Cancels the stream when the consumer stopped early (strict mode, break) before freeing.
      await batches?.return?.();
      file.free();
    }
  }

  /** Library errors (truncated file, compressed IPC, bad footer) named with the file they are about. */
  private async wrap<T>(what: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof LayoutError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      const hint = /compress/i.test(message) ? ' (compressed Arrow IPC is not supported: write it uncompressed, or as Parquet)' : '';
      throw new LayoutError(this.file, `cannot read ${what} data: ${message}${hint}`);
    }
  }

  /** Picks the bar columns by name (case-insensitive, the CSV header's aliases) and checks their types. */
  private resolveColumns(schema: Schema): string[] {
    const fields = schema.fields;
    const names = fields.map((f) => f.name.trim().toLowerCase());
    const find = (key: keyof typeof ALIASES): number => names.findIndex((n) => ALIASES[key].includes(n));
    const columns: Columns = {};
    for (const role of ROLES) {
      let index = find(role);
      if (role === 'ts' && index < 0) {
        if (find('date') >= 0 && find('time') >= 0) {
          throw new LayoutError(this.file, `has separate date and time columns (${describeFields(fields)}); columnar files need one timestamp column`);
        }
        index = find('time') >= 0 ? find('time') : find('date');
      }
      if (index >= 0) columns[role] = fields[index]!.name;
    }
    const missing = ROLES.filter((r) => r !== 'symbol' && columns[r] === undefined);
    if (missing.length > 0) {
      throw new LayoutError(
        this.file,
        `has no column for ${missing.join(', ')}; found ${describeFields(fields)}; expected ts,open,high,low,close,volume[,symbol] ` +
          `(aliases: timestamp, datetime, open_time, o/h/l/c/v; names are case-insensitive)`,
      );
    }
    for (const role of ROLES) {
      const name = columns[role];
      if (name === undefined) continue;
      const type = fields.find((f) => f.name === name)!.type as DataType;
      const problem = unsupportedType(role === 'ts' ? 'ts' : role === 'symbol' ? 'symbol' : 'value', type);
      if (problem !== null) throw new LayoutError(this.file, `column ${JSON.stringify(name)} (${role}) ${problem}`);
      if (role === 'ts') {
        const unit = timestampUnit(type);
        if (unit !== null) this.unitsSeen.push(unit);
        this.tsIsText = unit === null && !DataType.isInt(type) && !DataType.isFloat(type);
      }
    }
    this.columns = columns;
    this.checkSymbolSource();
    return this.usedNames(schema);
  }

  private checkSymbolSource(): void {
    const hasColumn = this.columns!.symbol !== undefined;
    if (hasColumn && this.options.symbol !== undefined) {
      throw new LayoutError(this.file, `has a symbol column, so --symbol ${this.options.symbol} is ambiguous; drop --symbol`);
    }
    this.fixedSymbol = hasColumn ? undefined : (this.options.symbol ?? this.options.defaultSymbol);
    if (!hasColumn && this.fixedSymbol === undefined) {
      throw new LayoutError(this.file, 'has no symbol column; pass --symbol (for example --symbol BTCUSDT)');
    }
  }

  /** Names of the bar columns in the file's order (the order a reject's `raw` shows them in). */
  private usedNames(schema: Schema): string[] {
    const used = new Set(Object.values(this.columns!));
    return schema.fields.filter((f) => used.has(f.name)).map((f) => f.name);
  }

  private cellsOf(batch: RecordBatch): Cells {
    const cols = this.columns!;
    const data = (name: string) => batch.data.children[batch.schema.fields.findIndex((f) => f.name === name)]!;
    return {
      ts: tsCell(data(cols.ts!), 'ts', this.parseText),
      tsRaw: rawCell(data(cols.ts!)),
      values: BAR_VALUE_FIELDS.map((key) => numberCell(data(cols[key]!), key)),
      symbol: cols.symbol === undefined ? null : symbolCell(data(cols.symbol)),
      raw: this.usedNames(batch.schema).map((name) => [name, rawCell(data(name))]),
    };
  }

  /** Timestamp text (ISO or epoch, also epoch numbers printed) exactly as the CSV reader reads it. */
  private readonly parseText = (text: string, out: ParsedTimestamp): Violation | null => {
    const bad = (): Violation => ({ reason: 'unparsable_field', detail: `ts: ${JSON.stringify(text)} is not an ISO-8601 or epoch timestamp` });
    if (text.charCodeAt(4) === 45) return parseIsoTimestamp(text, out) ? null : bad();
    if (isEpochNumber(text)) {
      const unit = this.fixedUnit ?? guessEpochUnit(text);
      if (!this.unitsSeen.includes(unit)) this.unitsSeen.push(unit);
      parseEpoch(text, unit, out);
      return null;
    }
    return parseIsoTimestamp(text, out) ? null : bad();
  };

  /** Parses and validates one row; on failure appends a Reject and returns null. */
  private parseRow(cells: Cells, row: number, lineNo: number, rejects: Reject[]): Bar | null {
    let symbol = this.fixedSymbol;
    if (symbol === undefined) {
      const value = cells.symbol!(row);
      if (value === null || !isValidSymbol(value)) {
        return this.reject(rejects, lineNo, cells, row, { reason: 'unknown_symbol_format', detail: `symbol ${JSON.stringify(value)} is not a valid symbol` });
      }
      symbol = value;
    }
    const ts = this.timestamp(cells, row, symbol);
    if (typeof ts !== 'number') return this.reject(rejects, lineNo, cells, row, ts);
    const bar: Bar = { symbol, ts, open: 0, high: 0, low: 0, close: 0, volume: 0 };
    for (let k = 0; k < BAR_VALUE_FIELDS.length; k++) {
      const value = cells.values[k]!(row);
      if (typeof value !== 'number') return this.reject(rejects, lineNo, cells, row, value);
      bar[BAR_VALUE_FIELDS[k]!] = value;
    }
    const violation = this.validator.accept(bar);
    return violation === null ? bar : this.reject(rejects, lineNo, cells, row, violation);
  }

  private timestamp(cells: Cells, row: number, symbol: string): number | Violation {
    const ts = this.scratch;
    const bad = cells.ts(row, ts);
    if (bad !== null) return bad;
    if (ts.subMs) return { reason: 'ts_not_minute_aligned', detail: `ts ${String(cells.tsRaw(row))} has non-zero digits below the millisecond` };
    if (!ts.naive) {
      if (this.tsIsText) this.sawZonedText = true;
      return ts.ms;
    }
    return this.fromNaive(ts.ms, symbol, String(cells.tsRaw(row)));
  }

  /** A zone-less time (`local`: its wall-clock reading as if UTC) to an instant, or why it has none. */
  private fromNaive(local: number, symbol: string, shown: string): number | Violation {    if (this.zone === null) {
      // A zone-less timestamp column is UTC (pandas' naive datetime64 convention); zone-less text
      // is refused as in the CSV reader: a whole file of it needs tz, a stray row is a reject.
      if (!this.tsIsText) return local;
      if (!this.sawZonedText) {
        throw new LayoutError(this.file, `row ${this.rows}: timestamp ${JSON.stringify(shown)} has no zone; pass tz (--tz) with the file's IANA zone (--tz UTC if the times are UTC)`);
      }
      return { reason: 'unparsable_field', detail: `ts: ${JSON.stringify(shown)} has no zone and no --tz was given` };
    }
    const unique = this.zone.uniqueUtc(local);
    if (!Number.isNaN(unique)) return unique;
    const candidates = this.zone.fromLocal(local);
    if (candidates.length === 0) return { reason: 'nonexistent_local_time', detail: `ts: ${shown} does not exist in ${this.zone.name} (DST gap)` };
    // DST overlap: rows are in time order, so take the first instant not before the symbol's
    // previous bar (as the CSV reader does); a repeated row then reads as a duplicate.
    this.ambiguous++;
    const last = this.validator.lastTs(symbol);
    return candidates.find((c) => last === undefined || c >= last) ?? candidates[0]!;
  }

  private reject(rejects: Reject[], line: number, cells: Cells, row: number, violation: Violation): null {
    const raw = JSON.stringify(Object.fromEntries(cells.raw.map(([name, cell]) => [name, cell(row)])));
    rejects.push({ source: this.file, line, reason: violation.reason, detail: violation.detail, raw });
    this.rejectCounts.add(violation.reason);
    return null;
  }
}
