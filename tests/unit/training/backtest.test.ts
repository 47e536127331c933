import { describe, expect, it } from 'vitest';
import { backtestRows, backtestTimeBase, backtestWithSymbols, estimatePeriodsPerYear } from '../../../src/training/backtest/backtest.js';
import { parseBacktestConfig } from '../../../src/training/backtest/backtestConfig.js';
import { computeMetrics, summarize } from '../../../src/training/backtest/metrics.js';
import type { FeatureTable } from '../../../src/training/featureTable.js';

const MIN = 60_000;

/** Only what the backtest reads of a table: row times and symbols. */
function table(symbols: number[]): FeatureTable {
  return { ts: Float64Array.from(symbols, (_, i) => i * MIN), symbolCodes: Int32Array.from(symbols), n: symbols.length } as unknown as FeatureTable;
}

describe('backtest positions, delay and costs (hand-computed)', () => {
  const close = Float64Array.from([100, 101, 99, 102, 102]);
  const pUp = [0.9, 0.9, 0.1, 0.5, Number.NaN];
  const rows = Int32Array.from([0, 1, 2, 3, 4]);
  const t = table([0, 0, 0, 0, 0]);
  const r = (j: number) => close[j]! / close[j - 1]! - 1;

  it('no delay, no costs: row i\'s position earns bar i+1\'s return', () => {
    const cfg = parseBacktestConfig({ delayBars: 0, costBps: 0, slippageBps: 0 }, 'test');
    const s = backtestRows('x', t, close, rows, (i) => pUp[i]!, cfg, 1000);
    expect(Array.from(s.returns)).toEqual([r(1), r(2), -r(3), 0]);
    expect(Array.from(s.exposure)).toEqual([1, 1, 1, 0]);
    expect(s.metrics.trades).toBe(2);
    expect(s.metrics.winRate).toBe(0);
    expect(s.equity[3]).toBeCloseTo((1 + r(1)) * (1 + r(2)) * (1 - r(3)), 15);
  });

  it('one bar of delay and 2 × 5 bp per side: costs on every change, including the final close-out', () => {
    const cfg = parseBacktestConfig({ delayBars: 1, costBps: 5, slippageBps: 5 }, 'test');
    const s = backtestRows('x', t, close, rows, (i) => pUp[i]!, cfg, 1000);
    const c = 0.001;
    // Held: period 1 flat (nothing filled yet), 2 long (row 0), 3 long (row 1), 4 short (row 2), closed at the end.
    expect(Array.from(s.returns)).toEqual([0, r(2) - c, r(3), -r(4) - 2 * c - c]);
    expect(s.metrics.costs).toBeCloseTo(4 * c, 15);
    expect(s.metrics.turnover).toBeCloseTo(4 / 4, 15);
    // Trades: long over periods 2–3 (entry cost and the exit half of the reversal), short in period 4.
    expect(s.metrics.trades).toBe(2);
    expect(s.metrics.profitFactor).toBeCloseTo((r(2) - c + r(3) - c) / (c + c), 12);
  });

  it('threshold and proportional rules, within the position limit', () => {
    const prop = parseBacktestConfig({ rule: 'proportional', scale: 4, maxPosition: 0.5, delayBars: 0, costBps: 0, slippageBps: 0 }, 'test');
    const s = backtestRows('x', t, close, rows, (i) => [0.55, 0.9, 0.45, 0.5, 0.5][i]!, prop, 1000);
    expect(Array.from(s.exposure).map((x) => +x.toFixed(12))).toEqual([0.2, 0.5, 0.2, 0]);
    expect(() => parseBacktestConfig({ long: 0.4 }, 'cfg.yaml')).toThrow(/cfg\.yaml: long: need short ≤ center ≤ long/);
  });

  it('two symbols share capital equally; a run of rows starts and ends flat', () => {
    const t2 = table([0, 0, 0, 1, 1, 1]);
    const c2 = Float64Array.from([100, 110, 121, 50, 25, 50]);
    const cfg = parseBacktestConfig({ delayBars: 0, costBps: 0, slippageBps: 0 }, 'test');
    const s = backtestRows('x', t2, c2, Int32Array.from([0, 1, 2, 3, 4, 5]), () => 0.9, cfg, 1000);
    // Symbol 0 earns +10 % twice, symbol 1 −50 % then +100 %; each weighs one half.
    [0.05, 0.05, -0.25, 0.5].forEach((want, i) => expect(s.returns[i]).toBeCloseTo(want, 15));
    expect(s.returns.length).toBe(4);
  });
});

