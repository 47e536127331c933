import type { ClassificationMetrics, ReliabilityBin } from '../../evaluation/classificationMetrics.js';
import { type BacktestResult, type BacktestSeries, METRIC_NAMES, type MetricName, type SymbolSeries } from '../backtestTypes.js';
import { type PlotLines, type ReportTimeline, plotLines, reportTimeline, unionTimes } from './plotLines.js';

export { type LineInput, type PlotLine, type PlotLines, type ReportTimeline, type TimelineGap, GAP_MARK_MS, m4Indices, plotLines } from './plotLines.js';

/**
 * The data the report's inline script draws, computed here once (downsampled lines, histogram bins,
 * per-group bars) and embedded as JSON. Numbers that are not finite are encoded as null; the
 * tables, which show them as "–" or "∞", are rendered in TypeScript from the original values.
 */
export interface ReportData {
  /** /2: x of the charts over time is a period index (ordinal axis), no longer seconds. */
  format: 'barflow-backtest-report/2';
  title: string;
  periodsPerYear: number;
  symbols: string[];
  groupKind: 'fold' | 'path' | null;
  /** The ordinal axis the equity and drawdown charts share: periods, bar length, marked gaps. */
  timeline: ReportTimeline;
  /**
   * Equity curves on the ordinal axis: the overall series first, then (with two symbols or more)
   * each symbol traded alone, then each group's, drawn in that order: a fold that holds one symbol
   * only is that symbol's curve over its rows, and its thinner line stays visible on top.
   */
  equity: PlotLines;
  /** The overall series' drawdown (≤ 0). */
  drawdown: PlotLines;
  /** With two symbols or more: each symbol's series' metrics (non-finite → null), in `symbols` order; else empty. */
  symbolMetrics: { name: string; metrics: Record<MetricName | 'periods', number | null> }[];
  /** Histogram of the overall series' per-period returns; null when there is no active period. */
  returns: ReturnHistogram | null;
  /** One bar per fold or path; null without groups. */
  groups: GroupBars | null;
  /** The overall series' metrics as given (non-finite → null). */
  overallMetrics: Record<MetricName | 'periods', number | null>;
  colors: typeof REPORT_COLORS;
  /**
   * Classification metrics and the reliability diagram; the key is absent (not null) without
   * them, so that a report without classification keeps its bytes.
   */
  classification?: ClassificationData;
}

export interface ReturnHistogram {
  /** Bin edges (bins + 1), as fractions. */
  edges: number[];
  centers: number[];
  counts: number[];
  /** Expected count per bin of a normal distribution with the same mean and standard deviation. */
  normal: (number | null)[];
  /** Periods counted (all periods except idle ones). */
  n: number;
  /** Idle periods left out: no exposure and a return of exactly 0. */
  idle: number;
  /** Periods beyond the plotted range, counted in the first or last bin. */
  below: number;
  above: number;
  mean: number | null;
  std: number | null;
}

export interface GroupBars {
  kind: 'fold' | 'path';
  names: string[];
  /** The metric drawn: Sharpe, or total return when no group has a finite Sharpe. */
  metric: 'sharpe' | 'totalReturn';
  values: (number | null)[];
  /** The summary of that metric over the groups (mean and 95 % interval), when given. */
  mean: number | null;
  lo: number | null;
  hi: number | null;
}

/** Classification results to show next to the backtest (what `barflow evaluate` computes). */
export interface ClassificationReport {
  /** Shown after the section's heading, e.g. "calibrated out-of-sample predictions". */
  title?: string;
  overall: ClassificationMetrics;
  /** The same metrics per fold, path or any other subset, in the order given. */
  perGroup?: { name: string; metrics: ClassificationMetrics }[];
  /** The reliability table (reliabilityTable()): all bins, empty ones included. */
  reliability: ReliabilityBin[];
}

/** ClassificationMetrics with non-finite values as null. */
export type ClassificationMetricsData = { [K in keyof ClassificationMetrics]: number | null };

