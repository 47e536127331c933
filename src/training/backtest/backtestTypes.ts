/**
 * What a backtest produces: per-period series (net of costs) and the metrics computed from them,
 * for all out-of-sample rows together and per fold or per CPCV path. The HTML report renders
 * exactly this; nothing in it is recomputed there.
 */

export interface PerformanceMetrics {
  /** Periods (timestamps of the portfolio's time line) in the series. */
  periods: number;
  /** Compounded over the whole series: prod(1 + r) - 1. */
  totalReturn: number;
  /** (1 + totalReturn)^(1 / years) - 1, years = periods / periodsPerYear. */
  annualReturn: number;
  annualVolatility: number;
  /** mean / std (sample) × sqrt(periodsPerYear); NaN when std is 0. */
  sharpe: number;
  /** mean / downside deviation × sqrt(periodsPerYear); downside deviation over all periods, target 0. */
  sortino: number;
  /** annualReturn / |maxDrawdown|; NaN when there is no drawdown. */
  calmar: number;
  /** The deepest fall of the equity curve from its running peak, as a negative fraction (-0.12 = 12 %). */
  maxDrawdown: number;
  /** The longest time under a previous peak, in periods (a gap between rows is no period) … */
  maxDrawdownPeriods: number;
  /** … and as trading time: maxDrawdownPeriods × the bar length (ms), not the clock time across gaps. */
  maxDrawdownMs: number;
  /** Trades (a run of positions of one sign) with a positive net P&L / all trades. */
  winRate: number;
  /** Sum of winning trades' P&L / |sum of losing trades' P&L|; Infinity with no loser, NaN with no trade. */
  profitFactor: number;
  trades: number;
  /** Mean |Δposition| per period (sum over symbols, in units of capital). */
  turnover: number;
  /** Fraction of periods with a non-zero position. */
  exposure: number;
  /** Total costs (commission + slippage) paid, as a fraction of capital (sum over periods). */
  costs: number;
}

export const METRIC_NAMES = [
  'totalReturn',
  'annualReturn',
  'annualVolatility',
  'sharpe',
  'sortino',
  'calmar',
  'maxDrawdown',
  'maxDrawdownPeriods',
  'maxDrawdownMs',
  'winRate',
  'profitFactor',
  'trades',
  'turnover',
  'exposure',
  'costs',
] as const satisfies readonly (keyof PerformanceMetrics)[];

export type MetricName = (typeof METRIC_NAMES)[number];

/** One backtested series: the whole out-of-sample set, one fold, or one CPCV path. */
export interface BacktestSeries {
  name: string;
  /** Epoch ms (UTC) of each period: the open time of the 1-minute bar whose return it holds. */
  ts: Float64Array;
  /** Net return of the portfolio in each period (after costs and slippage). */
  returns: Float64Array;
  /** Equity, starting from 1 before the first period: prod(1 + r). */
  equity: Float64Array;
  /** equity / running peak - 1 (≤ 0). */
  drawdown: Float64Array;
  /** Gross exposure sum(|position|) held during each period. */
  exposure: Float64Array;
  metrics: PerformanceMetrics;
}

/** One symbol traded alone on the whole capital (named by the symbol), with the annualisation its metrics use. */
export interface SymbolSeries extends BacktestSeries {
  periodsPerYear: number;
}

/** Mean of one metric over folds or paths, with a 95 % interval (Student t on the mean). */
export interface MetricSummary {
  metric: MetricName;
  n: number;
  mean: number;
  lo: number;
  hi: number;
}

export interface BacktestGroups {
  /** `fold`: the test block of each fold; `path`: each reconstructed CPCV backtest path. */
  kind: 'fold' | 'path';
  series: BacktestSeries[];
  summary: MetricSummary[];
}

export interface BacktestResult {
  /** All out-of-sample predictions as one series (for CPCV: the first path). */
  overall: BacktestSeries;
  groups: BacktestGroups | null;
  /**
   * Each symbol of the overall series traded alone on the whole capital (its own net return per
   * period, named by the symbol, in `symbols` order), annualised with its own periods per year. Its
   * contribution to the overall series is this / symbols.length.
   */
  bySymbol: SymbolSeries[];
  /** The given one, else periods / years in which some symbol was active (docs/validation.md). */
  periodsPerYear: number;
  /** The length of one period (ms): durations are periods × barMs. */
  barMs: number;
  symbols: string[];
  /** The configuration actually used, defaults filled in (shown in the report). */
  config: Record<string, unknown>;
  /** Where it came from: dataset folder and fingerprint, predictions file, folds file, command line. */
  provenance: Record<string, string>;
}
