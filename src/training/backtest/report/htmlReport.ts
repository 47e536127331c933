import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { BacktestResult } from '../backtestTypes.js';
import { escapeHtml, formatCount, formatDuration, formatMetric, formatUtc } from './format.js';
import { type ClassificationReport, GAP_MARK_MS, buildReportData, encodeReportData, shownSymbols } from './reportData.js';
import { reportScript } from './reportScript.js';
import { classificationSection, groupsSection, overallTable, symbolsSection } from './tables.js';

export type { ClassificationReport } from './reportData.js';

export interface BacktestReportOptions {
  /** The page title (default "Backtest report"). */
  title?: string;
  /** Points per plotted line at most (default 5,000); longer series keep first/min/max/last per bucket. */
  maxPoints?: number;
  /**
   * Classification metrics (overall and per group) and the reliability table: a "Classification"
   * section after Overall with table `#metrics-classification`, the reliability diagram
   * `#chart-reliability` and the bins table `#reliability-bins`. Without it the page is exactly the
   * backtest report.
   */
  classification?: ClassificationReport;
  /** Finished HTML sections placed before the configuration (the objective's metrics of `barflow evaluate`). */
  sections?: string;
}

/**
 * One self-contained HTML document for a backtest: provenance, the overall metrics, equity,
 * drawdown, the distribution of per-period returns and the per-fold (or per-path) metrics. uPlot's
 * script and stylesheet are read from the installed package and inlined, the data is embedded as
 * JSON, and a Content-Security-Policy forbids every request: the page opens without a network. The
 * same input gives the same bytes (nothing depends on the clock, the locale or randomness).
 */
