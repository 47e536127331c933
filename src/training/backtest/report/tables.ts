import type { BacktestSeries, MetricSummary, SymbolSeries } from '../backtestTypes.js';
import {
  CLASSIFICATION_LABELS,
  type ClassificationColumn,
  METRIC_LABELS,
  METRIC_NOTES,
  type ReportMetric,
  escapeHtml,
  formatClassificationMetric,
  formatCount,
  formatDuration,
  formatFixed,
  formatMetric,
  formatTrimmed,
  formatUtc,
} from './format.js';
import type { ClassificationReport, ReliabilityPlot } from './reportData.js';

/** The report's tables and the sections around them, rendered from the original numbers. */

const OVERALL_ROWS: ReportMetric[] = [
  'totalReturn',
  'annualReturn',
  'annualVolatility',
  'sharpe',
  'sortino',
  'calmar',
  'maxDrawdown',
  'maxDrawdownMs',
  'winRate',
  'profitFactor',
  'trades',
  'turnover',
  'exposure',
  'costs',
  'periods',
];

export function overallTable(s: BacktestSeries): string {
  const rows = OVERALL_ROWS.map((m) => {
    let value = formatMetric(m, s.metrics[m]);
    if (m === 'maxDrawdownMs') value += ` (${formatCount(s.metrics.maxDrawdownPeriods)} periods)`;
    return `<tr data-metric="${m}"><th scope="row">${escapeHtml(METRIC_LABELS[m])}</th><td class="num">${escapeHtml(value)}</td><td class="muted">${escapeHtml(METRIC_NOTES[m])}</td></tr>`;
  });
  return `<table id="metrics-overall" class="metrics">\n<thead><tr><th>Metric</th><th class="num">Value</th><th>Meaning</th></tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`;
}

const GROUP_COLUMNS: ReportMetric[] = [
  'periods',
  'totalReturn',
  'sharpe',
  'sortino',
  'maxDrawdown',
  'maxDrawdownMs',
  'winRate',
  'profitFactor',
  'trades',
  'exposure',
  'costs',
];

export function groupsSection(kind: 'fold' | 'path', series: BacktestSeries[], summary: MetricSummary[], barMetric: 'sharpe' | 'totalReturn'): string {
  const word = kind === 'path' ? 'path' : 'fold';
  const plural = kind === 'path' ? 'CPCV paths' : 'folds';
  const head = GROUP_COLUMNS.map((m) => `<th class="num">${escapeHtml(m === 'maxDrawdownMs' ? 'Longest drawdown' : METRIC_LABELS[m].replace(' ratio', ''))}</th>`).join('');
  const body = series.map(
    (s) => `<tr><th scope="row">${escapeHtml(s.name)}</th>${GROUP_COLUMNS.map((m) => `<td class="num">${escapeHtml(formatMetric(m, s.metrics[m]))}</td>`).join('')}</tr>`,
  );
  const byMetric = new Map(summary.map((m) => [m.metric as ReportMetric, m]));
  let foot = '';
  if (summary.length > 0) {
    const n = Math.max(...summary.map((m) => m.n));
    // f returns HTML (its numbers escaped).
    const cell = (m: ReportMetric, f: (x: MetricSummary) => string): string => {
      const x = byMetric.get(m);
      return `<td class="num">${x ? f(x) : ''}</td>`;
    };
    const mean = GROUP_COLUMNS.map((m) => cell(m, (x) => escapeHtml(formatMetric(m, x.mean)))).join('');
    // The interval may wrap between its two ends, never inside one.
    const ci = GROUP_COLUMNS.map((m) =>
      cell(m, (x) => `<span class="nw">[${escapeHtml(formatMetric(m, x.lo))},</span> <span class="nw">${escapeHtml(formatMetric(m, x.hi))}]</span>`),
    ).join('');
    foot = `<tfoot>\n<tr class="summary"><th scope="row">mean (n = ${escapeHtml(formatCount(n))})</th>${mean}</tr>\n<tr class="summary ci"><th scope="row">95 % interval</th>${ci}</tr>\n</tfoot>\n`;
  }
  const s = byMetric.get(barMetric);
  const barName = barMetric === 'sharpe' ? 'Sharpe ratio' : 'total return';
  const band = s
    ? ` Dashed line: the mean over the ${plural} (${escapeHtml(formatMetric(barMetric, s.mean))}); band: its 95 % interval [${escapeHtml(formatMetric(barMetric, s.lo))}, ${escapeHtml(formatMetric(barMetric, s.hi))}] (Student t).`
    : '';
  return `<section id="groups">
<h2>Per ${word}</h2>
<p class="caption">${escapeHtml(barName.charAt(0).toUpperCase() + barName.slice(1))} of each of the ${series.length} ${plural}.${band}</p>
<div id="chart-groups" class="chart"></div>
<div class="scroll">
<table id="metrics-groups" class="metrics wide">
<thead><tr><th>${escapeHtml(word)}</th>${head}</tr></thead>
<tbody>
${body.join('\n')}
</tbody>
${foot}</table>
</div>
</section>`;
}

const CLASSIFICATION_COLUMNS: ClassificationColumn[] = ['n', 'logLoss', 'brier', 'auc', 'accuracy', 'baseRate'];

