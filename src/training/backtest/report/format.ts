import type { MetricName } from '../backtestTypes.js';

/**
 * How the report writes numbers: percentages for returns, drawdowns, volatility, exposure, win rate
 * and costs, two decimals for ratios, durations in days/hours/minutes. Locale-free (the same bytes
 * on every machine); NaN is "–", ±Infinity "∞" / "-∞".
 */

export type ReportMetric = MetricName | 'periods';

const PERCENT: ReadonlySet<ReportMetric> = new Set<ReportMetric>([
  'totalReturn',
  'annualReturn',
  'annualVolatility',
  'maxDrawdown',
  'winRate',
  'exposure',
  'costs',
]);
const RATIO: ReadonlySet<ReportMetric> = new Set<ReportMetric>(['sharpe', 'sortino', 'calmar', 'profitFactor']);
const COUNT: ReadonlySet<ReportMetric> = new Set<ReportMetric>(['periods', 'trades', 'maxDrawdownPeriods']);

export const METRIC_LABELS: Record<ReportMetric, string> = {
  periods: 'Periods',
  totalReturn: 'Total return',
  annualReturn: 'Annual return',
  annualVolatility: 'Annual volatility',
  sharpe: 'Sharpe ratio',
  sortino: 'Sortino ratio',
  calmar: 'Calmar ratio',
  maxDrawdown: 'Max drawdown',
  maxDrawdownPeriods: 'Longest drawdown (periods)',
  maxDrawdownMs: 'Longest drawdown',
  winRate: 'Win rate',
  profitFactor: 'Profit factor',
  trades: 'Trades',
  turnover: 'Turnover',
  exposure: 'Exposure',
  costs: 'Costs',
};

export const METRIC_NOTES: Record<ReportMetric, string> = {
  periods: 'periods in the series',
  totalReturn: 'compounded, net of costs',
  annualReturn: 'annualised from the total return',
  annualVolatility: 'standard deviation of period returns, annualised',
  sharpe: 'mean / std of period returns, annualised',
  sortino: 'mean / downside deviation, annualised',
  calmar: 'annual return / |max drawdown|',
  maxDrawdown: 'deepest fall from a running peak',
  maxDrawdownPeriods: 'longest time under a previous peak, in periods',
  maxDrawdownMs: 'longest time under a previous peak, in trading time (periods × bar)',
  winRate: 'trades with a positive net P&L',
  profitFactor: 'gross wins / gross losses',
  trades: 'runs of positions of one sign',
  turnover: 'mean |Δposition| per period, in units of capital',
  exposure: 'periods with a position',
  costs: 'commission + slippage, as a fraction of capital',
};

/** A metric's value as the report writes it. */
export function formatMetric(metric: ReportMetric, v: number): string {
  if (metric === 'maxDrawdownMs') return formatDuration(v);
  if (PERCENT.has(metric)) return formatPercent(v);
  if (RATIO.has(metric)) return formatFixed(v, 2);
  if (COUNT.has(metric)) return formatCount(v);
  return formatSignificant(v, 4);
}

function nonFinite(v: number): string | null {
  if (Number.isNaN(v)) return '–';
  if (v === Infinity) return '∞';
  if (v === -Infinity) return '-∞';
  return null;
}

/** toFixed without a "-0.00". */
export function formatFixed(v: number, digits: number): string {
  const bad = nonFinite(v);
  if (bad !== null) return bad;
  const s = v.toFixed(digits);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

export function formatPercent(v: number, digits = 2): string {
  const bad = nonFinite(v);
  if (bad !== null) return bad;
  return `${formatFixed(v * 100, digits)} %`;
}

/** An integer with thousands separators ("12,345"); non-integers keep two decimals. */
export function formatCount(v: number): string {
  const bad = nonFinite(v);
  if (bad !== null) return bad;
  const s = formatFixed(v, Number.isInteger(v) ? 0 : 2);
  const [int, frac] = s.split('.') as [string, string | undefined];
  const sign = int.startsWith('-') ? '-' : '';
  const digits = sign ? int.slice(1) : int;
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${grouped}${frac !== undefined ? `.${frac}` : ''}`;
}

export function formatSignificant(v: number, digits: number): string {
  const bad = nonFinite(v);
  if (bad !== null) return bad;
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1e-4 && abs < 1e9) {
    const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(abs)));
    return formatFixed(v, decimals);
  }
  return v.toExponential(digits - 1);
}

/** 0 → "0", 90 s → "1m 30s", 3 h 5 m → "3h 5m", 2 d 4 h 10 m → "2d 4h 10m", 12 d 4 h 10 m → "12d 4h". */
export function formatDuration(ms: number): string {
  const bad = nonFinite(ms);
  if (bad !== null) return bad;
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms === 0) return '0';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const totalMin = Math.round(ms / 60_000);
  if (totalMin < 10) return s % 60 === 0 ? `${Math.floor(s / 60)}m` : `${Math.floor(s / 60)}m ${s % 60}s`;
  if (totalMin < 60) return `${totalMin}m`;
  const d = Math.floor(totalMin / 1440);
  const h = Math.floor((totalMin % 1440) / 60);
  const min = totalMin % 60;
  if (d === 0) return min === 0 ? `${h}h` : `${h}h ${min}m`;
  if (d >= 10) return h === 0 ? `${d}d` : `${d}d ${h}h`;
  const parts = [`${d}d`];
  if (h > 0) parts.push(`${h}h`);
  if (min > 0) parts.push(`${min}m`);
  return parts.join(' ');
}

/** A UTC time as "2024-03-01 14:30 UTC" (seconds when not 0). */
export function formatUtc(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  const iso = new Date(ms).toISOString(); // 2024-03-01T14:30:00.000Z
  const sec = iso.slice(17, 19);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}${sec === '00' ? '' : `:${sec}`} UTC`;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for an element's content or a quoted attribute value. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** The columns of the classification table (`ClassificationMetrics` of evaluation/classificationMetrics.ts). */
export type ClassificationColumn = 'n' | 'logLoss' | 'brier' | 'auc' | 'accuracy' | 'baseRate';

export const CLASSIFICATION_LABELS: Record<ClassificationColumn, string> = {
  n: 'Predictions',
  logLoss: 'Log loss',
  brier: 'Brier score',
  auc: 'AUC',
  accuracy: 'Accuracy',
  baseRate: 'Base rate',
};

/** A classification metric as the report writes it: counts grouped, losses to 4 decimals, AUC to 3, rates as percentages. */
export function formatClassificationMetric(column: ClassificationColumn, v: number): string {
  switch (column) {
    case 'n':
      return formatCount(v);
    case 'logLoss':
    case 'brier':
      return formatFixed(v, 4);
    case 'auc':
      return formatFixed(v, 3);
    case 'accuracy':
    case 'baseRate':
      return formatPercent(v);
  }
}

/** A probability or bin bound without trailing zeros: 0.1 → "0.1", 1 → "1", 0.125 → "0.125" (4 decimals at most). */
export function formatTrimmed(v: number): string {
  const s = formatFixed(v, 4);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}
