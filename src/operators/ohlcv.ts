/**
 * A bar of any timeframe: `ts` is the bucket's open time (its label), `bars` the number of
 * 1-minute bars it holds (fewer than the timeframe's minutes when minutes are missing).
 */
export interface OhlcvBar {
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  bars: number;
}

export function emptyOhlcv(): OhlcvBar {
  return { ts: Number.NaN, open: Number.NaN, high: Number.NaN, low: Number.NaN, close: Number.NaN, volume: Number.NaN, bars: 0 };
}

export function copyOhlcv(from: OhlcvBar, to: OhlcvBar): OhlcvBar {
  to.ts = from.ts;
  to.open = from.open;
  to.high = from.high;
  to.low = from.low;
  to.close = from.close;
  to.volume = from.volume;
  to.bars = from.bars;
  return to;
}
