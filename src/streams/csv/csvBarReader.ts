import { statSync } from 'node:fs';
import { BAR_VALUE_FIELDS, type Bar, isValidSymbol } from '../../bars/bar.js';
import { decimalOrViolation } from '../../bars/numbers.js';
import { type Reject, RejectCounts, StrictRejectError, type Violation } from '../../bars/rejects.js';
import { BarValidator, type SymbolStats } from '../../bars/validation.js';
import { TimeZone } from '../../time/timezone.js';
import { type EpochUnit, type ParsedTimestamp, emptyTimestamp, guessEpochUnit, isEpochNumber, parseEpoch, parseIsoTimestamp } from '../../time/timestamps.js';
import { detectDelimiter, splitFields } from './fields.js';
import { type ColumnMap, type Layout, LayoutError, detectColumns } from './layout.js';
import { textLines } from '../textLines.js';

export interface CsvReadOptions {
  /** Symbol of every bar; required unless the file has a symbol column. */
  symbol?: string;
  /** Symbol for a file without a symbol column when `symbol` is not given (commands whose output has no symbol). */
  defaultSymbol?: string;
  layout?: Layout;
  /** IANA zone of naive (zone-less) timestamps, e.g. America/New_York for FirstRateData. */
  tz?: string;
  /** Unit of epoch timestamps; 'auto' guesses it for each value from its digit count. */
  tsUnit?: 'auto' | EpochUnit;
  /** Throw a StrictRejectError at the first rejected row instead of reporting it. */
  strict?: boolean;
  /** Rows per yielded batch (bars and rejects together). */
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
  /** Units of the epoch timestamps met, in the order first met (empty for ISO text). */
  tsUnits: EpochUnit[];
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

/** Refuses a `symbol` / `defaultSymbol` option that is no valid symbol, before any row is read. */
export function checkSymbolOptions(options: { symbol?: string; defaultSymbol?: string }): void {
  for (const symbol of [options.symbol, options.defaultSymbol]) {
    if (symbol !== undefined && !isValidSymbol(symbol)) throw new Error(`invalid symbol ${JSON.stringify(symbol)}: use letters, digits and . _ - / : = ^`);
  }
}

/** Lines held back, at most, while deciding whether zone-less times need --tz (see `defer`). */
const DEFER_LIMIT = 1000;
const DEFER = 'defer' as const;

/**
 * Streams bars out of a CSV file in constant memory, validating every row. Valid rows come out as
 * bars in file order; each invalid row comes out as a Reject naming the file, line, reason and raw
 * text. Per-row checks are plain code, not a zod schema: they run millions of times and each needs
 * its own reason code (zod guards configs and messages at the edges instead). Iterate it once.
 */
export class CsvBarReader implements AsyncIterable<BarBatch> {
  readonly totalBytes: number;
  private consumed = 0;
  private columns: ColumnMap | null = null;
  private delimiter = ',';
  private readonly fixedUnit: EpochUnit | null;
  private readonly unitsSeen: EpochUnit[] = [];
  private readonly zone: TimeZone | null;
  private readonly validator = new BarValidator();
  private readonly rejectCounts = new RejectCounts();
  private readonly scratch: ParsedTimestamp = emptyTimestamp();
  private rows = 0;
  private bars = 0;
  private blankLines = 0;
  private ambiguous = 0;
  private sawZonedTimestamp = false;
  /** The symbol of every row, when it does not come from a column. */
  private fixedSymbol: string | undefined;
  /** Lines held back while zone-less times without --tz are being judged, or null. */
  private deferred: { line: string; lineNo: number }[] | null = null;

  constructor(
    readonly file: string,
    private readonly options: CsvReadOptions = {},
  ) {
    checkSymbolOptions(options);
    this.totalBytes = statSync(file).size;
    this.fixedUnit = options.tsUnit === undefined || options.tsUnit === 'auto' ? null : options.tsUnit;
    this.zone = options.tz === undefined ? null : TimeZone.of(options.tz);
  }

