import { describe, expect, it } from 'vitest';
import type { BacktestResult } from '../../../src/training/backtest/backtestTypes.js';
import {
  type ClassificationColumn,
  formatClassificationMetric,
  formatCount,
  formatDuration,
  formatMetric,
  formatPercent,
  formatTrimmed,
} from '../../../src/training/backtest/report/format.js';
import { type ClassificationReport, renderBacktestReport } from '../../../src/training/backtest/report/htmlReport.js';
import { encodeReportData, m4Indices } from '../../../src/training/backtest/report/reportData.js';
import { REPORT_SCRIPT, reportScript } from '../../../src/training/backtest/report/reportScript.js';
import { classificationMetrics, reliabilityTable } from '../../../src/training/evaluation/classificationMetrics.js';
import { makeBacktestResult, mulberry32 } from './backtestReportFixture.js';
import { dataOf, expectSelfContained, maxOf, minOf, overallCell } from './reportTestHelpers.js';

const CHART_IDS = ['chart-equity', 'chart-drawdown', 'chart-returns', 'chart-groups'];

/**
 * Seeded predictions of a slightly over-confident model (true log-odds 0.7 × the predicted ones
 * + 0.1), split into three folds: the metrics and the 10-bin reliability table computed from them.
 */
function makeClassification(n = 6_000, seed = 11): ClassificationReport {
  const rand = mulberry32(seed);
  const p: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const z = 1.4 * Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());
    p.push(1 / (1 + Math.exp(-z)));
    y.push(rand() < 1 / (1 + Math.exp(-(0.7 * z + 0.1))) ? 1 : 0);
  }
  const third = Math.ceil(n / 3);
  const perGroup = [0, 1, 2].map((g) => ({
    name: `fold ${g + 1}`,
    metrics: classificationMetrics(p.slice(g * third, (g + 1) * third), y.slice(g * third, (g + 1) * third)),
  }));
  return { title: 'calibrated, out of sample', overall: classificationMetrics(p, y), perGroup, reliability: reliabilityTable(p, y, 10) };
}

const CLASSIFICATION_COLUMNS: ClassificationColumn[] = ['n', 'logLoss', 'brier', 'auc', 'accuracy', 'baseRate'];

/** The cells of the row named `name` of the classification table. */
function classificationRow(html: string, name: string): string[] {
  const m = new RegExp(`<tr(?: class="total")?><th scope="row">${name}</th>((?:<td class="num">[^<]*</td>)+)</tr>`).exec(html);
  expect(m, `classification row ${name}`).not.toBeNull();
  return [...m![1]!.matchAll(/<td class="num">([^<]*)<\/td>/g)].map((c) => c[1]!);
}

