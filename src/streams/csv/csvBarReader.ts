import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { type Bar, isValidSymbol } from '../../bars/bar.js';
import { classifyBadNumber, parseDecimal } from '../../bars/numbers.js';
import { type Reject, RejectCounts, StrictRejectError } from '../../bars/rejects.js';
import { BarValidator, type SymbolStats, type Violation } from '../../bars/validation.js';
import { TimeZone } from '../../time/timezone.js';
import {
  type EpochUnit,
  emptyTimestamp, type ParsedTimestamp,
  guessEpochUnit,
  isEpochNumber,
  parseEpoch,
  parseIsoTimestamp,
} from '../../time/timestamps.js';
import { detectDelimiter, splitFields } from './fields.js';
import { type ColumnMap, type Layout, LayoutError, detectColumns } from './layout.js';

export interface CsvReadOptions {
  /** Symbol of every bar; required unless the file has a symbol column. */
  symbol?: string;
  layout?: Layout;
  /** IANA zone of naive (zone-less) timestamps, e.g. America/New_York for FirstRateData. */
  tz?: string;
  /** Unit of epoch-integer timestamps; guessed from the first row when 'auto'. */
  tsUnit?: 'auto' | EpochUnit;
  /** Throw a StrictRejectError at the first rejected row instead of reporting it. */
  strict?: boolean;
  /** Bars per yielded batch. */
  batchSize?: number;
}

/** A slice of a file: the valid bars in file order and the rows refused in it. */
export interface BarBatch {
  bars: Bar[];
  rejects: Reject[];
}

export interface CsvReadSummary {
  file: string;
  layout: ColumnMap['layout'] | null;
  hasHeader: boolean;
  tsUnit: EpochUnit | null;
  tz: string | null;
  /** Data lines seen (header and blank lines excluded). */
  rows: number;
  bars: number;
  blankLines: number;
  /** Naive local times that fell in a DST overlap and were resolved by file order. */
  ambiguousLocalTimes: number;
  rejects: RejectCounts;
  symbols: SymbolStats[];
}

const VALUE_COLUMNS = ['open', 'high', 'low', 'close', 'volume'] as const;

/**
 * Streams bars out of a CSV file in constant memory, validating every row. Valid rows come out as
 * bars in file order; each invalid row comes out as a Reject naming the file, line, reason and raw
 * text. Iterate it once.
 */
export class CsvBarReader implements AsyncIterable<BarBatch> {
  readonly totalBytes: number;
  private stream: ReturnType<typeof createReadStream> | null = null;
  private columns: ColumnMap | null = null;
  private delimiter = ',';
  private tsUnit: EpochUnit | null;
  private readonly zone: TimeZone | null;
  private readonly validator = new BarValidator();
  private readonly rejectCounts = new RejectCounts();
  private readonly scratch: ParsedTimestamp = emptyTimestamp();
  private rows = 0;
  private bars = 0;
  private blankLines = 0;
  private ambiguous = 0;
  private sawZonedTimestamp = false;

  constructor(
    readonly file: string,
    private readonly options: CsvReadOptions = {},
  ) {
    if (options.symbol !== undefined && !isValidSymbol(options.symbol)) {
      throw new Error(`invalid symbol ${JSON.stringify(options.symbol)}: use letters, digits and . _ - / : = ^`);
    }
    this.totalBytes = statSync(file).size;
    this.tsUnit = options.tsUnit === undefined || options.tsUnit === 'auto' ? null : options.tsUnit;
    this.zone = options.tz === undefined ? null : TimeZone.of(options.tz);
  }

  /** Bytes of the file consumed so far, for progress reporting. */
  get bytesRead(): number {
    return this.stream?.bytesRead ?? 0;
  }

  /** Data rows seen so far. */
  get rowsRead(): number {
    return this.rows;
  }

