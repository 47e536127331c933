import type { Bar } from '../../bars/bar.js';
import type { Violation } from '../../bars/rejects.js';
import { checkOrder } from '../../bars/validation.js';
import type { FeatureSet } from '../../operators/featureSet.js';
import { OutOfOrderBarError } from '../../operators/resampler.js';
import { isWatermark } from '../../operators/rx.js';
import { decodeBarEvent } from '../../streams/kafka/barMessage.js';
import { LiveSymbol } from './liveSymbol.js';
import type { WindowSpec } from './recentRows.js';
import type { LiveRegime } from '../bundle/bundlePredictor.js';

/** One message of the bar topic, as the processor needs it. */
export interface LiveMessage {
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  /** The message's Kafka timestamp (ms): the end-to-end latency is measured from it. */
  timestamp: number;
}

/** Where the processor's results go; called synchronously, in message order. */
export interface LiveOutput {
  /** A feature row. `values` is the engine's buffer, rewritten by the next bar: encode it now. */
  /** `window`: the window model's rows ending with this one (a copy), null while too short or when none is served. */
  /** `regime`: the served bundle's regime filter's state probabilities after this row (a reused buffer), null without one. */
  row(symbol: string, ts: number, values: Float64Array, message: LiveMessage, window: Float64Array | null, regime?: Float64Array | null): void;
  reject(message: LiveMessage, violation: Violation): void;
  /** An exact copy of the symbol's last bar: dropped, only counted. */
  duplicate(message: LiveMessage): void;
}

/**
 * The live topology's per-message logic, free of Kafka so it can be tested alone: validation at
 * the edge, the ordering rules (late, duplicate, conflicting duplicate), watermarks, and the same
 * FeatureEngine the replay uses. State is per message key (the symbol); a message at or before
 * the key's recorded offset was already processed before a restore and is skipped, so its
 * outputs are not produced twice. The topology keeps one processor per assigned partition.
 */
export class LiveProcessor {
  readonly symbols = new Map<string, LiveSymbol>();
  /** Keys whose state changed since `takeDirty`. */
  private dirty = new Set<LiveSymbol>();
  /** Messages skipped because a restored state already covered them. */
  skipped = 0;

  constructor(
    readonly featureSet: FeatureSet,
    private readonly maxMessageBytes: number,
    /** The rows a served window model reads, kept per symbol and in its snapshots. */
    private readonly window?: WindowSpec,
    /** The served bundle's regime filter, stepped on every row of a symbol and kept in its snapshots. */
    private readonly regime?: LiveRegime,
  ) {}

  process(m: LiveMessage, out: LiveOutput): void {
    const key = m.key === null ? '' : m.key.toString('utf8');
    let s = this.symbols.get(key);
    if (s !== undefined && m.offset <= s.offset) {
      this.skipped++;
      return;
    }
    if (s === undefined) {
      s = new LiveSymbol(key);
      this.symbols.set(key, s);
    }
    s.offset = m.offset;
    this.dirty.add(s);
    const violation = this.step(s, m, out);
    if (violation !== null) out.reject(m, violation);
  }

  private step(s: LiveSymbol, m: LiveMessage, out: LiveOutput): Violation | null {
    if (m.value !== null && m.value.byteLength > this.maxMessageBytes) {
      return { reason: 'oversized_message', detail: `value of ${m.value.byteLength} bytes is over the limit of ${this.maxMessageBytes}` };
    }
    if (m.key === null) return { reason: 'malformed_record', detail: 'message has no key; bars are keyed by symbol so that a symbol stays on one partition' };
    // The key as text is the state's symbol: decoded once per message, not again for the check.
    const decoded = decodeBarEvent(m.value, s.symbol);
    if (decoded.violation) return decoded.violation;
    const event = decoded.event;
    const engine = s.engineFor(this.featureSet);
    if (isWatermark(event)) {
      engine.watermark(event.ts);
      return null;
    }
    const order = checkOrder(s.lastBar ?? undefined, event);
    if (order !== null) {
      if (order.reason === 'duplicate') {
        out.duplicate(m);
        return null;
      }
      return order.reason === 'ts_not_increasing' ? { reason: 'late', detail: order.detail } : order;
    }
    try {
      engine.update(event);
    } catch (err) {
      if (err instanceof OutOfOrderBarError) return { reason: 'late', detail: err.message };
      throw err;
    }
    s.lastBar = event as Bar;
    let window: Float64Array | null = null;
    if (this.window !== undefined) {
      const recent = s.recentFor(this.window);
      recent.push(event.ts, engine.row);
      window = recent.window();
    }
    let regime: Float64Array | null = null;
    if (this.regime !== undefined) regime = s.regimeFor(this.regime.doc).stepRow(engine.row, this.regime.columns);
    out.row(event.symbol, event.ts, engine.row, m, window, regime);
    return null;
  }

  /** The states changed since the last call (to snapshot), and forgets them. */
  takeDirty(): LiveSymbol[] {
    const out = [...this.dirty];
    this.dirty = new Set();
    return out;
  }

  /** Marks states changed again (their snapshot was not written). */
  markDirty(states: readonly LiveSymbol[]): void {
    for (const s of states) this.dirty.add(s);
  }

  /** Puts states back as a snapshot left them (before any message of their partition is processed). */
  restore(symbol: string, bytes: Uint8Array): void {
    this.symbols.set(symbol, LiveSymbol.restore(symbol, bytes, this.featureSet, this.window, this.regime?.doc));
  }
}