describe('renderBacktestReport', { timeout: 30_000 }, () => {
  const result = makeBacktestResult();
  const html = renderBacktestReport(result, { title: 'BTCUSDT sign model' });

  it('is one HTML document with the title, provenance, tables and the four chart containers', () => {
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    expect(html).toContain('<title>BTCUSDT sign model</title>');
    for (const id of CHART_IDS) expect(html).toContain(`<div id="${id}" class="chart"></div>`);
    for (const v of Object.values(result.provenance)) expect(html).toContain(v);
    expect(html).toContain('<table id="metrics-overall"');
    expect(html).toContain('<table id="metrics-groups"');
    // uPlot itself and its stylesheet are inlined.
    expect(html).toContain('var uPlot=function(){');
    expect(html).toContain('.uplot');
    // Formatted overall metrics.
    const m = result.overall.metrics;
    expect(overallCell(html, 'totalReturn')).toBe(formatPercent(m.totalReturn));
    expect(overallCell(html, 'sharpe')).toBe(m.sharpe.toFixed(2));
    expect(overallCell(html, 'maxDrawdown')).toMatch(/^-\d+\.\d\d %$/);
    expect(overallCell(html, 'maxDrawdownMs')).toBe(`${formatDuration(m.maxDrawdownMs)} (${formatCount(m.maxDrawdownPeriods)} periods)`);
    expect(overallCell(html, 'periods')).toBe('60,000');
    // One symbol: its own series is the portfolio, so no per-symbol section or lines.
    expect(html).not.toContain('id="metrics-symbols"');
    // Per-fold rows plus the mean and 95 % interval rows.
    expect(html).toContain('<tr><th scope="row">fold 1</th>');
    expect(html).toContain('<th scope="row">mean (n = 3)</th>');
    expect(html).toContain('<th scope="row">95 % interval</th>');
  });

  it('refers to nothing outside the document', () => {
    expectSelfContained(html);
  });

  it('embeds the data as JSON that parses back to what was given', () => {
    const { raw, data } = dataOf(html);
    expect(raw).not.toMatch(/</);
    // Version 2: x of the charts over time is a period index (the ordinal axis), no longer seconds.
    expect(data.format).toBe('barflow-backtest-report/2');
    expect(data.title).toBe('BTCUSDT sign model');
    expect(data.groupKind).toBe('fold');
    expect(data.overallMetrics).toEqual({ ...result.overall.metrics });
    expect(data.overallMetrics.periods).toBe(60_000);

    // Equity: one x axis (period indices, increasing; t: their times in seconds), the overall line first, then the folds.
    const eq = data.equity;
    expect(eq.downsampled).toBe(true);
    expect(eq.lines.map((l) => l.name)).toEqual(['all out-of-sample periods', 'fold 1', 'fold 2', 'fold 3']);
    for (let i = 1; i < eq.x.length; i++) expect(eq.x[i]!).toBeGreaterThan(eq.x[i - 1]!);
    for (let i = 1; i < eq.t.length; i++) expect(eq.t[i]!).toBeGreaterThan(eq.t[i - 1]!);
    const o = result.overall;
    // The folds' periods are the overall series' periods: the time line is the overall one, and the
    // day between two folds takes no room on it.
    expect(data.timeline).toEqual({ periods: o.ts.length, barSeconds: 60, gaps: [] });
    const byTs = new Map<number, number>();
    for (let i = 0; i < o.ts.length; i++) byTs.set(o.ts[i]! / 1000, o.equity[i]!);
    const overallLine = eq.lines[0]!.y;
    let points = 0;
    overallLine.forEach((y, i) => {
      if (y === null) return;
      points++;
      expect(y).toBe(byTs.get(eq.t[i]!)); // every plotted point is a real point, at its own time
      expect(eq.t[i]).toBe(o.ts[eq.x[i]!]! / 1000); // and at its own period
    });
    expect(points).toBeLessThanOrEqual(5_000);
    expect(points).toBeGreaterThan(4_000);
    expect(overallLine[0]).toBe(o.equity[0]);
    expect(overallLine.at(-1)).toBe(o.equity.at(-1));
    // Downsampling keeps the extremes: the plotted lowest and highest equity are the true ones.
    expect(minOf(overallLine)).toBe(minOf(o.equity));
    expect(maxOf(overallLine)).toBe(maxOf(o.equity));
    result.groups!.series.forEach((s, g) => {
      const line = eq.lines[g + 1]!.y;
      expect(minOf(line)).toBe(minOf(s.equity));
      expect(maxOf(line)).toBe(maxOf(s.equity));
      expect(line.filter((v) => v !== null).length).toBeLessThanOrEqual(Math.floor(5_000 / 3));
    });

    // Drawdown: the deepest point survives downsampling and equals the metric.
    expect(minOf(data.drawdown.lines[0]!.y)).toBe(result.overall.metrics.maxDrawdown);

    // Histogram: every non-idle period is counted once.
    const h = data.returns!;
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(h.n);
    expect(h.n + h.idle).toBe(60_000);
    expect(h.edges.length).toBe(h.counts.length + 1);
    expect(h.counts.length).toBeGreaterThanOrEqual(10);

    // Per-fold bars: the folds' Sharpe ratios and the summary's interval.
    const g = data.groups!;
    expect(g.metric).toBe('sharpe');
    expect(g.values).toEqual(result.groups!.series.map((s) => s.metrics.sharpe));
    const sum = result.groups!.summary.find((x) => x.metric === 'sharpe')!;
    expect([g.mean, g.lo, g.hi]).toEqual([sum.mean, sum.lo, sum.hi]);
  });

  it('gives the same bytes for the same input', () => {
    expect(renderBacktestReport(result, { title: 'BTCUSDT sign model' })).toBe(html);
    expect(renderBacktestReport(makeBacktestResult(), { title: 'BTCUSDT sign model' })).toBe(html);
    expect(renderBacktestReport(makeBacktestResult({ seed: 7 }), { title: 'BTCUSDT sign model' })).not.toBe(html);
  });

  it('writes NaN and Infinity as null in the JSON and as – and ∞ in the tables', () => {
    const r: BacktestResult = makeBacktestResult({ periods: 3_000 });
    r.overall.metrics.sharpe = NaN;
    r.overall.metrics.profitFactor = Infinity;
    r.overall.metrics.calmar = -Infinity;
    r.overall.returns[5] = NaN;
    r.overall.equity[7] = NaN;
    const f2 = r.groups!.series[1]!;
    f2.metrics.sharpe = NaN;
    f2.metrics.profitFactor = Infinity;
    r.groups!.summary.find((x) => x.metric === 'profitFactor')!.hi = Infinity;
    r.groups!.summary.find((x) => x.metric === 'sharpe')!.mean = NaN;
    r.config = { stop: Infinity, threshold: NaN };
    const out = renderBacktestReport(r);
    const { raw, data } = dataOf(out);
    expect(raw).not.toMatch(/NaN|Infinity/);
    expect(data.overallMetrics.sharpe).toBeNull();
    expect(data.overallMetrics.profitFactor).toBeNull();
    expect(data.equity.lines[0]!.y).not.toContain(Number.NaN);
    expect(data.groups!.values[1]).toBeNull();
    expect(data.groups!.mean).toBeNull();
    expect(overallCell(out, 'sharpe')).toBe('–');
    expect(overallCell(out, 'profitFactor')).toBe('∞');
    expect(overallCell(out, 'calmar')).toBe('-∞');
    expect(out).toMatch(/<tr><th scope="row">fold 2<\/th>(<td class="num">[^<]*<\/td>){2}<td class="num">–<\/td>/);
    expect(out).toContain('<span class="nw">∞]</span>');
    expect(out).toContain('&quot;stop&quot;: &quot;Infinity&quot;');
    expect(data.returns!.n + data.returns!.idle).toBe(2_999); // the NaN return is left out
  });

  it('escapes text: a </script> in a name or in the provenance cannot end an element', () => {
    const r = makeBacktestResult({ periods: 600 });
    r.groups!.series[0]!.name = 'fold </script><script>alert(1)</script>';
    r.provenance.command = 'barflow backtest --note "</script><b>x</b>"';
    const out = renderBacktestReport(r, { title: 'A & B <i>' });
    expect(out).toContain('<title>A &amp; B &lt;i&gt;</title>');
    expect(out).not.toContain('<script>alert(1)');
    expect(out).not.toContain('<b>x</b>');
    const { data } = dataOf(out);
    expect(data.equity.lines[1]!.name).toBe('fold </script><script>alert(1)</script>');
    expect(out.match(/<script\b/g)).toHaveLength(3);
    expect(out.match(/<\/script>/g)).toHaveLength(3);
  });

  it('draws short series point for point and works without groups', () => {
    const r = makeBacktestResult({ periods: 1_200 });
    r.groups = null;
    const out = renderBacktestReport(r);
    const { data } = dataOf(out);
    expect(data.groups).toBeNull();
    expect(data.groupKind).toBeNull();
    expect(data.equity.downsampled).toBe(false);
    expect(data.equity.lines[0]!.y).toEqual(Array.from(r.overall.equity));
    expect(out).not.toContain('id="chart-groups"');
    expect(out).toContain('<title>Backtest report</title>');
  });
});

