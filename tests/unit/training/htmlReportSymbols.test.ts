import { describe, expect, it } from 'vitest';
import { formatCount, formatDuration, formatMetric } from '../../../src/training/backtest/report/format.js';
import { renderBacktestReport } from '../../../src/training/backtest/report/htmlReport.js';
import { REPORT_COLORS } from '../../../src/training/backtest/report/reportData.js';
import { makeTwoSymbolResult } from './backtestReportFixture.js';
import { dataOf, expectSelfContained, maxOf, minOf } from './reportTestHelpers.js';

describe('renderBacktestReport of two symbols six months apart', { timeout: 30_000 }, () => {
  // BTCUSDT 2023-03-10 for 3 days around the clock (4,320 rows), ES from 2023-09-24 22:00 for
  // three 23-hour sessions (4,140 rows): the real backtest over synthetic rows.
  const result = makeTwoSymbolResult();
  // Points enough to draw every period (8,458) point for point.
  const html = renderBacktestReport(result, { title: 'BTCUSDT + ES', maxPoints: 10_000 });
  const { data } = dataOf(html);
  const [btc, es] = result.bySymbol as [(typeof result.bySymbol)[0], (typeof result.bySymbol)[0]];

  it('annualises over the time some symbol was active, and gives durations in trading time', () => {
    // 8,460 rows over 4,320 + 4,260 minutes of the symbols' spans (ES: Sunday 22:00 to Wednesday
    // 20:59 and one bar, its session breaks included); not 8,460 over the six and a half months.
    expect(result.periodsPerYear).toBeCloseTo((8_460 * 525_960) / (4_320 + 4_260), 6);
    expect(btc.periodsPerYear).toBeCloseTo(525_960, 6);
    expect(es.periodsPerYear).toBeCloseTo((4_140 * 525_960) / 4_260, 6);
    expect(result.barMs).toBe(60_000);
    for (const s of [result.overall, btc, es]) expect(s.metrics.maxDrawdownMs).toBe(s.metrics.maxDrawdownPeriods * 60_000);
    expect(html).toContain('BTCUSDT, ES · 2023-03-10 00:01 UTC → 2023-09-27 20:59 UTC · 8,458 periods · 518,604 periods per year');
    const m = result.overall.metrics;
    expect(html).toContain(`longest ${formatDuration(m.maxDrawdownMs)} of trading time (${formatCount(m.maxDrawdownPeriods)} periods)`);
  });

  it('puts the equity and drawdown on an ordinal axis of periods: the six months take one step', () => {
    expect(data.format).toBe('barflow-backtest-report/2');
    const o = result.overall;
    expect(o.ts.length).toBe(4_319 + 4_139);
    // One gap is marked, between BTCUSDT's last period and ES's first.
    const gapSeconds = (es.ts[0]! - btc.ts.at(-1)!) / 1000;
    expect(data.timeline).toEqual({
      periods: o.ts.length,
      barSeconds: 60,
      gaps: [{ at: btc.ts.length, from: btc.ts.at(-1)! / 1000, to: es.ts[0]! / 1000, label: `gap ${formatDuration((gapSeconds - 60) * 1000)}` }],
    });
    expect(data.timeline.gaps[0]!.label).toBe('gap 195d 22h');
    for (const d of [data.equity, data.drawdown]) {
      // x: period indices; t: each one's time. Short series: every period is plotted.
      expect(d.x).toEqual(Array.from(o.ts, (_, i) => i));
      expect(d.t).toEqual(Array.from(o.ts, (t) => t / 1000));
    }
    expect(data.drawdown.lines[0]!.y).toEqual(Array.from(o.drawdown));
    expect(html).toContain('The x axis counts trading periods');
    expect(html).toContain('Dashed vertical lines mark the gap longer than 4d without a period.');
  });

  it('draws one equity line per symbol, traded alone, each only where that symbol has periods', () => {
    const eq = data.equity;
    expect(eq.lines.map((l) => [l.name, l.color])).toEqual([
      ['out of sample', REPORT_COLORS.overall],
      ['BTCUSDT', REPORT_COLORS.symbols[0]],
      ['ES', REPORT_COLORS.symbols[1]],
    ]);
    expect(eq.lines[0]!.y).toEqual(Array.from(result.overall.equity));
    const at = btc.ts.length;
    expect(eq.lines[1]!.y).toEqual([...btc.equity, ...Array<null>(es.ts.length).fill(null)]);
    expect(eq.lines[2]!.y).toEqual([...Array<null>(at).fill(null), ...es.equity]);
    // BTCUSDT's last point and ES's first are one period apart on the axis, six months apart in time.
    expect(eq.x[at]! - eq.x[at - 1]!).toBe(1);
    expect(eq.t[at]! - eq.t[at - 1]!).toBeGreaterThan(190 * 86_400);
    // The per-symbol metrics in the JSON and the table, with the portfolio's row under them.
    expect(data.symbolMetrics).toEqual([
      { name: 'BTCUSDT', metrics: { ...btc.metrics } },
      { name: 'ES', metrics: { ...es.metrics } },
    ]);
    const at2 = (x: string) => html.indexOf(x);
    expect(at2('<section id="overall">')).toBeLessThan(at2('<section id="symbols">'));
    expect(at2('<section id="symbols">')).toBeLessThan(at2('<h2>Equity</h2>'));
    const table = html.slice(at2('<table id="metrics-symbols"'), html.indexOf('</table>', at2('<table id="metrics-symbols"')));
    const rows = [...table.matchAll(/<tr(?: class="portfolio")?><th scope="row">([^<]*)<\/th>((?:<td class="num">[^<]*<\/td>)+)<\/tr>/g)];
    expect(rows.map((r) => r[1])).toEqual(['BTCUSDT', 'ES', 'out of sample']);
    const cells = (i: number) => [...rows[i]![2]!.matchAll(/<td class="num">([^<]*)<\/td>/g)].map((c) => c[1]!);
    expect(cells(0).slice(0, 4)).toEqual(['2023-03-10 00:01', '2023-03-12 23:59', '4,319', '525,960']);
    expect(cells(1).slice(0, 4)).toEqual(['2023-09-24 22:01', '2023-09-27 20:59', '4,139', formatCount(Math.round(es.periodsPerYear))]);
    expect(cells(2).slice(0, 4)).toEqual(['2023-03-10 00:01', '2023-09-27 20:59', '8,458', '518,604']);
    for (const [i, s] of [btc, es, result.overall].entries()) {
      expect(cells(i).slice(4)).toEqual(['totalReturn', 'sharpe', 'sortino', 'maxDrawdown', 'maxDrawdownMs', 'winRate', 'profitFactor', 'trades', 'exposure', 'costs'].map((m) => formatMetric(m as 'sharpe', s.metrics[m as 'sharpe'])));
    }
    expect(html).toContain('one line per symbol traded alone (BTCUSDT, ES), drawn only where that symbol has periods');
  });

  it('keeps each symbol line within its own periods when downsampled, and is deterministic and self-contained', () => {
    const out = renderBacktestReport(result, { title: 'BTCUSDT + ES', maxPoints: 400 });
    const { data: small } = dataOf(out);
    expect(small.equity.downsampled).toBe(true);
    const at = btc.ts.length;
    const [, b, e] = small.equity.lines as [unknown, { y: (number | null)[] }, { y: (number | null)[] }];
    small.equity.x.forEach((x, i) => {
      if (b.y[i] !== null) expect(x).toBeLessThan(at);
      if (e.y[i] !== null) expect(x).toBeGreaterThanOrEqual(at);
    });
    expect(minOf(b.y)).toBe(minOf(btc.equity));
    expect(maxOf(e.y)).toBe(maxOf(es.equity));
    expect(b.y.filter((v) => v !== null).length).toBeLessThanOrEqual(200);
    expect(renderBacktestReport(makeTwoSymbolResult(), { title: 'BTCUSDT + ES', maxPoints: 10_000 })).toBe(html);
    expectSelfContained(html);
  });
});