  /** Bytes of the file turned into rows so far (approximate for multi-byte text), for progress. */
  get bytesRead(): number {
    return Math.min(this.consumed, this.totalBytes);
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
      tsUnits: [...this.unitsSeen],
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
    let batch: BarBatch = { bars: [], rejects: [] };
    // Lines ready to parse: normally just the current one (two flat arrays, no object per line).
    const readyLines: string[] = [];
    const readyNumbers: number[] = [];
    let lineNo = 0;
    for await (const chunk of textLines(this.file)) {
      for (let line of chunk) {
        lineNo++;
        this.consumed += line.length + 1;
        if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
        if (line.trim() === '') {
          this.blankLines++;
          continue;
        }
        if (this.columns === null) {
          this.delimiter = detectDelimiter(line);
          this.columns = detectColumns(this.file, splitFields(line, this.delimiter), this.options.layout ?? 'auto');
          this.checkSymbolSource();
          if (this.columns.hasHeader) continue;
        }
        readyLines.length = 0;
        readyNumbers.length = 0;
        this.admit(line, lineNo, readyLines, readyNumbers);
        for (let i = 0; i < readyLines.length; i++) {
          const bar = this.parseRow(readyLines[i]!, readyNumbers[i]!, batch.rejects);
          if (bar === DEFER) {
            this.deferred = [{ line: readyLines[i]!, lineNo: readyNumbers[i]! }];
            continue;
          }
          this.rows++;
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
      }
    }
    if (this.deferred !== null) throw this.missingZoneError(this.deferred[0]!);
    if (batch.bars.length > 0 || batch.rejects.length > 0) yield batch;
  }

  /**
   * Decides which lines are ready to be parsed. Normally just this one. But when a zone-less time
   * comes first and no --tz was given, the lines are held back until one with a zone shows up (a
   * file of zoned times with some naive ones: those get rejected, in file order) or until
   * DEFER_LIMIT lines or the end of the file show that the file is naive (stop and ask for --tz,
   * instead of rejecting every row). Nothing is rejected or dropped by holding back.
   */
  private admit(line: string, lineNo: number, readyLines: string[], readyNumbers: number[]): void {
    if (this.deferred === null) {
      readyLines.push(line);
      readyNumbers.push(lineNo);
      return;
    }
    this.deferred.push({ line, lineNo });
    const ts = this.timestampText(splitFields(line, this.delimiter));
    const out = this.scratch;
    const zoned = ts !== undefined && (isEpochNumber(ts) || (parseIsoTimestamp(ts, out) && !out.naive));
    if (zoned) {
      this.sawZonedTimestamp = true;
      for (const d of this.deferred) {
        readyLines.push(d.line);
        readyNumbers.push(d.lineNo);
      }
      this.deferred = null;
    } else if (this.deferred.length >= DEFER_LIMIT) {
      throw this.missingZoneError(this.deferred[0]!);
    }
  }

  private missingZoneError(first: { line: string; lineNo: number }): LayoutError {
    const ts = this.timestampText(splitFields(first.line, this.delimiter));
    return new LayoutError(
      this.file,
      `line ${first.lineNo}: timestamp ${JSON.stringify(ts)} has no zone, nor do the lines after it; pass --tz with the ` +
        `file's IANA zone (FirstRateData files are US Eastern: --tz America/New_York; --tz UTC if the times are UTC)`,
    );
  }

  private checkSymbolSource(): void {
    const hasColumn = this.columns!.symbol >= 0;
    if (hasColumn && this.options.symbol !== undefined) {
      throw new LayoutError(this.file, `has a symbol column, so --symbol ${this.options.symbol} is ambiguous; drop --symbol`);
    }
    this.fixedSymbol = hasColumn ? undefined : (this.options.symbol ?? this.options.defaultSymbol);
    if (!hasColumn && this.fixedSymbol === undefined) {
      throw new LayoutError(this.file, 'has no symbol column; pass --symbol (for example --symbol BTCUSDT)');
    }
  }

  private timestampText(fields: string[]): string | undefined {
    const cols = this.columns!;
    return cols.time >= 0 ? `${fields[cols.ts]} ${fields[cols.time]}` : fields[cols.ts];
  }

  /** Parses and validates one data line; on failure appends a Reject and returns null. */
  private parseRow(line: string, lineNo: number, rejects: Reject[]): Bar | null | typeof DEFER {
    const cols = this.columns!;
    const fields = splitFields(line, this.delimiter);
    if (fields.length !== cols.width) {
      return this.reject(rejects, lineNo, line, { reason: 'malformed_record', detail: `expected ${cols.width} fields, found ${fields.length}` });
    }
    let symbol = this.fixedSymbol;
    if (symbol === undefined) {
      symbol = fields[cols.symbol]!;
      if (!isValidSymbol(symbol)) {
        return this.reject(rejects, lineNo, line, { reason: 'unknown_symbol_format', detail: `symbol ${JSON.stringify(symbol)} is not a valid symbol` });
      }
    }
    const ts = this.parseTimestamp(this.timestampText(fields)!, symbol);
    if (ts === DEFER) return DEFER;
    if (typeof ts !== 'number') return this.reject(rejects, lineNo, line, ts);
    const bar: Bar = { symbol, ts, open: 0, high: 0, low: 0, close: 0, volume: 0 };
    for (const key of BAR_VALUE_FIELDS) {
      const value = decimalOrViolation(fields[cols[key]]!, key);
      if (typeof value !== 'number') return this.reject(rejects, lineNo, line, value);
      bar[key] = value;
    }
    const violation = this.validator.accept(bar);
    return violation === null ? bar : this.reject(rejects, lineNo, line, violation);
  }

  private parseTimestamp(text: string, symbol: string): number | Violation | typeof DEFER {
    const ts = this.scratch;
    // ISO text has its first '-' at index 4; testing that first spares ISO files the epoch regex.
    if (text.charCodeAt(4) === 45) {
      if (!parseIsoTimestamp(text, ts)) {
        return { reason: 'unparsable_field', detail: `ts: ${JSON.stringify(text)} is not an ISO-8601 or epoch timestamp` };
      }
    } else if (isEpochNumber(text)) {
      // Guessed per value: vendors change units mid-history (Binance spot: ms → µs in 2025).
      const unit = this.fixedUnit ?? guessEpochUnit(text);
      if (!this.unitsSeen.includes(unit)) this.unitsSeen.push(unit);
      parseEpoch(text, unit, ts);
    } else if (!parseIsoTimestamp(text, ts)) {
      return { reason: 'unparsable_field', detail: `ts: ${JSON.stringify(text)} is not an ISO-8601 or epoch timestamp` };
    }
    if (ts.subMs) return { reason: 'ts_not_minute_aligned', detail: `ts ${text} has non-zero digits below the millisecond` };
    if (!ts.naive) {
      this.sawZonedTimestamp = true;
      return ts.ms;
    }
    if (this.zone === null) {
      if (!this.sawZonedTimestamp) return DEFER;
      return { reason: 'unparsable_field', detail: `ts: ${JSON.stringify(text)} has no zone and no --tz was given` };
    }
    const unique = this.zone.uniqueUtc(ts.ms);
    if (!Number.isNaN(unique)) return unique;
    const candidates = this.zone.fromLocal(ts.ms);
    if (candidates.length === 0) {
      return { reason: 'nonexistent_local_time', detail: `ts: ${text} does not exist in ${this.zone.name} (DST gap)` };
    }
    // A DST overlap: the wall-clock hour repeats. Rows are in time order, so the instant is the
    // first one not before the symbol's previous bar; a repeated row then resolves to the same
    // instant as its original and is reported as a duplicate.
    this.ambiguous++;
    const last = this.validator.lastTs(symbol);
    return candidates.find((c) => last === undefined || c >= last) ?? candidates[0]!;
  }

  private reject(rejects: Reject[], line: number, raw: string, violation: Violation): null {
    rejects.push({ source: this.file, line, reason: violation.reason, detail: violation.detail, raw });
    this.rejectCounts.add(violation.reason);
    return null;
  }
}