describe('renderBacktestReport with classification', { timeout: 30_000 }, () => {
  const result = makeBacktestResult({ periods: 6_000 });
  const c = makeClassification();
  const title = 'BTCUSDT sign model';
  const html = renderBacktestReport(result, { title, classification: c });
  const plain = renderBacktestReport(result, { title });

  it('adds a Classification section between Overall and Equity: metrics table, reliability chart, bins table', () => {
    const at = (s: string): number => {
      const i = html.indexOf(s);
      expect(i, s).toBeGreaterThan(0);
      return i;
    };
    expect(at('<section id="overall">')).toBeLessThan(at('<section id="classification">'));
    expect(at('<section id="classification">')).toBeLessThan(at('<h2>Equity</h2>'));
    expect(html).toContain('<h2>Classification <span class="muted">(calibrated, out of sample)</span></h2>');
    expect(html).toContain('<table id="metrics-classification" class="metrics">');
    expect(html).toContain('<div id="chart-reliability" class="chart"></div>');
    expect(html).toContain('<table id="reliability-bins" class="metrics">');
    for (const id of CHART_IDS) expect(html).toContain(`<div id="${id}" class="chart"></div>`);
    // One row overall, one per group, each cell formatted from the given number.
    const table = html.slice(at('<table id="metrics-classification"'), html.indexOf('</table>', at('<table id="metrics-classification"')));
    expect(table.match(/<tr/g)).toHaveLength(1 + 1 + 3);
    const rows: [string, ClassificationReport['overall']][] = [['overall', c.overall], ...c.perGroup!.map((g): [string, ClassificationReport['overall']] => [g.name, g.metrics])];
    for (const [name, m] of rows) expect(classificationRow(html, name)).toEqual(CLASSIFICATION_COLUMNS.map((k) => formatClassificationMetric(k, m[k])));
    expect(classificationRow(html, 'overall')[0]).toBe('6,000');
    expect(classificationRow(html, 'overall')[1]).toBe(c.overall.logLoss.toFixed(4));
    expect(classificationRow(html, 'overall')[3]).toBe(c.overall.auc.toFixed(3));
    expect(classificationRow(html, 'overall')[4]).toBe(formatPercent(c.overall.accuracy));
    // All ten bins in the bins table; the caption counts the predictions.
    const bins = html.slice(at('<table id="reliability-bins"'), html.indexOf('</table>', at('<table id="reliability-bins"')));
    expect(bins.match(/<tr/g)).toHaveLength(1 + 10);
    const b5 = c.reliability[5]!;
    expect(bins).toContain(`<th scope="row">0.5–0.6</th><td class="num">${formatCount(b5.count)}</td><td class="num">${b5.meanPredicted.toFixed(3)}</td><td class="num">${b5.observed.toFixed(3)}</td>`);
    expect(html).toContain('Reliability diagram of the 6,000 predictions');
    // The script draws five charts: the reliability diagram's code is in it.
    expect(html).toContain(`<script>${reportScript({ reliability: true })}</script>`);
    expect(reportScript({ reliability: true })).toContain("var defs = [reliabilityChart(), equityChart(), drawdownChart(), returnsChart(), groupsChart()]");
    expect(html.match(/<script\b/g)).toHaveLength(3);
  });

  it('embeds the classification data as JSON that parses back to what was given', () => {
    const { raw, data } = dataOf(html);
    expect(raw).not.toMatch(/<|NaN|Infinity/);
    const cd = data.classification!;
    expect(cd.title).toBe('calibrated, out of sample');
    expect(cd.overall).toEqual({ ...c.overall });
    expect(cd.groups).toEqual(c.perGroup!.map((g) => ({ name: g.name, metrics: { ...g.metrics } })));
    expect(cd.bins).toEqual(c.reliability.map((b) => ({ ...b })));
    expect(cd.colors).toEqual({ points: expect.any(String), pointsFill: expect.any(String), diagonal: expect.any(String) });
    // The plot: 0, each bin's mean predicted probability in order, 1; the diagonal y = x through them.
    const r = cd.reliability;
    const filled = c.reliability.filter((b) => b.count > 0);
    expect(filled.length).toBe(10);
    expect(r.x).toEqual([0, ...filled.map((b) => b.meanPredicted), 1]);
    expect(r.diagonal).toEqual(r.x);
    expect(r.observed).toEqual([null, ...filled.map((b) => b.observed), null]);
    expect(r.count).toEqual([null, ...filled.map((b) => b.count), null]);
    expect(r.lo).toEqual([null, ...filled.map((b) => b.lo), null]);
    expect(r.hi).toEqual([null, ...filled.map((b) => b.hi), null]);
    for (let i = 1; i < r.x.length; i++) expect(r.x[i]!).toBeGreaterThan(r.x[i - 1]!);
    expect(r.n).toBe(6_000);
    expect(r.maxCount).toBe(Math.max(...filled.map((b) => b.count)));
    expect(r.empty).toBe(0);
    // The backtest's own data is untouched by the classification.
    const { data: without } = dataOf(plain);
    expect({ ...data, classification: undefined }).toEqual({ ...without, classification: undefined });
  });

  it('leaves the page byte for byte as it was without the option', () => {
    expect(renderBacktestReport(result, { title, classification: undefined })).toBe(plain);
    expect(plain).not.toMatch(/classification|reliability/i);
    expect(plain).toContain(`<script>${REPORT_SCRIPT}</script>`);
    expect(reportScript()).toBe(REPORT_SCRIPT);
    expect(dataOf(plain).data).not.toHaveProperty('classification');
    // Everything the option adds, taken out again, gives the page without it: the section, its
    // stylesheet rules, its JSON key and the chart's code; nothing else differs.
    const start = html.indexOf('<section id="classification">');
    let stripped = html.slice(0, start) + html.slice(html.indexOf('<section>\n<h2>Equity</h2>'));
    const css = stripped.indexOf('table.metrics tr.total');
    stripped = stripped.slice(0, css) + stripped.slice(stripped.indexOf('</style>', css));
    const { raw, data } = dataOf(stripped);
    delete data.classification;
    stripped = stripped.replace(raw, () => encodeReportData(data)).replace(reportScript({ reliability: true }), () => REPORT_SCRIPT);
    expect(stripped).toBe(plain);
  });

  it('gives the same bytes for the same input', () => {
    expect(renderBacktestReport(makeBacktestResult({ periods: 6_000 }), { title, classification: makeClassification() })).toBe(html);
    expect(renderBacktestReport(result, { title, classification: makeClassification(6_000, 12) })).not.toBe(html);
  });

  it('refers to nothing outside the document', () => {
    expectSelfContained(html);
  });

  it('writes NaN as – in the tables and null in the JSON, and leaves empty bins out of the chart', () => {
    const k = makeClassification(1_000);
    k.overall.auc = NaN;
    k.overall.logLoss = Infinity;
    k.perGroup![1]!.metrics.brier = NaN;
    k.perGroup![2]!.metrics = classificationMetrics([], []); // an empty group: n 0, everything else NaN
    // Two empty bins (reliabilityTable gives NaN there) and a bin whose observed frequency is missing.
    k.reliability[0] = { lo: 0, hi: 0.1, count: 0, meanPredicted: NaN, observed: NaN };
    k.reliability[9] = { lo: 0.9, hi: 1, count: 0, meanPredicted: NaN, observed: NaN };
    k.reliability[4] = { ...k.reliability[4]!, observed: NaN };
    const out = renderBacktestReport(makeBacktestResult({ periods: 600 }), { classification: k });
    expect(classificationRow(out, 'overall')[3]).toBe('–');
    expect(classificationRow(out, 'overall')[1]).toBe('∞');
    expect(classificationRow(out, 'fold 2')[2]).toBe('–');
    expect(classificationRow(out, 'fold 3')).toEqual(['0', '–', '–', '–', '–', '–']);
    expect(out).toContain('<tr class="muted"><th scope="row">0–0.1</th><td class="num">0</td><td class="num">–</td><td class="num">–</td></tr>');
    expect(out).toContain('<th scope="row">0.4–0.5</th>');
    expect(out).toMatch(/<th scope="row">0\.4–0\.5<\/th><td class="num">[\d,]+<\/td><td class="num">0\.4\d\d<\/td><td class="num">–<\/td>/);
    const { raw, data } = dataOf(out);
    expect(raw).not.toMatch(/NaN|Infinity/);
    const cd = data.classification!;
    expect(cd.overall.auc).toBeNull();
    expect(cd.overall.logLoss).toBeNull();
    expect(cd.groups[1]!.metrics.brier).toBeNull();
    expect(cd.groups[2]!.metrics).toEqual({ n: 0, logLoss: null, brier: null, auc: null, accuracy: null, baseRate: null });
    expect(cd.bins[0]).toEqual({ lo: 0, hi: 0.1, count: 0, meanPredicted: null, observed: null });
    expect(cd.bins[4]!.observed).toBeNull();
    // Plotted: the seven bins with predictions and both numbers, between the two corners.
    const r = cd.reliability;
    expect(r.x.length).toBe(7 + 2);
    expect(r.observed.every((v, i) => (i === 0 || i === r.x.length - 1 ? v === null : typeof v === 'number'))).toBe(true);
    expect(r.empty).toBe(3);
    expect(r.n).toBe(k.reliability.filter((b, i) => i !== 4 && b.count > 0).reduce((a, b) => a + b.count, 0));
    expect(out).toContain('3 empty bins left out');
  });

  it('draws only the diagonal when no bin holds a prediction, and escapes text', () => {
    const k: ClassificationReport = {
      overall: classificationMetrics([], []),
      perGroup: [{ name: 'fold </script><script>alert(1)</script>', metrics: classificationMetrics([], []) }],
      reliability: reliabilityTable([], [], 5),
      title: '<b>t</b>',
    };
    const out = renderBacktestReport(makeBacktestResult({ periods: 600 }), { classification: k });
    expect(out).not.toContain('<script>alert(1)');
    expect(out).not.toContain('<b>t</b>');
    expect(out).toContain('(&lt;b&gt;t&lt;/b&gt;)');
    expect(out.match(/<script\b/g)).toHaveLength(3);
    expect(out.match(/<\/script>/g)).toHaveLength(3);
    expect(out).toContain('No bin holds a prediction: the reliability diagram shows only the diagonal.');
    const { data } = dataOf(out);
    const r = data.classification!.reliability;
    expect(r.x).toEqual([0, 1]);
    expect(r.diagonal).toEqual([0, 1]);
    expect(r.observed).toEqual([null, null]);
    expect(r).toMatchObject({ n: 0, maxCount: 0, empty: 5 });
    expect(data.classification!.groups[0]!.name).toBe('fold </script><script>alert(1)</script>');
    expect(out).toContain('<th scope="row">0.2–0.4</th>');
    // Without a title, no parenthesis after the heading.
    const untitled = renderBacktestReport(makeBacktestResult({ periods: 600 }), { classification: { ...k, title: undefined } });
    expect(untitled).toContain('<h2>Classification</h2>');
    expectSelfContained(untitled);
  });
});