export function renderBacktestReport(result: BacktestResult, options: BacktestReportOptions = {}): string {
  const title = options.title ?? 'Backtest report';
  const uplot = uplotAssets();
  const classification = options.classification;
  const data = buildReportData(result, {
    title,
    ...(options.maxPoints !== undefined ? { maxPoints: options.maxPoints } : {}),
    ...(classification ? { classification } : {}),
  });
  const groups = result.groups && result.groups.series.length > 0 ? result.groups : null;
  const symbols = shownSymbols(result);
  const groupWord = groups?.kind === 'path' ? 'path' : 'fold';
  const h = data.returns;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="generator" content="barflow backtest report; charts: uPlot ${escapeHtml(uplot.version)} (MIT)">
<title>${escapeHtml(title)}</title>
<style>${uplot.css}</style>
<style>${PAGE_CSS}${classification ? CLASSIFICATION_CSS : ''}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<p class="sub">${escapeHtml(subtitle(result))}</p>
${provenance(result.provenance)}
</header>
<main>
<section id="overall">
<h2>Overall <span class="muted">(${escapeHtml(result.overall.name)})</span></h2>
${overallTable(result.overall)}
</section>
${symbols.length > 0 ? symbolsSection(symbols, result.overall, result.periodsPerYear, result.barMs) : ''}${classification && data.classification ? classificationSection(classification, data.classification.reliability) : ''}<section>
<h2>Equity</h2>
<p class="caption">Growth of 1 over the out-of-sample periods, net of costs${groups ? `; thin lines: each ${groupWord} on its own, starting from 1` : ''}${symbols.length > 0 ? `; one line per symbol traded alone (${escapeHtml(symbols.map((s) => s.name).join(', '))}), drawn only where that symbol has periods` : ''}. ${escapeHtml(axisNote(data.timeline.gaps.length))}${data.equity.downsampled ? ' Long series are drawn from the first, lowest, highest and last point of each bucket of periods.' : ''}</p>
<div id="chart-equity" class="chart"></div>
</section>
<section>
<h2>Drawdown</h2>
<p class="caption">Fall of the overall equity from its running peak, on the same axis of trading periods; deepest ${escapeHtml(formatMetric('maxDrawdown', result.overall.metrics.maxDrawdown))}, longest ${escapeHtml(formatMetric('maxDrawdownMs', result.overall.metrics.maxDrawdownMs))} of trading time (${escapeHtml(formatCount(result.overall.metrics.maxDrawdownPeriods))} periods).</p>
<div id="chart-drawdown" class="chart"></div>
</section>
<section>
<h2>Returns per period</h2>
<p class="caption">${
    h
      ? `Histogram of ${escapeHtml(formatCount(h.n))} period returns (overall)${h.idle > 0 ? `; ${escapeHtml(formatCount(h.idle))} idle periods (no position, return 0) left out` : ''}${h.below + h.above > 0 ? `; ${escapeHtml(formatCount(h.below))} below and ${escapeHtml(formatCount(h.above))} above the plotted range are counted in the outer bins` : ''}. Dashed: a normal distribution with the same mean and standard deviation.`
      : 'No period with a position or a non-zero return.'
  }</p>
<div id="chart-returns" class="chart"></div>
</section>
${groups ? groupsSection(groups.kind, groups.series, groups.summary, data.groups?.metric ?? 'sharpe') : ''}${options.sections ?? ''}
<section>
<details open>
<summary>Configuration</summary>
<pre>${escapeHtml(JSON.stringify(result.config, displayJson, 2) ?? 'null')}</pre>
</details>
</section>
</main>
<footer>barflow backtest report · charts drawn with uPlot ${escapeHtml(uplot.version)} (MIT licence), inlined; this page makes no network request.</footer>
<noscript><p class="empty">The charts need JavaScript; the tables above do not.</p></noscript>
<script type="application/json" id="report-data">${encodeReportData(data)}</script>
<script>${uplot.js}</script>
<script>${reportScript({ reliability: classification !== undefined })}</script>
</body>
</html>
`;
}

interface UplotAssets {
  js: string;
  css: string;
  version: string;
}

let cachedAssets: UplotAssets | undefined;

/** uPlot's browser build and stylesheet from the installed package (wherever npm put it). */
function uplotAssets(): UplotAssets {
  if (cachedAssets) return cachedAssets;
  const require = createRequire(import.meta.url);
  const read = (spec: string): string => {
    let path: string;
    try {
      path = require.resolve(spec);
    } catch (err) {
      throw new Error(`the HTML report needs the package uplot (npm install uplot): cannot resolve ${spec}: ${(err as Error).message}`);
    }
    return readFileSync(path, 'utf8');
  };
  const js = read('uplot/dist/uPlot.iife.min.js');
  const css = read('uplot/dist/uPlot.min.css');
  const version = String((JSON.parse(read('uplot/package.json')) as { version?: unknown }).version ?? 'unknown');
  // Inside <script>/<style> only a closing tag ends the element: make sure none appears early.
  cachedAssets = { js: js.replace(/<\/(script)/gi, '<\\/$1'), css: css.replace(/<\/(style)/gi, '<\\/$1'), version };
  return cachedAssets;
}

/** How to read the x axis of the charts over time. */
function axisNote(gaps: number): string {
  const marked = gaps > 0 ? ` Dashed vertical lines mark the ${gaps === 1 ? 'gap' : `${gaps} gaps`} longer than ${formatDuration(GAP_MARK_MS)} without a period.` : '';
  return `The x axis counts trading periods: each period takes the same width and time without rows takes none; the ticks give the UTC time of their period.${marked}`;
}

function subtitle(result: BacktestResult): string {
  const o = result.overall;
  const parts: string[] = [];
  if (result.symbols.length > 0) parts.push(result.symbols.join(', '));
  if (o.ts.length > 0) parts.push(`${formatUtc(o.ts[0]!)} → ${formatUtc(o.ts[o.ts.length - 1]!)}`);
  parts.push(`${formatCount(o.metrics.periods)} periods`);
  parts.push(`${formatCount(Math.round(result.periodsPerYear))} periods per year`);
  const g = result.groups;
  if (g && g.series.length > 0) parts.push(`${g.series.length} ${g.kind === 'path' ? 'CPCV paths' : 'folds'}`);
  return parts.join(' · ');
}

/** "predictionsFile" → "Predictions file". */
function humanize(key: string): string {
  const words = key.replace(/[_-]+/g, ' ').replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function provenance(p: Record<string, string>): string {
  const entries = Object.entries(p);
  if (entries.length === 0) return '';
  const rows = entries.map(([k, v]) => `<dt>${escapeHtml(humanize(k))}</dt><dd><code>${escapeHtml(String(v))}</code></dd>`);
  return `<dl class="provenance">\n${rows.join('\n')}\n</dl>`;
}

/** For the configuration shown: non-finite numbers and bigints written as text rather than dropped. */
function displayJson(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

const PAGE_CSS = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg-soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 40px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: #fff; }
header, main, footer { max-width: 1180px; margin: 0 auto; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 6px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.sub { margin: 0 0 12px; color: var(--muted); }
.muted { color: var(--muted); font-weight: normal; }
.caption { margin: 0 0 8px; color: var(--muted); }
dl.provenance { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; padding: 10px 14px; background: var(--bg-soft); border: 1px solid var(--line); border-radius: 6px; }
dl.provenance dt { font-weight: 600; }
dl.provenance dd { margin: 0; overflow-wrap: anywhere; }
code, pre { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; }
table.metrics { border-collapse: collapse; margin: 4px 0 8px; }
table.metrics th, table.metrics td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
table.metrics thead th { background: var(--bg-soft); font-weight: 600; }
table.metrics tbody tr:hover { background: #f3f6fb; }
table.metrics .num { text-align: right; font-variant-numeric: tabular-nums; }
table.metrics tfoot tr.summary th, table.metrics tfoot tr.summary td { background: var(--bg-soft); font-weight: 600; }
table.metrics tfoot tr.summary:first-child th, table.metrics tfoot tr.summary:first-child td { border-top: 2px solid var(--line); }
table.metrics.wide { font-size: 13px; }
table.metrics tfoot tr.ci td { white-space: normal; font-weight: normal; }
table.metrics tr.portfolio th, table.metrics tr.portfolio td { font-weight: 600; border-top: 2px solid var(--line); }
.nw { white-space: nowrap; }
.scroll { overflow-x: auto; }
.chart { width: 100%; min-height: 40px; margin: 0 0 4px; }
.chart .u-legend { font-size: 12.5px; }
.chart .u-legend .u-value { font-variant-numeric: tabular-nums; }
details summary { cursor: pointer; font-weight: 600; font-size: 16px; margin: 24px 0 6px; }
pre { background: var(--bg-soft); border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; overflow-x: auto; }
footer { margin-top: 32px; color: var(--muted); font-size: 12.5px; }
.empty { color: var(--muted); }
`;

/** Added to PAGE_CSS only for a report with classification (the page without it keeps its bytes). */
const CLASSIFICATION_CSS = `table.metrics tr.total th, table.metrics tr.total td { font-weight: 600; }
.reliability { display: flex; flex-wrap: wrap; align-items: flex-start; gap: 8px 32px; }
#chart-reliability { width: 500px; max-width: 100%; }
#reliability-bins { font-size: 13px; }
`;
