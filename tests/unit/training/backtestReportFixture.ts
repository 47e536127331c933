import { backtestTimeBase, backtestWithSymbols } from '../../../src/training/backtest/backtest.js';
import { parseBacktestConfig } from '../../../src/training/backtest/backtestConfig.js';
import { type BacktestResult, type BacktestSeries, METRIC_NAMES, type MetricSummary, type PerformanceMetrics } from '../../../src/training/backtest/backtestTypes.js';
import type { FeatureTable } from '../../../src/training/featureTable.js';
import { gaussian, mulberry32 } from '../../helpers/random.js';

/**
 * A synthetic but consistent backtest for the report tests: seeded 1-minute market returns, a
 * position that switches regime now and then with a small edge, costs on every change of position,
 * three contiguous test folds a day apart; equity, drawdown and every metric computed from the
 * returns as backtestTypes.ts defines them, the summary with a Student t interval.
 */

const MINUTE = 60_000;
export const PERIODS_PER_YEAR = 525_600;

export { mulberry32 };

interface RawSeries {
  ts: number[];
  returns: number[];
  positions: number[];
  costs: number[];
}

function simulate(rand: () => number, start: number, n: number, prevPos: number): RawSeries {
  const raw: RawSeries = { ts: [], returns: [], positions: [], costs: [] };
  let pos = prevPos;
  for (let i = 0; i < n; i++) {
    // Fat-tailed market: mostly quiet, sometimes a burst four times as wide.
    const sigma = rand() < 0.02 ? 0.0028 : 0.0007;
    const market = 0.000002 + sigma * gaussian(rand);
    const prev = pos;
    if (rand() < 0.004) {
      const u = rand();
      pos = u < 0.3 ? 0 : u < 0.68 ? 1 : -1;
    }
    const cost = 0.0002 * Math.abs(pos - prev);
    // A small edge: the position leans the right way a little more often than not.
    const r = pos * market + Math.abs(pos) * 0.000004 - cost;
    raw.ts.push(start + i * MINUTE);
    raw.returns.push(r);
    raw.positions.push(pos);
    raw.costs.push(cost);
  }
  return raw;
}

export function seriesFrom(name: string, raw: RawSeries, periodsPerYear: number): BacktestSeries {
  const n = raw.ts.length;
  const ts = Float64Array.from(raw.ts);
  const returns = Float64Array.from(raw.returns);
  const exposure = Float64Array.from(raw.positions, (p) => Math.abs(p));
  const equity = new Float64Array(n);
  const drawdown = new Float64Array(n);
  let e = 1;
  let peak = 1;
  for (let i = 0; i < n; i++) {
    e *= 1 + returns[i]!;
    equity[i] = e;
    peak = Math.max(peak, e);
    drawdown[i] = e / peak - 1;
  }
  return { name, ts, returns, equity, drawdown, exposure, metrics: metricsOf(raw, equity, drawdown, periodsPerYear) };
}

