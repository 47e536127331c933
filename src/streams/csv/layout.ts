import { emptyTimestamp, isEpochNumber, parseIsoTimestamp } from '../../time/timestamps.js';

/**
 * Column layouts the reader understands.
 * - `barflow`: header `ts,open,high,low,close,volume` (optionally `symbol`), as in `shared/data`
 *   and `barflow export`; any header naming those columns (aliases below) is read the same way.
 * - `firstrate`: FirstRateData's headerless `datetime,open,high,low,close,volume` with naive US
 *   Eastern times (needs `--tz`).
 * - `binance`: Binance kline CSV (data.binance.vision), 12 columns, headerless or with header,
 *   open time in epoch ms (µs for spot files since 2025).
 */
export const LAYOUTS = ['auto', 'barflow', 'firstrate', 'binance'] as const;
export type Layout = (typeof LAYOUTS)[number];

export interface ColumnMap {
  layout: Exclude<Layout, 'auto'>;
  hasHeader: boolean;
  /** Number of fields every data row must have. */
  width: number;
  ts: number;
  /** Index of a separate time-of-day column joined to `ts` (header `date` + `time`), or -1. */
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  symbol: number;
}

/** Header names accepted for each column (lower case), shared by the CSV and the Arrow/Parquet readers. */
export const HEADER_ALIASES: Record<'ts' | 'date' | 'time' | 'open' | 'high' | 'low' | 'close' | 'volume' | 'symbol', string[]> = {
  ts: ['ts', 'timestamp', 'datetime', 'date_time', 'open_time', 'opentime', 'open time', 'time_utc', 'bar_time'],
  date: ['date', 'day'],
  time: ['time', 't'],
  open: ['open', 'o', 'open_price', 'opening_price'],
  high: ['high', 'h', 'high_price'],
  low: ['low', 'l', 'low_price'],
  close: ['close', 'c', 'close_price', 'closing_price'],
  volume: ['volume', 'vol', 'v', 'base_volume', 'qty'],
  symbol: ['symbol', 'ticker', 'instrument', 'pair', 'sym'],
};

export class LayoutError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'LayoutError';
  }
}

/** True for an epoch number or an ISO-8601 date-time, zoned or naive. */
function looksLikeTimestamp(field: string): boolean {
  return isEpochNumber(field) || parseIsoTimestamp(field, emptyTimestamp());
}

function looksNaive(field: string): boolean {
  const out = emptyTimestamp();
  return !isEpochNumber(field) && parseIsoTimestamp(field, out) && out.naive;
}

const KNOWN_NAMES = new Set(Object.values(HEADER_ALIASES).flat());

/**
 * A first line is a header when at least three of its fields are known column names (a bar header
 * names six; a data row has at most one word, its symbol, and tickers such as T or C are also
 * aliases). Deciding it this way, and not by "the first field is no timestamp", keeps a corrupted
 * first data row a data row: it is rejected with its reason instead of stopping the whole file.
 */
function isHeaderLine(fields: string[]): boolean {
  let known = 0;
  for (const f of fields) if (KNOWN_NAMES.has(f.trim().toLowerCase())) known++;
  return known >= 3;
}

function fromHeader(file: string, header: string[], layout: Exclude<Layout, 'auto'>): ColumnMap {
  const names = header.map((h) => h.trim().toLowerCase());
  const find = (key: keyof typeof HEADER_ALIASES): number => names.findIndex((n) => HEADER_ALIASES[key].includes(n));
  let ts = find('ts');
  let time = -1;
  if (ts < 0) {
    ts = find('date');
    if (ts >= 0) time = find('time');
    else ts = find('time');
  }
  const map: ColumnMap = {
    layout,
    hasHeader: true,
    width: names.length,
    ts,
    time,
    open: find('open'),
    high: find('high'),
    low: find('low'),
    close: find('close'),
    volume: find('volume'),
    symbol: find('symbol'),
  };
  const missing = (['ts', 'open', 'high', 'low', 'close', 'volume'] as const).filter((k) => map[k] < 0);
  if (missing.length > 0) {
    throw new LayoutError(
      file,
      `header ${JSON.stringify(header.join(','))} has no column for ${missing.join(', ')}; ` +
        `expected ts,open,high,low,close,volume (aliases: timestamp, datetime, open_time, date+time, o/h/l/c/v)`,
    );
  }
  return map;
}

const positional = (layout: ColumnMap['layout'], width: number, offset: number): ColumnMap => ({
  layout,
  hasHeader: false,
  width,
  ts: offset,
  time: -1,
  open: offset + 1,
  high: offset + 2,
  low: offset + 3,
  close: offset + 4,
  volume: offset + 5,
  symbol: offset === 1 ? 0 : -1,
});

/** Works out the columns of a file from its first non-empty line. */
export function detectColumns(file: string, first: string[], requested: Layout): ColumnMap {
  const isHeader = isHeaderLine(first);
  if (requested === 'binance') {
    if (isHeader) return fromHeader(file, first, 'binance');
    if (first.length < 6) throw new LayoutError(file, `Binance kline rows have 12 columns, found ${first.length}`);
    return positional('binance', first.length, 0);
  }
  if (requested === 'firstrate') {
    if (isHeader) throw new LayoutError(file, `FirstRateData files have no header, found ${JSON.stringify(first.join(','))}`);
    if (first.length !== 6) throw new LayoutError(file, `FirstRateData rows have 6 columns, found ${first.length}`);
    return positional('firstrate', 6, 0);
  }
  if (isHeader) {
    const binanceHeader = first.some((h) => h.trim().toLowerCase() === 'close_time');
    return fromHeader(file, first, requested === 'auto' ? (binanceHeader ? 'binance' : 'barflow') : requested);
  }
  if (requested === 'barflow') {
    throw new LayoutError(file, `expected a header line ts,open,high,low,close,volume, found ${JSON.stringify(first.join(','))}`);
  }
  if (first.length === 6) return positional(looksNaive(first[0]!) ? 'firstrate' : 'barflow', 6, 0);
  if (first.length === 12) return positional('binance', 12, 0);
  if (first.length === 7) {
    // symbol,ts,o,h,l,c,v or ts,o,h,l,c,v,symbol: the timestamp says which.
    if (looksLikeTimestamp(first[1]!) && !looksLikeTimestamp(first[0]!)) return positional('barflow', 7, 1);
    if (looksLikeTimestamp(first[0]!)) return { ...positional('barflow', 7, 0), symbol: 6 };
  }
  throw new LayoutError(
    file,
    `cannot tell the columns of a headerless file from its first line (${first.length} fields); add a header ` +
      `(ts,open,high,low,close,volume[,symbol]) or pass --layout firstrate|binance`,
  );
}
