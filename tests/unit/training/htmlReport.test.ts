import { describe, expect, it } from 'vitest';
import type { BacktestResult } from '../../../src/training/backtest/backtestTypes.js';
import { formatCount, formatDuration, formatMetric, formatPercent } from '../../../src/training/backtest/report/format.js';
import { renderBacktestReport } from '../../../src/training/backtest/report/htmlReport.js';
import { type ReportData, m4Indices } from '../../../src/training/backtest/report/reportData.js';
import { makeBacktestResult } from './backtestReportFixture.js';

const CHART_IDS = ['chart-equity', 'chart-drawdown', 'chart-returns', 'chart-groups'];

function dataOf(html: string): { raw: string; data: ReportData } {
  const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  expect(m, 'the data script element').not.toBeNull();
  const raw = m![1]!;
  return { raw, data: JSON.parse(raw) as ReportData };
}

/** The text of the value cell of one row of the overall metrics table. */
function overallCell(html: string, metric: string): string {
  const m = new RegExp(`<tr data-metric="${metric}"><th scope="row">[^<]*</th><td class="num">([^<]*)</td>`).exec(html);
  expect(m, `row ${metric}`).not.toBeNull();
  return m![1]!;
}

function minOf(a: ArrayLike<number | null>): number {
  let m = Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] !== null && a[i]! < m) m = a[i]!;
  return m;
}

function maxOf(a: ArrayLike<number | null>): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] !== null && a[i]! > m) m = a[i]!;
  return m;
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
    // Per-fold rows plus the mean and 95 % interval rows.
    expect(html).toContain('<tr><th scope="row">fold 1</th>');
    expect(html).toContain('<th scope="row">mean (n = 3)</th>');
    expect(html).toContain('<th scope="row">95 % interval</th>');
  });

  it('refers to nothing outside the document', () => {
    // No attribute with a URL other than a fragment; no CSS url()/@import; no request API.
    const attrs = [...html.matchAll(/\b(?:src|href|action|poster|srcset|formaction)\s*=\s*["']?([^"'\s>]*)/gi)].map((m) => m[1]!);
    for (const a of attrs) expect(a, `attribute value ${a}`).toMatch(/^(#|$)/);
    expect(html).not.toMatch(/url\s*\(/i);
    expect(html).not.toMatch(/@import/i);
    expect(html).not.toMatch(/\bfetch\s*\(|XMLHttpRequest|WebSocket|EventSource|sendBeacon|importScripts|\bimport\s*\(/);
    // The only URL text is uPlot's licence banner comment.
    const urls = [...html.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"'<>)]*/gi)].map((m) => m[0]);
    expect(urls).toEqual(['https://github.com/leeoniya/uPlot']);
    expect(html).toContain('/*! https://github.com/leeoniya/uPlot (v');
    // And a policy that forbids any request should something try one anyway.
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`);
  });

  it('embeds the data as JSON that parses back to what was given', () => {
    const { raw, data } = dataOf(html);
    expect(raw).not.toMatch(/</);
    expect(data.format).toBe('barflow-backtest-report/1');
    expect(data.title).toBe('BTCUSDT sign model');
    expect(data.groupKind).toBe('fold');
    expect(data.overallMetrics).toEqual({ ...result.overall.metrics });
    expect(data.overallMetrics.periods).toBe(60_000);

    // Equity: one x axis (seconds, increasing), the overall line first, then the folds.
    const eq = data.equity;
    expect(eq.downsampled).toBe(true);
    expect(eq.lines.map((l) => l.name)).toEqual(['all out-of-sample periods', 'fold 1', 'fold 2', 'fold 3']);
    for (let i = 1; i < eq.x.length; i++) expect(eq.x[i]!).toBeGreaterThan(eq.x[i - 1]!);
    const o = result.overall;
    const byTs = new Map<number, number>();
    for (let i = 0; i < o.ts.length; i++) byTs.set(o.ts[i]! / 1000, o.equity[i]!);
    const overallLine = eq.lines[0]!.y;
    let points = 0;
    overallLine.forEach((y, i) => {
      if (y === null) return;
      points++;
      expect(y).toBe(byTs.get(eq.x[i]!)); // every plotted point is a real point, at its own time
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