  summary(): CsvReadSummary {
    return {
      file: this.file,
      layout: this.columns?.layout ?? null,
      hasHeader: this.columns?.hasHeader ?? false,
      tsUnit: this.tsUnit,
      tz: this.zone?.name ?? null,
      rows: this.rows,
      bars: this.bars,
      blankLines: this.blankLines,
      ambiguousLocalTimes: this.ambiguous,
      rejects: this.rejectCounts,
      symbols: this.validator.stats(),
    };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<BarBatch> {
    const batchSize = this.options.batchSize ?? 8192;
    this.stream = createReadStream(this.file, { highWaterMark: 1 << 20 });
    const lines = createInterface({ input: this.stream, crlfDelay: Infinity });
    let batch: BarBatch = { bars: [], rejects: [] };
    let lineNo = 0;
    try {
      for await (let line of lines) {
        lineNo++;
        if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
        if (line.trim() === '') {
          this.blankLines++;
          continue;
        }
        if (this.columns === null) {
          this.delimiter = detectDelimiter(line);
          const first = splitFields(line, this.delimiter);
          this.columns = detectColumns(this.file, first, this.options.layout ?? 'auto');
          this.checkSymbolSource();
          if (this.columns.hasHeader) continue;
        }
        this.rows++;
        const bar = this.parseRow(line, lineNo, batch.rejects);
        if (bar !== null) {
          batch.bars.push(bar);
          this.bars++;
        } else if (this.options.strict) {
          if (batch.bars.length > 0) yield { bars: batch.bars, rejects: [] };
          throw new StrictRejectError(batch.rejects[batch.rejects.length - 1]!);
        }
        if (batch.bars.length + batch.rejects.length >= batchSize) {
          yield batch;
          batch = { bars: [], rejects: [] };
        }
      }
    } finally {
      lines.close();
      this.stream.destroy();
    }
    if (batch.bars.length > 0 || batch.rejects.length > 0) yield batch;
  }

  private checkSymbolSource(): void {
    const hasColumn = this.columns!.symbol >= 0;
    if (hasColumn && this.options.symbol !== undefined) {
      throw new LayoutError(this.file, `has a symbol column, so --symbol ${this.options.symbol} is ambiguous; drop --symbol`);
    }
    if (!hasColumn && this.options.symbol === undefined) {
      throw new LayoutError(this.file, 'has no symbol column; pass --symbol (for example --symbol BTCUSDT)');
    }
  }

  /** Parses and validates one data line; on failure appends a Reject and returns null. */
  private parseRow(line: string, lineNo: number, rejects: Reject[]): Bar | null {
    const cols = this.columns!;
    const fields = splitFields(line, this.delimiter);
    if (fields.length !== cols.width) {
      return this.reject(rejects, lineNo, line, {
        reason: 'malformed_record',
        detail: `expected ${cols.width} fields, found ${fields.length}`,
      });
    }
    const symbol = cols.symbol >= 0 ? fields[cols.symbol]! : this.options.symbol!;
    if (!isValidSymbol(symbol)) {
      return this.reject(rejects, lineNo, line, {
        reason: 'unknown_symbol_format',
        detail: `symbol ${JSON.stringify(symbol)} is not a valid symbol`,
      });
    }
    const tsText = cols.time >= 0 ? `${fields[cols.ts]} ${fields[cols.time]}` : fields[cols.ts]!;
    const ts = this.parseTimestamp(tsText, symbol, lineNo);
    if (typeof ts !== 'number') return this.reject(rejects, lineNo, line, ts);
    const bar: Bar = { symbol, ts, open: 0, high: 0, low: 0, close: 0, volume: 0 };
    for (const key of VALUE_COLUMNS) {
      const text = fields[cols[key]]!;
      const value = parseDecimal(text);
      if (!Number.isFinite(value)) {
        const bad = classifyBadNumber(text);
        return this.reject(rejects, lineNo, line, { reason: bad.reason, detail: `${key}: ${bad.detail}` });
      }
      bar[key] = value;
    }
    const violation = this.validator.accept(bar);
    return violation === null ? bar : this.reject(rejects, lineNo, line, violation);
  }

  private parseTimestamp(text: string, symbol: string, lineNo: number): number | Violation {
    const ts = this.scratch;
    if (isEpochNumber(text)) {
      this.tsUnit ??= guessEpochUnit(text);
      parseEpoch(text, this.tsUnit, ts);
    } else if (!parseIsoTimestamp(text, ts)) {
      return { reason: 'unparsable_field', detail: `ts: ${JSON.stringify(text)} is not an ISO-8601 or epoch timestamp` };
    }
    if (ts.subMs) {
      return { reason: 'ts_not_minute_aligned', detail: `ts ${text} has non-zero digits below the millisecond` };
    }
    if (!ts.naive) {
      this.sawZonedTimestamp = true;
      return ts.ms;
    }
    if (this.zone === null) {
      if (!this.sawZonedTimestamp) {
        throw new LayoutError(
          this.file,
          `line ${lineNo}: timestamp ${JSON.stringify(text)} has no zone; pass --tz with its IANA zone ` +
            `(FirstRateData files are US Eastern: --tz America/New_York; --tz UTC if the times are UTC)`,
        );
      }
      return { reason: 'unparsable_field', detail: `ts: ${JSON.stringify(text)} has no zone and no --tz was given` };
    }
    const candidates = this.zone.fromLocal(ts.ms);
    if (candidates.length === 0) {
      return { reason: 'nonexistent_local_time', detail: `ts: ${text} does not exist in ${this.zone.name} (DST gap)` };
    }
    if (candidates.length === 1) return candidates[0]!;
    // A DST overlap: the wall-clock hour repeats. Rows are in time order, so the first instant
    // after the symbol's previous bar is the right one.
    this.ambiguous++;
    const last = this.validator.lastTs(symbol);
    return candidates.find((c) => last === undefined || c > last) ?? candidates[0]!;
  }

  private reject(rejects: Reject[], line: number, raw: string, violation: Violation): null {
    rejects.push({ source: this.file, line, reason: violation.reason, detail: violation.detail, raw });
    this.rejectCounts.add(violation.reason);
    return null;
  }
}
