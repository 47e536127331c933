import type { Bar } from '../../bars/bar.js';
import { FeatureEngine } from '../../operators/featureEngine.js';
import type { FeatureSet } from '../../operators/featureSet.js';
import { RegimeFilter, type RegimeDoc } from '../../training/regime/regimeModel.js';
import { RecentRows, type WindowSpec } from './recentRows.js';

/**
 * What the live topology keeps per message key (= symbol): the offset of the last message of the
 * key it has taken into account, the symbol's feature engine, and its last accepted bar (for the
 * duplicate rules). Keys that never had a valid bar have no engine, but still an offset, so that
 * their rejects are not sent twice after a restore.
 */
export class LiveSymbol {
  /** Offset of the last message of this key that has been processed (−1: none). */
  offset = -1;
  engine: FeatureEngine | null = null;
  lastBar: Bar | null = null;
  /** The last rows a window model reads (only when one is served). */
  recent: RecentRows | null = null;
  /** The served bundle's regime filter (only when it has a regime). */
  regime: RegimeFilter | null = null;

  constructor(readonly symbol: string) {}

  regimeFor(doc: RegimeDoc): RegimeFilter {
    if (this.regime === null) this.regime = new RegimeFilter(doc);
    return this.regime;
  }

  recentFor(spec: WindowSpec): RecentRows {
    if (this.recent === null) this.recent = new RecentRows(spec);
    return this.recent;
  }

  engineFor(featureSet: FeatureSet): FeatureEngine {
    if (this.engine === null) this.engine = new FeatureEngine(featureSet);
    return this.engine;
  }

  /**
   * The snapshot value: a float64 header (format, offset, engine present, last bar's ts and
   * values, the number of float64 values of the recent rows and of the regime filter that follow),
   * the recent rows of a window model, the regime filter's state, then the engine's own exact
   * snapshot. All float64, so it round-trips bit for bit.
   */
  snapshot(): Buffer {
    const head = new Float64Array(HEADER_VALUES);
    head[0] = SNAPSHOT_FORMAT;
    head[1] = this.offset;
    head[2] = this.engine === null ? 0 : 1;
    const b = this.lastBar;
    head[3] = b === null ? Number.NaN : b.ts;
    if (b !== null) {
      head[4] = b.open;
      head[5] = b.high;
      head[6] = b.low;
      head[7] = b.close;
      head[8] = b.volume;
    }
    const recent = this.recent?.snapshot() ?? new Float64Array(0);
    head[9] = recent.length;
    const regime = this.regime?.snapshot() ?? new Float64Array(0);
    head[10] = regime.length;
    const engine = this.engine?.snapshot();
    const out = Buffer.allocUnsafe(head.byteLength + recent.byteLength + regime.byteLength + (engine?.byteLength ?? 0));
    out.set(new Uint8Array(head.buffer), 0);
    out.set(new Uint8Array(recent.buffer), head.byteLength);
    out.set(new Uint8Array(regime.buffer, regime.byteOffset, regime.byteLength), head.byteLength + recent.byteLength);
    if (engine) out.set(engine, head.byteLength + recent.byteLength + regime.byteLength);
    return out;
  }

  static restore(symbol: string, bytes: Uint8Array, featureSet: FeatureSet, window?: WindowSpec, regime?: RegimeDoc): LiveSymbol {
    const format = bytes.byteLength >= 8 ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(0, true) : Number.NaN;
    // Format 1 (before window models): a 9-value header and no recent rows; format 2 (before regimes): 10 values, no regime state.
    const headerValues = format === 1 ? 9 : format === 2 ? 10 : HEADER_VALUES;
    if (bytes.byteLength < headerValues * 8) throw new Error(`state snapshot of ${symbol} is too short (${bytes.byteLength} bytes)`);
    if (format !== 1 && format !== 2 && format !== SNAPSHOT_FORMAT) throw new Error(`state snapshot of ${symbol} has format ${format}, expected ${SNAPSHOT_FORMAT}`);
    const head = new Float64Array(new Uint8Array(bytes.subarray(0, headerValues * 8)).buffer);
    const recentValues = format === 1 ? 0 : head[9]!;
    const regimeValues = format === SNAPSHOT_FORMAT ? head[10]! : 0;
    const regimeAt = (headerValues + recentValues) * 8;
    const engineAt = regimeAt + regimeValues * 8;
    const s = new LiveSymbol(symbol);
    if (window !== undefined) {
      s.recent = recentValues > 0 ? RecentRows.restore(window, new Float64Array(new Uint8Array(bytes.subarray(headerValues * 8, regimeAt)).buffer)) : new RecentRows(window);
    }
    if (regime !== undefined && regimeValues > 0) {
      const snap = new Float64Array(new Uint8Array(bytes.subarray(regimeAt, engineAt)).buffer);
      try {
        s.regime = RegimeFilter.restore(regime, snap);
      } catch {
        // A snapshot of another bundle's regime (one was swapped in): the filter starts again.
        s.regime = null;
      }
    }
    s.offset = head[1]!;
    if (!Number.isNaN(head[3]!)) s.lastBar = { symbol, ts: head[3]!, open: head[4]!, high: head[5]!, low: head[6]!, close: head[7]!, volume: head[8]! };
    if (head[2] === 1) {
      s.engine = new FeatureEngine(featureSet);
      try {
        s.engine.restore(bytes.subarray(engineAt));
      } catch (err) {
        throw new Error(`state snapshot of ${symbol}: ${(err as Error).message}`);
      }
    }
    return s;
  }

  /** The input offset a snapshot value was taken at, without restoring it. */
  static offsetOf(bytes: Uint8Array): number {
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(8, true);
  }
}

const SNAPSHOT_FORMAT = 3;
const HEADER_VALUES = 11;