export interface ClassificationData {
  title: string | null;
  overall: ClassificationMetricsData;
  groups: { name: string; metrics: ClassificationMetricsData }[];
  /** The bins as given (non-finite → null). */
  bins: { lo: number | null; hi: number | null; count: number | null; meanPredicted: number | null; observed: number | null }[];
  /** What the reliability chart draws. */
  reliability: ReliabilityPlot;
  colors: typeof CLASSIFICATION_COLORS;
}

/**
 * The reliability diagram on one x axis: 0, the mean predicted probability of each bin with
 * predictions (ascending), 1. `observed`, `count`, `lo` and `hi` are null at the two ends, which
 * only carry the diagonal (`diagonal[i] = x[i]`) from corner to corner.
 */
export interface ReliabilityPlot {
  x: number[];
  observed: (number | null)[];
  diagonal: number[];
  count: (number | null)[];
  lo: (number | null)[];
  hi: (number | null)[];
  /** The largest bin count (point sizes are relative to it); 0 without predictions. */
  maxCount: number;
  /** Predictions in the plotted bins. */
  n: number;
  /** Bins without a prediction, left out of the chart. */
  empty: number;
}

export interface ReportDataOptions {
  title: string;
  /** Points per line at most (default 5,000): longer series keep first, min, max and last per bucket. */
  maxPoints?: number;
  classification?: ClassificationReport;
}

/** The colours of the report's series (the browser test looks for them on the canvases). */
export const REPORT_COLORS = {
  overall: '#1f6feb',
  groups: ['#e8710a', '#1a7f37', '#8250df', '#cf222e', '#0e8a8a', '#bf8700', '#6e7781', '#d63384'],
  /** Per-symbol lines: apart from the overall and group colours, so that each can be told on the canvas. */
  symbols: ['#7d4e00', '#54aeff', '#ec6cb9', '#4ac26b', '#a475f9', '#fa4549'],
  gap: '#8c959f',
  drawdown: '#cf222e',
  drawdownFill: 'rgba(207, 34, 46, 0.18)',
  returns: '#1f6feb',
  returnsFill: 'rgba(31, 111, 235, 0.55)',
  normal: '#24292f',
  groupBars: '#8250df',
  groupBarsFill: 'rgba(130, 80, 223, 0.6)',
  band: 'rgba(130, 80, 223, 0.12)',
} as const;

/** The reliability diagram's colours (kept apart from REPORT_COLORS, whose JSON is unchanged without classification). */
export const CLASSIFICATION_COLORS = {
  points: '#1f6feb',
  pointsFill: 'rgba(31, 111, 235, 0.3)',
  diagonal: '#57606a',
} as const;

export const DEFAULT_MAX_POINTS = 5_000;

export function buildReportData(result: BacktestResult, options: ReportDataOptions): ReportData {
  const maxPoints = Math.max(8, Math.floor(options.maxPoints ?? DEFAULT_MAX_POINTS));
  const overall = result.overall;
  const groups = result.groups?.series ?? [];
  // A group covers a share of the time line (a fold) or all of it (a path), and so does a symbol:
  // giving each of k groups maxPoints / k (and each of m symbols maxPoints / m) keeps the chart
  // within 2 × maxPoints x values (3 × with symbols) whatever k and m.
  const groupBudget = Math.max(64, Math.floor(maxPoints / Math.max(1, groups.length)));
  // One symbol's own series is the overall series: it is drawn only when there are several.
  const symbols = shownSymbols(result);
  const symbolBudget = Math.max(64, Math.floor(maxPoints / Math.max(1, symbols.length)));
  const equityLines = [
    { name: overall.name, color: REPORT_COLORS.overall, width: 2.5, ts: overall.ts, y: overall.equity, budget: maxPoints },
    ...symbols.map((s, i) => ({
      name: s.name,
      color: REPORT_COLORS.symbols[i % REPORT_COLORS.symbols.length]!,
      width: 1.75,
      ts: s.ts,
      y: s.equity,
      budget: symbolBudget,
    })),
    ...groups.map((s, i) => ({
      name: s.name,
      color: REPORT_COLORS.groups[i % REPORT_COLORS.groups.length]!,
      width: 1.25,
      ts: s.ts,
      y: s.equity,
      budget: groupBudget,
    })),
  ];
  const times = unionTimes([overall.ts, ...groups.map((s) => s.ts), ...symbols.map((s) => s.ts)]);
  return {
    format: 'barflow-backtest-report/2',
    title: options.title,
    periodsPerYear: finiteOrNull(result.periodsPerYear) ?? 0,
    symbols: [...result.symbols],
    groupKind: result.groups?.kind ?? null,
    timeline: reportTimeline(times, result.barMs),
    equity: plotLines(equityLines, times),
    drawdown: plotLines([{ name: 'drawdown', color: REPORT_COLORS.drawdown, width: 1.5, ts: overall.ts, y: overall.drawdown, budget: maxPoints }], times),
    symbolMetrics: symbols.map((s) => ({ name: s.name, metrics: metricRecord(s) })),
    returns: returnHistogram(overall),
    groups: groupBars(result),
    overallMetrics: metricRecord(overall),
    colors: REPORT_COLORS,
    ...(options.classification ? { classification: classificationData(options.classification) } : {}),
  };
}

