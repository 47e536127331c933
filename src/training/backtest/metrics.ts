import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { METRIC_NAMES, type MetricSummary, type PerformanceMetrics } from './backtestTypes.js';

/** What the metrics are computed from: one value per period of the portfolio's time line. */
export interface PeriodSeries {
  ts: Float64Array;
  /** Net return per period. */
  returns: Float64Array;
  /** Gross exposure held per period. */
  exposure: Float64Array;
  /** |Δposition| per period (summed over symbols, in units of capital). */
  turnover: Float64Array;
  /** Costs paid per period, as a fraction of capital. */
  costs: Float64Array;
  /** Net P&L of each closed trade. */
  tradePnl: number[];
}

/** Equity from 1 and its drawdown from the running peak. */
export function equityAndDrawdown(returns: Float64Array): { equity: Float64Array; drawdown: Float64Array } {
  const equity = new Float64Array(returns.length);
  const drawdown = new Float64Array(returns.length);
  let e = 1;
  let peak = 1;
  for (let i = 0; i < returns.length; i++) {
    e *= 1 + returns[i]!;
    peak = Math.max(peak, e);
    equity[i] = e;
    drawdown[i] = e / peak - 1;
  }
  return { equity, drawdown };
}

/**
 * The length of one bar: the smallest positive step between consecutive times of any one time line
 * (a symbol's rows or periods; 1 minute for barflow's datasets), 60,000 ms when no line has two.
 * Steps are taken within a line, never across symbols, whose clocks may be offset.
 */
export function estimateBarMs(timelines: readonly ArrayLike<number>[]): number {
  let bar = Number.POSITIVE_INFINITY;
  for (const ts of timelines) for (let i = 1; i < ts.length; i++) {
    const step = ts[i]! - ts[i - 1]!;
    if (step > 0 && step < bar) bar = step;
  }
  return Number.isFinite(bar) ? bar : 60_000;
}

/**
 * Metrics of one series. Durations count periods, not the clock: the longest drawdown lasts
 * `maxDrawdownPeriods` periods and `maxDrawdownPeriods × barMs` of trading time, so a weekend, a
 * session break or months without rows inside a drawdown add nothing to it.
 */
export function computeMetrics(s: PeriodSeries, periodsPerYear: number, barMs: number = estimateBarMs([s.ts])): PerformanceMetrics {
  const n = s.returns.length;
  const { equity, drawdown } = equityAndDrawdown(s.returns);
  let sum = 0;
  for (const r of s.returns) sum += r;
  const mean = n > 0 ? sum / n : Number.NaN;
  let ss = 0;
  let down = 0;
  for (const r of s.returns) {
    ss += (r - mean) ** 2;
    if (r < 0) down += r * r;
  }
  const std = n > 1 ? Math.sqrt(ss / (n - 1)) : Number.NaN;
  const downside = n > 0 ? Math.sqrt(down / n) : Number.NaN;
  const totalReturn = n > 0 ? equity[n - 1]! - 1 : 0;
  const years = n / periodsPerYear;
  const annualReturn = years > 0 ? (1 + totalReturn) ** (1 / years) - 1 : Number.NaN;
  const root = Math.sqrt(periodsPerYear);
  // Drawdown depth and the longest stretch spent below a previous peak.
  let maxDrawdown = 0;
  let longest = 0;
  let underSince = -1;
  for (let i = 0; i < n; i++) {
    maxDrawdown = Math.min(maxDrawdown, drawdown[i]!);
    if (drawdown[i]! < 0) {
      if (underSince < 0) underSince = i;
      longest = Math.max(longest, i - underSince + 1);
    } else {
      underSince = -1;
    }
  }
  let wins = 0;
  let gains = 0;
  let losses = 0;
  for (const p of s.tradePnl) {
    if (p > 0) {
      wins++;
      gains += p;
    } else losses -= p;
  }
  const trades = s.tradePnl.length;
  let exposed = 0;
  let turnover = 0;
  let costs = 0;
  for (let i = 0; i < n; i++) {
    if (s.exposure[i]! > 0) exposed++;
    turnover += s.turnover[i]!;
    costs += s.costs[i]!;
  }
  return {
    periods: n,
    totalReturn,
    annualReturn,
    annualVolatility: std * root,
    sharpe: std > 0 ? (mean / std) * root : Number.NaN,
    sortino: downside > 0 ? (mean / downside) * root : Number.NaN,
    calmar: maxDrawdown < 0 ? annualReturn / -maxDrawdown : Number.NaN,
    maxDrawdown,
    maxDrawdownPeriods: longest,
    maxDrawdownMs: longest * barMs,
    winRate: trades > 0 ? wins / trades : Number.NaN,
    profitFactor: trades === 0 ? Number.NaN : losses > 0 ? gains / losses : Number.POSITIVE_INFINITY,
    trades,
    turnover: n > 0 ? turnover / n : Number.NaN,
    exposure: n > 0 ? exposed / n : Number.NaN,
    costs,
  };
}

/**
 * Mean of each metric over folds or paths with a 95 % Student-t interval of that mean. Non-finite
 * values (a fold without trades has no win rate) are left out and `n` says how many counted.
 */
export function summarize(metrics: PerformanceMetrics[]): MetricSummary[] {
  return METRIC_NAMES.map((metric) => {
    const xs = metrics.map((m) => m[metric]).filter(Number.isFinite);
    const n = xs.length;
    const mean = n > 0 ? xs.reduce((a, b) => a + b, 0) / n : Number.NaN;
    if (n < 2) return { metric, n, mean, lo: Number.NaN, hi: Number.NaN };
    const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
    const half = tQuantile(0.975, n - 1) * (sd / Math.sqrt(n));
    return { metric, n, mean, lo: mean - half, hi: mean + half };
  });
}
