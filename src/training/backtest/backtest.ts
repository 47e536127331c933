import type { FeatureTable } from '../featureTable.js';
import { type BacktestConfig, targetPosition } from './backtestConfig.js';
import type { BacktestSeries, SymbolSeries } from './backtestTypes.js';
import { type PeriodSeries, computeMetrics, equityAndDrawdown, estimateBarMs } from './metrics.js';

export { estimateBarMs } from './metrics.js';

const YEAR_MS = 365.25 * 86_400_000;

/** One symbol traded alone, on the whole capital: its periods in time order. */
export interface SymbolPeriods {
  /** The symbol's code in the table. */
  code: number;
  series: PeriodSeries;
}

/**
 * Trades each symbol of `rows` on its own, with all the capital: per symbol, each maximal run of
 * consecutive rows is traded on its own (a run starts and ends flat). The signal of row i is known
 * at the close of bar i; it is filled at the close of bar i + delayBars, so the position is first
 * held over bar i + delayBars + 1 and earns close-to-close returns from there. Every change of
 * position pays (costBps + slippageBps) on the notional traded, in the period it is first held; the
 * run's last position is closed at its end. Symbols in code order.
 */
export function tradeSymbols(table: FeatureTable, close: Float64Array, rows: Int32Array, signal: (row: number) => number, config: BacktestConfig): SymbolPeriods[] {
  const perSymbol = new Map<number, { ts: number[]; ret: number[]; gross: number[]; turn: number[]; cost: number[]; trades: number[] }>();
  const costRate = (config.costBps + config.slippageBps) / 10_000;
  const d = config.delayBars;
  for (let a = 0; a < rows.length; ) {
    let b = a + 1;
    while (b < rows.length && rows[b] === rows[b - 1]! + 1 && table.symbolCodes[rows[b]!] === table.symbolCodes[rows[a]!]) b++;
    const code = table.symbolCodes[rows[a]!]!;
    let out = perSymbol.get(code);
    if (out === undefined) perSymbol.set(code, (out = { ts: [], ret: [], gross: [], turn: [], cost: [], trades: [] }));
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
        if (tradeSign !== 0) out.trades.push(trade - closing);
        tradeSign = Math.sign(want);
        trade = pnl + closing;
      } else if (tradeSign !== 0) {
        trade += pnl;
      }
      out.ts.push(table.ts[j]!);
      // A flat period in a falling bar gives 0 × r = −0: stored as 0, as the portfolio's sum makes it.
      out.ret.push(pnl === 0 ? 0 : pnl);
      out.gross.push(Math.abs(want));
      out.turn.push(turn + exitTurn);
      out.cost.push(cost);
      held = want;
    }
    if (tradeSign !== 0) out.trades.push(trade);
    a = b;
  }
  return [...perSymbol.entries()]
    .sort(([x], [y]) => x - y)
    .map(([code, p]) => ({
      code,
      series: { ts: Float64Array.from(p.ts), returns: Float64Array.from(p.ret), exposure: Float64Array.from(p.gross), turnover: Float64Array.from(p.turn), costs: Float64Array.from(p.cost), tradePnl: p.trades },
    }));
}

/**
 * The portfolio of equal capital shares: per timestamp, the sum of the symbols' own returns (and
 * exposure, turnover, costs) divided by the number of symbols. A symbol without a period at that
 * timestamp keeps its share in cash (contributes 0), so a symbol's contribution is its own series / m.
 */
export function combineSymbols(symbols: readonly PeriodSeries[]): PeriodSeries {
  const shares = Math.max(1, symbols.length);
  const byTs = new Map<number, { ret: number; gross: number; turn: number; cost: number }>();
  for (const s of symbols) {
    for (let i = 0; i < s.ts.length; i++) {
      const agg = byTs.get(s.ts[i]!) ?? { ret: 0, gross: 0, turn: 0, cost: 0 };
      agg.ret += s.returns[i]! / shares;
      agg.gross += s.exposure[i]! / shares;
      agg.turn += s.turnover[i]! / shares;
      agg.cost += s.costs[i]! / shares;
      byTs.set(s.ts[i]!, agg);
    }
  }
  const ts = Float64Array.from([...byTs.keys()].sort((x, y) => x - y));
  return {
    ts,
    returns: Float64Array.from(ts, (t) => byTs.get(t)!.ret),
    exposure: Float64Array.from(ts, (t) => byTs.get(t)!.gross),
    turnover: Float64Array.from(ts, (t) => byTs.get(t)!.turn),
    costs: Float64Array.from(ts, (t) => byTs.get(t)!.cost),
    tradePnl: symbols.flatMap((s) => s.tradePnl.map((p) => p / shares)),
  };
}

