import { MAX_BAR_TS, MIN_BAR_TS } from '../time/timestamps.js';
import { BAR_VALUE_FIELDS, type Bar, MINUTE_MS, formatTs, isValidSymbol } from './bar.js';
import type { Violation } from './rejects.js';

export type { Violation };

/**
 * The stateless rules a single bar must satisfy. Values are assumed to be numbers already (the
 * parsers reject unparsable and non-finite fields with their own codes); NaN still fails here so a
 * bar built by API callers cannot slip through.
 */
export function checkBarValues(bar: Bar, symbolKnownValid = false): Violation | null {
  if (!symbolKnownValid && !isValidSymbol(bar.symbol)) {
    return { reason: 'unknown_symbol_format', detail: `symbol ${JSON.stringify(bar.symbol)} is not a valid symbol` };
  }
  for (const field of BAR_VALUE_FIELDS) {
    if (!Number.isFinite(bar[field])) return { reason: 'non_finite', detail: `${field} is ${bar[field]}` };
  }
  if (!(bar.ts > MIN_BAR_TS && bar.ts < MAX_BAR_TS)) {
    return { reason: 'ts_out_of_range', detail: `ts ${describeTs(bar.ts)} is not after 1970-01-01 and before 2200-01-01` };
  }
  if (!Number.isInteger(bar.ts) || bar.ts % MINUTE_MS !== 0) {
    return { reason: 'ts_not_minute_aligned', detail: `ts ${describeTs(bar.ts)} is not on a minute boundary` };
  }
  if (bar.high < bar.low) {
    return { reason: 'high_below_low', detail: `high ${bar.high} < low ${bar.low}` };
  }
  if (bar.open < bar.low || bar.open > bar.high) {
    return { reason: 'open_outside_range', detail: `open ${bar.open} outside [${bar.low}, ${bar.high}]` };
  }
  if (bar.close < bar.low || bar.close > bar.high) {
    return { reason: 'close_outside_range', detail: `close ${bar.close} outside [${bar.low}, ${bar.high}]` };
  }
  if (bar.volume < 0) {
    return { reason: 'negative_volume', detail: `volume ${bar.volume} < 0` };
  }
  return null;
}

function describeTs(ts: number): string {
  return Number.isFinite(ts) && Math.abs(ts) < 8.64e15 ? new Date(ts).toISOString() : String(ts);
}

/** Compares a bar with the previous accepted bar of its symbol; null when it comes strictly later. */
export function checkOrder(prev: Bar | undefined, bar: Bar): Violation | null {
  if (prev === undefined || bar.ts > prev.ts) return null;
  if (bar.ts < prev.ts) {
    return {
      reason: 'ts_not_increasing',
      detail: `ts ${formatTs(bar.ts)} is before the previous ${bar.symbol} bar at ${formatTs(prev.ts)}`,
    };
  }
  const diff = firstDifference(prev, bar);
  if (diff === null) return { reason: 'duplicate', detail: `identical copy of the ${bar.symbol} bar at ${formatTs(bar.ts)}` };
  return {
    reason: 'conflicting_duplicate',
    detail: `${bar.symbol} bar at ${formatTs(bar.ts)} already seen with ${diff}`,
  };
}

function firstDifference(prev: Bar, bar: Bar): string | null {
  for (const field of BAR_VALUE_FIELDS) {
    if (!Object.is(prev[field], bar[field])) return `${field} ${prev[field]} (this row: ${bar[field]})`;
  }
  return null;
}

/** What the validator knows of one symbol: its first and last accepted bars and their count. */
export interface SymbolStats {
  symbol: string;
  count: number;
  first: number;
  last: Bar;
}

/**
 * Applies every rule to a stream of bars of any number of symbols and remembers, per symbol, the
 * last bar it accepted. Rejected bars do not move that state, so one bad row cannot make the valid
 * rows after it look out of order.
 */
export class BarValidator {
  private readonly state = new Map<string, SymbolStats>();

  /** Returns null and records the bar when it is valid, the violation otherwise. */
  accept(bar: Bar): Violation | null {
    const stats = this.state.get(bar.symbol);
    // A symbol with accepted bars has passed the symbol rule already.
    const violation = checkBarValues(bar, stats !== undefined) ?? checkOrder(stats?.last, bar);
    if (violation !== null) return violation;
    if (stats === undefined) {
      this.state.set(bar.symbol, { symbol: bar.symbol, count: 1, first: bar.ts, last: bar });
    } else {
      stats.count++;
      stats.last = bar;
    }
    return null;
  }

  /** Last accepted timestamp of a symbol (used to resolve ambiguous local times). */
  lastTs(symbol: string): number | undefined {
    return this.state.get(symbol)?.last.ts;
  }

  /** Per-symbol statistics, sorted by symbol. */
  stats(): SymbolStats[] {
    return [...this.state.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  }
}