export function classificationSection(c: ClassificationReport, plot: ReliabilityPlot): string {
  const head = CLASSIFICATION_COLUMNS.map((m) => `<th class="num">${escapeHtml(CLASSIFICATION_LABELS[m])}</th>`).join('');
  const row = (name: string, m: ClassificationReport['overall'], cls: string): string =>
    `<tr${cls}><th scope="row">${escapeHtml(name)}</th>${CLASSIFICATION_COLUMNS.map((k) => `<td class="num">${escapeHtml(formatClassificationMetric(k, m[k]))}</td>`).join('')}</tr>`;
  const groups = c.perGroup ?? [];
  const rows = [row('overall', c.overall, ' class="total"'), ...groups.map((g) => row(g.name, g.metrics, ''))];
  const bins = c.reliability.map((b) => {
    const range = `${formatTrimmed(b.lo)}–${formatTrimmed(b.hi)}`;
    const filled = b.count > 0;
    return `<tr${filled ? '' : ' class="muted"'}><th scope="row">${escapeHtml(range)}</th><td class="num">${escapeHtml(formatCount(b.count))}</td><td class="num">${escapeHtml(filled ? formatFixed(b.meanPredicted, 3) : '–')}</td><td class="num">${escapeHtml(filled ? formatFixed(b.observed, 3) : '–')}</td></tr>`;
  });
  const reliabilityCaption =
    plot.n > 0
      ? `Reliability diagram of the ${escapeHtml(formatCount(plot.n))} predictions: for each probability bin with predictions, the mean predicted probability (x) against the observed frequency of the positive outcome (y); a point's area grows with the number of predictions in its bin (the legend under the cursor and the table give it)${plot.empty > 0 ? `; ${escapeHtml(formatCount(plot.empty))} empty ${plot.empty === 1 ? 'bin' : 'bins'} left out` : ''}. Dashed: perfectly calibrated (y = x); above it the model under-predicts the positive outcome, below it over-predicts.`
      : 'No bin holds a prediction: the reliability diagram shows only the diagonal.';
  return `<section id="classification">
<h2>Classification${c.title ? ` <span class="muted">(${escapeHtml(c.title)})</span>` : ''}</h2>
<p class="caption">Predicted probabilities against the 0/1 outcomes${groups.length > 0 ? ', overall and per group' : ''}. Log loss and Brier score: lower is better (always predicting 0.5 scores 0.6931 and 0.2500); AUC: 0.5 is no ranking skill, 1 a perfect ranking; accuracy at a threshold of 0.5; base rate: the share of positive outcomes.</p>
<div class="scroll">
<table id="metrics-classification" class="metrics">
<thead><tr><th></th>${head}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
</div>
<p class="caption">${reliabilityCaption}</p>
<div class="reliability">
<div id="chart-reliability" class="chart"></div>
<table id="reliability-bins" class="metrics">
<thead><tr><th>Bin</th><th class="num">Predictions</th><th class="num">Mean predicted</th><th class="num">Observed</th></tr></thead>
<tbody>
${bins.join('\n')}
</tbody>
</table>
</div>
</section>
`;
}

/** The same columns as the folds' table, so a symbol's row reads like a fold's. */
const SYMBOL_COLUMNS = GROUP_COLUMNS;

/**
 * Each symbol traded alone (`result.bySymbol`), one row each, and the portfolio's row under them:
 * when each symbol was active, its own periods per year and its metrics.
 */
export function symbolsSection(symbols: SymbolSeries[], overall: BacktestSeries, periodsPerYear: number, barMs: number): string {
  const head = ['From (UTC)', 'To (UTC)', ...SYMBOL_COLUMNS.slice(0, 1).map((m) => METRIC_LABELS[m]), 'Periods per year', ...SYMBOL_COLUMNS.slice(1).map((m) => (m === 'maxDrawdownMs' ? 'Longest drawdown' : METRIC_LABELS[m].replace(' ratio', '')))];
  const row = (s: BacktestSeries, ppy: number, cls: string): string => {
    const cells = [
      s.ts.length > 0 ? formatUtc(s.ts[0]!).replace(/ UTC$/, '') : '–',
      s.ts.length > 0 ? formatUtc(s.ts[s.ts.length - 1]!).replace(/ UTC$/, '') : '–',
      formatMetric('periods', s.metrics.periods),
      formatCount(Math.round(ppy)),
      ...SYMBOL_COLUMNS.slice(1).map((m) => formatMetric(m, s.metrics[m])),
    ];
    return `<tr${cls}><th scope="row">${escapeHtml(s.name)}</th>${cells.map((c) => `<td class="num">${escapeHtml(c)}</td>`).join('')}</tr>`;
  };
  const rows = [...symbols.map((s) => row(s, s.periodsPerYear, '')), row(overall, periodsPerYear, ' class="portfolio"')];
  return `<section id="symbols">
<h2>Per symbol</h2>
<p class="caption">Each symbol traded alone on the whole capital, with the same rules and costs: its own rows, predictions and net return per period, annualised with its own periods per year. The portfolio (last row) holds an equal share of each of the ${symbols.length} symbols: its return in a period is the sum of the symbols' returns divided by ${symbols.length}, a symbol without a row in that period holding its share in cash. Longest drawdown in trading time (periods × ${escapeHtml(formatDuration(barMs))}).</p>
<div class="scroll">
<table id="metrics-symbols" class="metrics wide">
<thead><tr><th>Symbol</th>${head.map((h) => `<th class="num">${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
</div>
</section>
`;
}