/** A series with its equity, drawdown and metrics. */
export function seriesOf(name: string, s: PeriodSeries, periodsPerYear: number, barMs?: number): BacktestSeries {
  const { equity, drawdown } = equityAndDrawdown(s.returns);
  return { name, ts: s.ts, returns: s.returns, equity, drawdown, exposure: s.exposure, metrics: computeMetrics(s, periodsPerYear, barMs ?? estimateBarMs([s.ts])) };
}

/**
 * The backtest of one set of rows as one portfolio: each symbol traded as tradeSymbols() does, the
 * symbols' returns combined with equal capital shares (combineSymbols()).
 */
export function backtestRows(name: string, table: FeatureTable, close: Float64Array, rows: Int32Array, signal: (row: number) => number, config: BacktestConfig, periodsPerYear: number, barMs?: number): BacktestSeries {
  const symbols = tradeSymbols(table, close, rows, signal, config).map((s) => s.series);
  return seriesOf(name, combineSymbols(symbols), periodsPerYear, barMs ?? estimateBarMs(symbols.map((s) => s.ts)));
}

/** The time base of a backtest: annualisation and bar length, for the portfolio and for each symbol alone. */
export interface TimeBase {
  periodsPerYear: number;
  barMs: number;
  /** Each symbol's own periods per year (code → value): the given one, or estimated from that symbol's rows. */
  symbolPeriodsPerYear: Map<number, number>;
}

/** The row times of `rows` per symbol (code → ascending times). */
export function symbolTimelines(table: FeatureTable, rows: Int32Array): Map<number, Float64Array> {
  const out = new Map<number, number[]>();
  for (const r of rows) {
    const code = table.symbolCodes[r]!;
    let ts = out.get(code);
    if (ts === undefined) out.set(code, (ts = []));
    ts.push(table.ts[r]!);
  }
  return new Map([...out.entries()].sort(([x], [y]) => x - y).map(([code, ts]) => [code, Float64Array.from(ts).sort()]));
}

/** Periods per year and bar length from the rows a backtest trades; `periodsPerYear` given wins. */
export function backtestTimeBase(table: FeatureTable, rows: Int32Array, periodsPerYear?: number): TimeBase {
  const lines = symbolTimelines(table, rows);
  const barMs = estimateBarMs([...lines.values()]);
  const symbolPeriodsPerYear = new Map([...lines.entries()].map(([code, ts]) => [code, periodsPerYear ?? estimatePeriodsPerYear([ts], barMs)]));
  return { periodsPerYear: periodsPerYear ?? estimatePeriodsPerYear([...lines.values()], barMs), barMs, symbolPeriodsPerYear };
}

/**
 * The backtest of all out-of-sample rows as one portfolio and, from the same trades, each symbol's
 * own series (as if it traded alone on the whole capital, annualised with its own periods per year):
 * the same as backtesting that symbol's rows alone.
 */
export function backtestWithSymbols(name: string, table: FeatureTable, close: Float64Array, rows: Int32Array, signal: (row: number) => number, config: BacktestConfig, base: TimeBase): { overall: BacktestSeries; bySymbol: SymbolSeries[] } {
  const symbols = tradeSymbols(table, close, rows, signal, config);
  return {
    overall: seriesOf(name, combineSymbols(symbols.map((s) => s.series)), base.periodsPerYear, base.barMs),
    bySymbol: symbols.map((s) => {
      const periodsPerYear = base.symbolPeriodsPerYear.get(s.code) ?? base.periodsPerYear;
      return { ...seriesOf(table.symbols[s.code] ?? String(s.code), s.series, periodsPerYear, base.barMs), periodsPerYear };
    }),
  };
}

/**
 * Periods per year: the distinct times of the time lines (one per symbol, or one array) over the
 * years they were active, the union of each line's span [first, last + one bar]. Time in which no
 * line had a row (between two symbols' spans) does not count; time inside a span does (a weekend in
 * a futures series: the calendar keeps it). Overlapping lines give periods / (last − first + bar)
 * as before; 1-minute bars of a 24/7 market give 525,960 (365.25 × 1,440).
 */
export function estimatePeriodsPerYear(timelines: Float64Array | readonly Float64Array[], barMs?: number): number {
  const lines = (timelines instanceof Float64Array ? [timelines] : [...timelines]).filter((ts) => ts.length > 0);
  const bar = barMs ?? estimateBarMs(lines);
  const distinct = new Set<number>();
  for (const ts of lines) for (const t of ts) distinct.add(t);
  if (distinct.size < 2) return 525_600;
  const spans = lines
    .map((ts): [number, number] => {
      const [lo, hi] = minMax(ts);
      return [lo, hi + bar];
    })
    .sort((a, b) => a[0] - b[0]);
  let active = 0;
  let [from, to] = spans[0]!;
  for (const [f, t] of spans.slice(1)) {
    if (f > to) {
      active += to - from;
      [from, to] = [f, t];
    } else to = Math.max(to, t);
  }
  active += to - from;
  return distinct.size / (active / YEAR_MS);
}

function minMax(ts: Float64Array): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const t of ts) {
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  return [lo, hi];
}
