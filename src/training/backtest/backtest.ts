import type { FeatureTable } from '../featureTable.js';
import { type BacktestConfig, targetPosition } from './backtestConfig.js';
import type { BacktestSeries } from './backtestTypes.js';
import { type PeriodSeries, computeMetrics, equityAndDrawdown } from './metrics.js';

/**
 * The backtest of one set of rows: per symbol, each maximal run of consecutive rows is traded on its
 * own (a run starts and ends flat). The signal of row i is known at the close of bar i; it is filled
 * at the close of bar i + delayBars, so the position is first held over bar i + delayBars + 1 and
 * earns close-to-close returns from there. Every change of position pays (costBps + slippageBps) on
 * the notional traded, in the period it is first held; the run's last position is closed at its end.
 * Symbols' contributions are summed per timestamp and divided by the number of symbols (equal capital
 * shares), which gives the portfolio's per-period return.
 */
export function backtestRows(name: string, table: FeatureTable, close: Float64Array, rows: Int32Array, signal: (row: number) => number, config: BacktestConfig, periodsPerYear: number): BacktestSeries {
  const perSymbol = new Map<number, { ts: number; ret: number; gross: number; turn: number; cost: number }[]>();
  const tradePnl: number[] = [];
  const costRate = (config.costBps + config.slippageBps) / 10_000;
  const d = config.delayBars;
  for (let a = 0; a < rows.length; ) {
    let b = a + 1;
    while (b < rows.length && rows[b] === rows[b - 1]! + 1 && table.symbolCodes[rows[b]!] === table.symbolCodes[rows[a]!]) b++;
    const code = table.symbolCodes[rows[a]!]!;
    let out = perSymbol.get(code);
    if (out === undefined) perSymbol.set(code, (out = []));
    // Periods are the run's bars after its first one (the first bar has no return inside the run).
    let held = 0;
    let tradeSign = 0;
    let trade = 0;
    for (let j = rows[a]! + 1; j < rows[b - 1]! + 1; j++) {
      const src = j - d - 1;
      const last = j === rows[b - 1]!;
      const want = src >= rows[a]! ? targetPosition(config, signal(src)) : 0;
      const r = close[j]! / close[j - 1]! - 1;
      const turn = Math.abs(want - held);
      // Closing the run's final position is paid in its last period too.
      const exitTurn = last ? Math.abs(want) : 0;
      const cost = (turn + exitTurn) * costRate;
      const pnl = want * r - cost;
      if (Math.sign(want) !== tradeSign) {
        // Closing the old position is the old trade's cost; the rest of the period is the new one's.
        const closing = Math.abs(held) * costRate;
        if (tradeSign !== 0) tradePnl.push(trade - closing);
        tradeSign = Math.sign(want);
        trade = pnl + closing;
      } else if (tradeSign !== 0) {
        trade += pnl;
      }
      out.push({ ts: table.ts[j]!, ret: pnl, gross: Math.abs(want), turn: turn + exitTurn, cost });
      held = want;
    }
    if (tradeSign !== 0) tradePnl.push(trade);
    a = b;
  }
  const shares = Math.max(1, perSymbol.size);
  const byTs = new Map<number, { ret: number; gross: number; turn: number; cost: number }>();
  for (const periods of perSymbol.values()) {
    for (const p of periods) {
      const agg = byTs.get(p.ts) ?? { ret: 0, gross: 0, turn: 0, cost: 0 };
      agg.ret += p.ret / shares;
      agg.gross += p.gross / shares;
      agg.turn += p.turn / shares;
      agg.cost += p.cost / shares;
      byTs.set(p.ts, agg);
    }
  }
  const ts = Float64Array.from([...byTs.keys()].sort((x, y) => x - y));
  const series: PeriodSeries = {
    ts,
    returns: Float64Array.from(ts, (t) => byTs.get(t)!.ret),
    exposure: Float64Array.from(ts, (t) => byTs.get(t)!.gross),
    turnover: Float64Array.from(ts, (t) => byTs.get(t)!.turn),
    costs: Float64Array.from(ts, (t) => byTs.get(t)!.cost),
    tradePnl: tradePnl.map((p) => p / shares),
  };
  const { equity, drawdown } = equityAndDrawdown(series.returns);
  return { name, ts, returns: series.returns, equity, drawdown, exposure: series.exposure, metrics: computeMetrics(series, periodsPerYear) };
}

/** Periods per year from a time line: periods over elapsed calendar years (1-minute bars of a 24/7 market: about 525,600). */
export function estimatePeriodsPerYear(ts: Float64Array): number {
  if (ts.length < 2) return 525_600;
  const years = (ts[ts.length - 1]! - ts[0]! + 60_000) / (365.25 * 86_400_000);
  return ts.length / years;
}
