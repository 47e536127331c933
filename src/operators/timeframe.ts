import { MINUTE_MS } from '../bars/bar.js';

/** The resampling ladder: the 1-minute base and the higher timeframes built from it. */
export const LADDER = ['1m', '5m', '10m', '15m', '20m', '25m', '30m', '45m', '1h'] as const;

const TIMEFRAME = /^(\d+)(m|h)$/;

/** Minutes in a timeframe such as `5m` or `1h` (1 minute to 1 day). */
export function timeframeMinutes(tf: string): number {
  const m = TIMEFRAME.exec(tf);
  const minutes = m ? Number(m[1]) * (m[2] === 'h' ? 60 : 1) : Number.NaN;
  if (!(minutes >= 1 && minutes <= 1440)) {
    throw new Error(`invalid timeframe ${JSON.stringify(tf)}: use <n>m or <n>h between 1m and 24h, e.g. 5m, 45m, 1h`);
  }
  return minutes;
}

export function timeframeMs(tf: string): number {
  return timeframeMinutes(tf) * MINUTE_MS;
}
