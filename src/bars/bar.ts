/**
 * A 1-minute OHLCV bar. `ts` is the bar's OPEN time in UTC epoch milliseconds, so a bar stamped
 * 10:00 covers 10:00:00–10:00:59.999 and is known (closed) at 10:01.
 */
export interface Bar {
  symbol: string;
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export const MINUTE_MS = 60_000;

/** The numeric fields of a bar, in the order files and messages carry them. */
export const BAR_VALUE_FIELDS = ['open', 'high', 'low', 'close', 'volume'] as const;
export type BarValueField = (typeof BAR_VALUE_FIELDS)[number];

/**
 * Symbols are used as Kafka keys, QuestDB SYMBOL values and file-name parts, so they are kept to a
 * conservative alphabet that covers tickers seen across venues: `BTCUSDT`, `ES`, `ESZ3`, `BRK.B`,
 * `BTC-USD`, `EUR/USD`, `ES=F`, `^GSPC`, `6E:CME`, `BTC_PERP`.
 */
export const SYMBOL_PATTERN = /^[A-Za-z0-9^][A-Za-z0-9._\-/:=^]{0,63}$/;

export function isValidSymbol(symbol: string): boolean {
  return SYMBOL_PATTERN.test(symbol);
}

/** ISO-8601 UTC text of an epoch-ms timestamp, without milliseconds when they are zero. */
export function formatTs(ts: number): string {
  const iso = new Date(ts).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

/** Exact equality of two bars: same symbol, same instant, bit-identical values. */
export function barsEqual(a: Bar, b: Bar): boolean {
  return (
    a.symbol === b.symbol &&
    a.ts === b.ts &&
    Object.is(a.open, b.open) &&
    Object.is(a.high, b.high) &&
    Object.is(a.low, b.low) &&
    Object.is(a.close, b.close) &&
    Object.is(a.volume, b.volume)
  );
}