describe('report helpers', () => {
  it('formats metrics: percentages, ratios, counts, durations', () => {
    expect(formatMetric('totalReturn', 0.123456)).toBe('12.35 %');
    expect(formatMetric('maxDrawdown', -0.00001)).toBe('0.00 %');
    expect(formatMetric('winRate', 0.5)).toBe('50.00 %');
    expect(formatMetric('sharpe', 1.23456)).toBe('1.23');
    expect(formatMetric('profitFactor', Infinity)).toBe('∞');
    expect(formatMetric('sortino', NaN)).toBe('–');
    expect(formatMetric('trades', 1234567)).toBe('1,234,567');
    expect(formatMetric('turnover', 0.0037666)).toBe('0.003767');
    expect(formatDuration(0)).toBe('0');
    expect(formatDuration(45_000)).toBe('45s');
    expect(formatDuration(90_000)).toBe('1m 30s');
    expect(formatDuration(25 * 60_000)).toBe('25m');
    expect(formatDuration((3 * 60 + 5) * 60_000)).toBe('3h 5m');
    expect(formatDuration(((2 * 24 + 4) * 60 + 10) * 60_000)).toBe('2d 4h 10m');
    expect(formatDuration(((12 * 24 + 4) * 60 + 10) * 60_000)).toBe('12d 4h');
    expect(formatClassificationMetric('n', 12_345)).toBe('12,345');
    expect(formatClassificationMetric('logLoss', 0.693147)).toBe('0.6931');
    expect(formatClassificationMetric('brier', 0.25)).toBe('0.2500');
    expect(formatClassificationMetric('auc', 0.53456)).toBe('0.535');
    expect(formatClassificationMetric('accuracy', 0.5123)).toBe('51.23 %');
    expect(formatClassificationMetric('baseRate', NaN)).toBe('–');
    expect(formatClassificationMetric('auc', NaN)).toBe('–');
    expect([0, 0.1, 0.25, 1, 0.125, 0.33333].map(formatTrimmed)).toEqual(['0', '0.1', '0.25', '1', '0.125', '0.3333']);
  });

  it('m4Indices keeps the first, lowest, highest and last point of each bucket', () => {
    const n = 100_000;
    const ts = Float64Array.from({ length: n }, (_, i) => i * 60_000);
    const y = Float64Array.from({ length: n }, (_, i) => Math.sin(i / 300) + (i === 54_321 ? -5 : 0));
    y[77_777] = NaN;
    const idx = m4Indices(ts, y, 4_000);
    expect(idx.length).toBeLessThanOrEqual(4_000);
    expect(idx[0]).toBe(0);
    expect(idx.at(-1)).toBe(n - 1);
    expect(idx).toContain(54_321);
    expect(idx).not.toContain(77_777);
    for (let i = 1; i < idx.length; i++) expect(idx[i]!).toBeGreaterThan(idx[i - 1]!);
  });
});