/** JSON of the data, safe inside a `<script type="application/json">` element. */
export function encodeReportData(data: ReportData): string {
  // Every `<` escaped: no `</script>` nor `<!--` can appear in the element's text; JSON.parse reads \u003c back.
  return JSON.stringify(data, jsonSafe).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** A JSON.stringify replacer: NaN and ±Infinity → null (JSON.stringify does the same, stated here), bigint → number. */
export function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return Number(value);
  return value;
}

export function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function metricRecord(s: BacktestSeries): Record<MetricName | 'periods', number | null> {
  const out = { periods: finiteOrNull(s.metrics.periods) } as Record<MetricName | 'periods', number | null>;
  for (const m of METRIC_NAMES) out[m] = finiteOrNull(s.metrics[m]);
  return out;
}

/** The per-symbol series the report shows: all of them with two symbols or more, none with one. */
export function shownSymbols(result: BacktestResult): SymbolSeries[] {
  return result.bySymbol.length >= 2 ? result.bySymbol : [];
}

/** Histogram of the returns of every non-idle period (an idle period: no exposure and a return of 0). */
export function returnHistogram(s: BacktestSeries): ReturnHistogram | null {
  const values: number[] = [];
  let idle = 0;
  for (let i = 0; i < s.returns.length; i++) {
    const r = s.returns[i]!;
    if (!Number.isFinite(r)) continue;
    if (r === 0 && s.exposure[i] === 0) {
      idle++;
      continue;
    }
    values.push(r);
  }
  const n = values.length;
  if (n === 0) return null;
  const sorted = Float64Array.from(values).sort();
  let lo = n >= 1000 ? quantile(sorted, 0.001) : sorted[0]!;
  let hi = n >= 1000 ? quantile(sorted, 0.999) : sorted[n - 1]!;
  let bins: number;
  if (hi > lo) {
    const iqr = quantile(sorted, 0.75) - quantile(sorted, 0.25);
    const fd = iqr > 0 ? (2 * iqr) / Math.cbrt(n) : 0;
    bins = fd > 0 ? Math.ceil((hi - lo) / fd) : Math.ceil(Math.log2(n)) + 1;
    bins = Math.min(100, Math.max(10, bins));
  } else {
    const half = Math.max(Math.abs(lo) * 1e-3, 1e-9);
    lo -= half;
    hi += half;
    bins = 1;
  }
  const width = (hi - lo) / bins;
  const counts: number[] = new Array<number>(bins).fill(0);
  let below = 0;
  let above = 0;
  for (const v of values) {
    if (v < lo) below++;
    if (v > hi) above++;
    const b = Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)));
    counts[b]!++;
  }
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  const std = n > 1 ? Math.sqrt(ss / (n - 1)) : NaN;
  const edges: number[] = [];
  for (let b = 0; b <= bins; b++) edges.push(lo + b * width);
  const centers = edges.slice(0, bins).map((e) => e + width / 2);
  const normal = centers.map((c) =>
    std > 0 ? (n * width * Math.exp(-0.5 * ((c - mean) / std) ** 2)) / (std * Math.sqrt(2 * Math.PI)) : null,
  );
  return { edges, centers, counts, normal, n, idle, below, above, mean: finiteOrNull(mean), std: finiteOrNull(std) };
}