describe('two symbols six months apart: time is counted in trading periods', () => {
  // A (24/7) trades six consecutive minutes on 2023-03-13, B six months later: either six
  // consecutive minutes, or three minutes before and three after an ES weekend (Friday 20:57 to
  // Sunday 22:02). No delay, no costs, always long: each symbol earns its close-to-close returns.
  const YEAR_MIN = 365.25 * 1440; // 525,960 one-minute bars in a year
  const a0 = Date.UTC(2023, 2, 13, 23, 54);
  const b0 = Date.UTC(2023, 8, 29, 20, 57);
  const minutes = (t0: number, n: number) => Array.from({ length: n }, (_, i) => t0 + i * MIN);
  const bWeekend = [...minutes(b0, 3), ...minutes(Date.UTC(2023, 9, 1, 22, 0), 3)];
  const tableOf = (bTimes: number[]) =>
    ({ ts: Float64Array.from([...minutes(a0, 6), ...bTimes]), symbolCodes: Int32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]), symbols: ['A', 'B'], n: 12 }) as unknown as FeatureTable;
  // A alone: +4 %, then −2 % four times; B alone: −2 %, +2 %, +8 %, +2 %, +2 %.
  const closes = (returns: number[], start: number) => returns.reduce((c, r) => [...c, c.at(-1)! * (1 + r)], [start]);
  const close = Float64Array.from([...closes([0.04, -0.02, -0.02, -0.02, -0.02], 100), ...closes([-0.02, 0.02, 0.08, 0.02, 0.02], 50)]);
  const all = Int32Array.from({ length: 12 }, (_, i) => i);
  const cfg = parseBacktestConfig({ delayBars: 0, costBps: 0, slippageBps: 0 }, 'test');
  const long = () => 0.9;

  it('periods per year: the distinct times over the union of the symbols\' active spans', () => {
    // Both 24/7: 12 periods in 6 + 6 minutes of activity, the rate of a 24/7 market (not 12 over six months).
    const base = backtestTimeBase(tableOf(minutes(b0, 6)), all);
    expect(base.barMs).toBe(MIN);
    expect(base.periodsPerYear).toBeCloseTo(12 * (YEAR_MIN / 12), 6);
    expect([...base.symbolPeriodsPerYear.values()].map((v) => +v.toFixed(6))).toEqual([YEAR_MIN, YEAR_MIN]);
    // B's span holds a weekend: [Fri 20:57, Sun 22:02 + 1 bar] = 49 h 6 min = 2,946 minutes, kept as calendar time.
    const weekend = backtestTimeBase(tableOf(bWeekend), all);
    expect(weekend.periodsPerYear).toBeCloseTo((12 * YEAR_MIN) / (6 + 2_946), 6);
    expect(weekend.symbolPeriodsPerYear.get(1)).toBeCloseTo((6 * YEAR_MIN) / 2_946, 6);
    // An explicit value wins, for the portfolio and each symbol.
    const given = backtestTimeBase(tableOf(bWeekend), all, 252 * 390);
    expect([given.periodsPerYear, ...given.symbolPeriodsPerYear.values()]).toEqual([98_280, 98_280, 98_280]);
  });

  it('periods per year of overlapping symbols and of one time line are what they were: periods / (last − first + bar)', () => {
    const day = Float64Array.from({ length: 1440 }, (_, i) => a0 + i * MIN);
    expect(estimatePeriodsPerYear(day)).toBeCloseTo(YEAR_MIN, 6);
    // Two symbols on the same minutes of one day, the second only on its second half.
    expect(estimatePeriodsPerYear([day, day.slice(720)])).toBeCloseTo(YEAR_MIN, 6);
    // A one-hour session break inside a symbol's span counts (24 h span, 23 h of rows).
    const session = day.filter((t) => (t - a0) / MIN < 1380);
    const after = Float64Array.from([a0 + 1440 * MIN]);
    const both = Float64Array.from([...session, ...after]);
    expect(estimatePeriodsPerYear(both)).toBeCloseTo((1381 * YEAR_MIN) / 1441, 6);
  });

  it('the longest drawdown counts the periods under water across the gap, and its time is periods × bar', () => {
    const t = tableOf(bWeekend);
    const base = backtestTimeBase(t, all);
    const { overall, bySymbol } = backtestWithSymbols('portfolio', t, close, all, long, cfg, base);
    // Portfolio (half each): +2 %, −1 % × 4 (A), −1 %, +1 %, +4 %, +1 %, +1 % (B). Peak 1.02 after A's
    // first period; under water from A's second to B's third period (1.02 × 0.99^5 × 1.01 × 1.04 =
    // 1.01890 < 1.02), back above at B's fourth: 4 + 3 = 7 periods, 7 minutes of trading time (the
    // clock says six and a half months); the deepest point 0.99^5 − 1 below the peak.
    const want = [0.02, -0.01, -0.01, -0.01, -0.01, -0.01, 0.01, 0.04, 0.01, 0.01];
    want.forEach((r, i) => expect(overall.returns[i]).toBeCloseTo(r, 12));
    expect(overall.metrics.periods).toBe(10);
    expect(overall.metrics.maxDrawdownPeriods).toBe(7);
    expect(overall.metrics.maxDrawdownMs).toBe(7 * MIN);
    expect(overall.metrics.maxDrawdown).toBeCloseTo(0.99 ** 5 - 1, 12);
    // Each symbol alone: A under water for its last four periods (1.04 × 0.98^4); B for two (0.98, then 0.98 × 1.02),
    // across its weekend: two minutes of trading time, not two days.
    expect(bySymbol.map((s) => [s.name, s.metrics.maxDrawdownPeriods, s.metrics.maxDrawdownMs])).toEqual([
      ['A', 4, 4 * MIN],
      ['B', 2, 2 * MIN],
    ]);
    expect(bySymbol[0]!.metrics.maxDrawdown).toBeCloseTo(0.98 ** 4 - 1, 12);
    expect(bySymbol[1]!.metrics.maxDrawdown).toBeCloseTo(-0.02, 12);
    // Annualised with 12 / 2,952 minutes a year.
    expect(overall.metrics.annualReturn).toBeCloseTo((1 + overall.metrics.totalReturn) ** (base.periodsPerYear / 10) - 1, 9);
  });

  it('each symbol\'s series is that symbol backtested alone; the portfolio holds half of each', () => {
    const t = tableOf(bWeekend);
    const costly = parseBacktestConfig({ delayBars: 1, costBps: 3, slippageBps: 2 }, 'test');
    const pUp = [0.9, 0.2, 0.9, 0.9, 0.5, 0.1, 0.1, 0.9, 0.9, 0.2, 0.6, 0.9];
    const signal = (r: number) => pUp[r]!;
    const base = backtestTimeBase(t, all);
    const { overall, bySymbol } = backtestWithSymbols('portfolio', t, close, all, signal, costly, base);
    expect(bySymbol.map((s) => s.name)).toEqual(['A', 'B']);
    [Int32Array.from([0, 1, 2, 3, 4, 5]), Int32Array.from([6, 7, 8, 9, 10, 11])].forEach((rows, k) => {
      const alone = backtestTimeBase(t, rows);
      const { periodsPerYear, ...series } = bySymbol[k]!;
      expect(periodsPerYear).toBe(alone.periodsPerYear);
      expect(series).toEqual(backtestRows(['A', 'B'][k]!, t, close, rows, signal, costly, alone.periodsPerYear, alone.barMs));
    });
    // The portfolio's return in a period: the symbols' own returns at that time, over two.
    const own = new Map<number, number>();
    for (const s of bySymbol) s.ts.forEach((ts, i) => own.set(ts, (own.get(ts) ?? 0) + s.returns[i]!));
    expect(Array.from(overall.ts)).toEqual([...own.keys()].sort((x, y) => x - y));
    overall.ts.forEach((ts, i) => expect(overall.returns[i]).toBeCloseTo(own.get(ts)! / 2, 15));
    expect(overall.metrics.trades).toBe(bySymbol[0]!.metrics.trades + bySymbol[1]!.metrics.trades);
    expect(overall.metrics.costs).toBeCloseTo((bySymbol[0]!.metrics.costs + bySymbol[1]!.metrics.costs) / 2, 15);
    // And the portfolio is what backtestRows gives for all rows.
    expect(overall).toEqual(backtestRows('portfolio', t, close, all, signal, costly, base.periodsPerYear, base.barMs));
  });
});

