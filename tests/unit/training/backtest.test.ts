import { describe, expect, it } from 'vitest';
import { backtestRows } from '../../../src/training/backtest/backtest.js';
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