function metricsOf(raw: RawSeries, equity: Float64Array, drawdown: Float64Array, ppy: number): PerformanceMetrics {
  const r = raw.returns;
  const n = r.length;
  const mean = r.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(r.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const down = Math.sqrt(r.reduce((a, b) => a + Math.min(b, 0) ** 2, 0) / n);
  const totalReturn = equity[n - 1]! - 1;
  const annualReturn = (1 + totalReturn) ** (ppy / n) - 1;
  let maxDrawdown = 0;
  let longest = 0;
  let longestMs = 0;
  let runStart = -1;
  for (let i = 0; i <= n; i++) {
    const under = i < n && drawdown[i]! < 0;
    if (i < n) maxDrawdown = Math.min(maxDrawdown, drawdown[i]!);
    if (under && runStart < 0) runStart = i;
    if (!under && runStart >= 0) {
      if (i - runStart > longest) {
        longest = i - runStart;
        // Trading time: periods × the bar, whatever the clock did in between (a day between folds).
        longestMs = longest * MINUTE;
      }
      runStart = -1;
    }
  }
  const trades: number[] = [];
  let cur = 0;
  let open = false;
  for (let i = 0; i < n; i++) {
    const p = raw.positions[i]!;
    const prev = i > 0 ? raw.positions[i - 1]! : 0;
    if (open && Math.sign(p) !== Math.sign(prev)) {
      trades.push(cur);
      open = false;
      cur = 0;
    }
    if (p !== 0) {
      open = true;
      cur += r[i]!;
    }
  }
  if (open) trades.push(cur);
  const wins = trades.filter((t) => t > 0);
  const gains = wins.reduce((a, b) => a + b, 0);
  const losses = trades.filter((t) => t <= 0).reduce((a, b) => a + b, 0);
  let turnover = 0;
  for (let i = 0; i < n; i++) turnover += Math.abs(raw.positions[i]! - (i > 0 ? raw.positions[i - 1]! : 0));
  return {
    periods: n,
    totalReturn,
    annualReturn,
    annualVolatility: std * Math.sqrt(ppy),
    sharpe: std > 0 ? (mean / std) * Math.sqrt(ppy) : NaN,
    sortino: down > 0 ? (mean / down) * Math.sqrt(ppy) : NaN,
    calmar: maxDrawdown < 0 ? annualReturn / Math.abs(maxDrawdown) : NaN,
    maxDrawdown,
    maxDrawdownPeriods: longest,
    maxDrawdownMs: longestMs,
    winRate: trades.length > 0 ? wins.length / trades.length : NaN,
    profitFactor: trades.length === 0 ? NaN : losses === 0 ? Infinity : gains / Math.abs(losses),
    trades: trades.length,
    turnover: turnover / n,
    exposure: raw.positions.filter((p) => p !== 0).length / n,
    costs: raw.costs.reduce((a, b) => a + b, 0),
  };
}

/** Two-sided 95 % Student t quantiles for 1…10 degrees of freedom. */
const T975 = [12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836, 2.446911851, 2.364624252, 2.306004135, 2.262157163, 2.228138852];

export function summarize(series: BacktestSeries[]): MetricSummary[] {
  const n = series.length;
  return METRIC_NAMES.map((metric) => {
    const xs = series.map((s) => s.metrics[metric]);
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    const half = (T975[n - 2] ?? 1.96) * (sd / Math.sqrt(n));
    return { metric, n, mean, lo: mean - half, hi: mean + half };
  });
}

export interface FixtureOptions {
  periods?: number;
  folds?: number;
  seed?: number;
}

export function makeBacktestResult(options: FixtureOptions = {}): BacktestResult {
  const periods = options.periods ?? 60_000;
  const folds = options.folds ?? 3;
  const rand = mulberry32(options.seed ?? 20240102);
  const perFold = Math.floor(periods / folds);
  const raws: RawSeries[] = [];
  let start = Date.UTC(2024, 0, 2, 0, 0);
  let pos = 0;
  for (let f = 0; f < folds; f++) {
    const raw = simulate(rand, start, perFold, pos);
    raws.push(raw);
    pos = raw.positions[raw.positions.length - 1]!;
    start += (perFold + 1440) * MINUTE; // a day of purge between test folds
  }
  const all: RawSeries = {
    ts: raws.flatMap((r) => r.ts),
    returns: raws.flatMap((r) => r.returns),
    positions: raws.flatMap((r) => r.positions),
    costs: raws.flatMap((r) => r.costs),
  };
  const series = raws.map((raw, f) => seriesFrom(`fold ${f + 1}`, raw, PERIODS_PER_YEAR));
  const overall = seriesFrom('all out-of-sample periods', all, PERIODS_PER_YEAR);
  return {
    overall,
    groups: folds > 0 ? { kind: 'fold', series, summary: summarize(series) } : null,
    // One symbol: its own series is the portfolio.
    bySymbol: [{ ...overall, name: 'BTCUSDT', periodsPerYear: PERIODS_PER_YEAR }],
    periodsPerYear: PERIODS_PER_YEAR,
    barMs: MINUTE,
    symbols: ['BTCUSDT'],
    config: { costs: { commissionBps: 1, slippageBps: 1 }, sizing: 'sign', folds: { kind: 'purged-kfold', k: folds, embargo: '1d' } },
    provenance: {
      dataset: 'demo-output/dataset',
      fingerprint: 'sha256:3f1c0d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f10',
      predictions: 'runs/lgbm-2024/predictions.arrow',
      folds: 'runs/lgbm-2024/folds.json',
      command: 'barflow backtest --dataset demo-output/dataset --predictions runs/lgbm-2024/predictions.arrow --report report.html',
    },
  };
}

/** Only what the backtest reads of a table: row times and symbols (rows ordered by symbol, then ts). */
export function syntheticTable(symbols: string[], rows: { code: number; ts: number }[]): FeatureTable {
  return { ts: Float64Array.from(rows, (r) => r.ts), symbolCodes: Int32Array.from(rows, (r) => r.code), symbols, n: rows.length } as unknown as FeatureTable;
}

/**
 * The bundled demo's situation: BTCUSDT around the clock from 2023-03-10 for `btcDays`, ES from
 * Sunday 2023-09-24 22:00 for `esSessions` sessions of 23 hours (a break 21:00–22:00 UTC), six
 * months later. Seeded random-walk closes and p_up with a little skill, traded by the real
 * backtest (backtestTimeBase, backtestWithSymbols) with the default costs.
 */
export function makeTwoSymbolResult(options: { btcDays?: number; esSessions?: number; seed?: number } = {}): BacktestResult {
  const rand = mulberry32(options.seed ?? 20230310);
  const rows: { code: number; ts: number }[] = [];
  const btcStart = Date.UTC(2023, 2, 10);
  for (let i = 0; i < (options.btcDays ?? 3) * 1440; i++) rows.push({ code: 0, ts: btcStart + i * MINUTE });
  const esStart = Date.UTC(2023, 8, 24, 22);
  for (let d = 0; d < (options.esSessions ?? 3); d++) for (let m = 0; m < 23 * 60; m++) rows.push({ code: 1, ts: esStart + d * 86_400_000 + m * MINUTE });
  const table = syntheticTable(['BTCUSDT', 'ES'], rows);
  const close = new Float64Array(rows.length);
  const pUp = new Float64Array(rows.length);
  let price = 100;
  const moves = Float64Array.from(rows, () => 0.0008 * gaussian(rand));
  for (let i = 0; i < rows.length; i++) {
    if (i > 0 && rows[i]!.code !== rows[i - 1]!.code) price = 100;
    price *= 1 + moves[i]!;
    close[i] = price;
    // p_up leans towards the next-but-one bar's move (the one a fill after a bar of delay earns).
    const ahead = i + 2 < rows.length && rows[i + 2]!.code === rows[i]!.code ? moves[i + 2]! : 0;
    pUp[i] = 0.5 + 0.01 * Math.tanh(ahead / 0.0008) + 0.12 * (rand() - 0.5);
  }
  const all = Int32Array.from(rows, (_, i) => i);
  const config = parseBacktestConfig({ delayBars: 1 }, 'fixture');
  const base = backtestTimeBase(table, all, undefined);
  const { overall, bySymbol } = backtestWithSymbols('out of sample', table, close, all, (r) => pUp[r]!, config, base);
  return {
    overall,
    groups: null,
    bySymbol,
    periodsPerYear: base.periodsPerYear,
    barMs: base.barMs,
    symbols: ['BTCUSDT', 'ES'],
    config: { ...config },
    provenance: { dataset: 'synthetic: BTCUSDT March 2023, ES September 2023' },
  };
}