/** Linear interpolation between order statistics (type 7). */
function quantile(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const i = Math.floor(h);
  const next = sorted[Math.min(sorted.length - 1, i + 1)]!;
  return sorted[i]! + (h - i) * (next - sorted[i]!);
}

function groupBars(result: BacktestResult): GroupBars | null {
  const g = result.groups;
  if (!g || g.series.length === 0) return null;
  const metric = g.series.some((s) => Number.isFinite(s.metrics.sharpe)) ? 'sharpe' : 'totalReturn';
  const summary = g.summary.find((m) => m.metric === metric);
  return {
    kind: g.kind,
    names: g.series.map((s) => s.name),
    metric,
    values: g.series.map((s) => finiteOrNull(s.metrics[metric])),
    mean: summary ? finiteOrNull(summary.mean) : null,
    lo: summary ? finiteOrNull(summary.lo) : null,
    hi: summary ? finiteOrNull(summary.hi) : null,
  };
}

function classificationRecord(m: ClassificationMetrics): ClassificationMetricsData {
  return {
    n: finiteOrNull(m.n),
    logLoss: finiteOrNull(m.logLoss),
    brier: finiteOrNull(m.brier),
    auc: finiteOrNull(m.auc),
    accuracy: finiteOrNull(m.accuracy),
    baseRate: finiteOrNull(m.baseRate),
  };
}

export function classificationData(c: ClassificationReport): ClassificationData {
  return {
    title: c.title ?? null,
    overall: classificationRecord(c.overall),
    groups: (c.perGroup ?? []).map((g) => ({ name: g.name, metrics: classificationRecord(g.metrics) })),
    bins: c.reliability.map((b) => ({
      lo: finiteOrNull(b.lo),
      hi: finiteOrNull(b.hi),
      count: finiteOrNull(b.count),
      meanPredicted: finiteOrNull(b.meanPredicted),
      observed: finiteOrNull(b.observed),
    })),
    reliability: reliabilityPlot(c.reliability),
    colors: CLASSIFICATION_COLORS,
  };
}

/** A bin is plotted when it holds predictions and both its mean predicted probability and its observed frequency are finite. */
export function isPlottedBin(b: ReliabilityBin): boolean {
  return b.count > 0 && Number.isFinite(b.meanPredicted) && Number.isFinite(b.observed);
}

export function reliabilityPlot(bins: ReliabilityBin[]): ReliabilityPlot {
  // Stable order by mean predicted probability (uPlot wants x ascending; the bins of
  // reliabilityTable() already are), ties by bin order.
  const plotted = bins.filter(isPlottedBin).sort((a, b) => a.meanPredicted - b.meanPredicted);
  const x: number[] = [];
  const observed: (number | null)[] = [];
  const count: (number | null)[] = [];
  const lo: (number | null)[] = [];
  const hi: (number | null)[] = [];
  const corner = (v: number): void => {
    x.push(v);
    observed.push(null);
    count.push(null);
    lo.push(null);
    hi.push(null);
  };
  // The diagonal runs from (0, 0) to (1, 1) whatever the bins; a bin at 0 or 1 carries that end itself.
  if (!(plotted.length > 0 && plotted[0]!.meanPredicted <= 0)) corner(0);
  let n = 0;
  let maxCount = 0;
  for (const b of plotted) {
    x.push(b.meanPredicted);
    observed.push(b.observed);
    count.push(b.count);
    lo.push(finiteOrNull(b.lo));
    hi.push(finiteOrNull(b.hi));
    n += b.count;
    maxCount = Math.max(maxCount, b.count);
  }
  if (!(plotted.length > 0 && plotted[plotted.length - 1]!.meanPredicted >= 1)) corner(1);
  return { x, observed, diagonal: [...x], count, lo, hi, maxCount, n, empty: bins.length - plotted.length };
}