describe('metrics', () => {
  it('known answers on a small series', () => {
    const returns = Float64Array.from([0.1, -0.2, 0.05, 0.1]);
    const m = computeMetrics({ ts: Float64Array.from([0, 1, 2, 3], (i) => i * MIN), returns, exposure: Float64Array.from([1, 1, 0, 1]), turnover: Float64Array.from([1, 0, 1, 1]), costs: new Float64Array(4), tradePnl: [0.1, -0.2, 0.1] }, 4);
    const total = 1.1 * 0.8 * 1.05 * 1.1 - 1;
    expect(m.totalReturn).toBeCloseTo(total, 15);
    // 4 periods at 4 a year: one year.
    expect(m.annualReturn).toBeCloseTo(total, 15);
    const mean = 0.0125;
    const sd = Math.sqrt(((0.0875 ** 2) + (0.2125 ** 2) + (0.0375 ** 2) + (0.0875 ** 2)) / 3);
    expect(m.sharpe).toBeCloseTo((mean / sd) * 2, 12);
    expect(m.sortino).toBeCloseTo((mean / Math.sqrt(0.04 / 4)) * 2, 12);
    // Peak 1.1, trough 0.88: −20 %; under water for periods 1–3 (not recovered by 1.0164).
    expect(m.maxDrawdown).toBeCloseTo(-0.2, 15);
    expect(m.maxDrawdownPeriods).toBe(3);
    expect(m.maxDrawdownMs).toBe(3 * MIN);
    expect(m.calmar).toBeCloseTo(total / 0.2, 12);
    expect(m.winRate).toBeCloseTo(2 / 3, 15);
    expect(m.profitFactor).toBeCloseTo(0.2 / 0.2, 12);
    expect(m.exposure).toBe(0.75);
    expect(m.turnover).toBe(0.75);
  });

  it('a drawdown from the first period lasts from the initial equity, one period before it', () => {
    const m = computeMetrics({ ts: Float64Array.from([0, 1, 2], (i) => i * MIN), returns: Float64Array.from([-0.01, -0.01, 0.05]), exposure: new Float64Array(3), turnover: new Float64Array(3), costs: new Float64Array(3), tradePnl: [] }, 1000);
    expect(m.maxDrawdownPeriods).toBe(2);
    expect(m.maxDrawdownMs).toBe(2 * MIN);
  });

  it('summaries: the mean and a Student-t 95 % interval (t(0.975, 2) = 4.302652…)', () => {
    const base = computeMetrics({ ts: new Float64Array(1), returns: new Float64Array(1), exposure: new Float64Array(1), turnover: new Float64Array(1), costs: new Float64Array(1), tradePnl: [] }, 1);
    const s = summarize([1, 2, 3].map((x) => ({ ...base, sharpe: x }))).find((x) => x.metric === 'sharpe')!;
    expect(s.mean).toBe(2);
    expect(s.hi - s.mean).toBeCloseTo(4.302652729749464 * (1 / Math.sqrt(3)), 10);
    // A metric with no finite value in any fold (no trades: no win rate) has no interval.
    const w = summarize([base, base]).find((x) => x.metric === 'winRate')!;
    expect(w.n).toBe(0);
    expect(w.mean).toBeNaN();
  });
});

describe('the default configs in topology/', () => {
  it('topology/backtest.yaml spells out exactly the schema defaults', async () => {
    const { readBacktestConfig } = await import('../../../src/training/backtest/backtestConfig.js');
    expect(readBacktestConfig('topology/backtest.yaml')).toEqual({ ...parseBacktestConfig({}, 'defaults'), long: 0.55, short: 0.45 });
  });

  it('topology/labels.yaml is a valid label config', async () => {
    const { readLabelConfig } = await import('../../../src/training/labels/labelConfig.js');
    expect(readLabelConfig('topology/labels.yaml').labels.map((l) => l.name)).toEqual(['tb', 'fwd']);
  });
});
