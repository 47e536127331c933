import type { OhlcvBar } from '../ohlcv.js';
import type { StateReader, StateWriter, Stateful } from '../state.js';
import { float64s } from './float64Arena.js';

/**
 * Logarithms several features take from the same bar, computed once per bar by the feature engine's
 * lane (Math.log costs ~20 ns: sharing them saves about 6% of the default set's time). Indicators
 * used on their own compute them themselves, with the same expressions, so values are identical.
 */
export interface BarLogs {
  /** ln(high / low) */
  lnHL: number;
  /** ln(close / open) */
  lnCO: number;
  /** ln(close / previous close) of the timeframe's series; NaN for its first bar or a non-positive price. */
  ret: number;
}

/**
 * An incremental indicator over the complete bars of one timeframe: `update` takes the next bar in
 * O(1) (no allocation) and leaves the outputs in `out`, NaN while warming up ("not ready": a missing
 * value, never a made-up number). Feature columns read `out[k]` by the output's index.
 */
export abstract class Indicator implements Stateful {
  readonly out: Float64Array;

  constructor(readonly outputs: readonly string[]) {
    this.out = float64s(outputs.length).fill(Number.NaN);
  }

  /** Takes the next bar; `logs`, when given, are that bar's shared logarithms (BarLogs). */
  abstract update(bar: Readonly<OhlcvBar>, logs?: BarLogs): void;

  /** The index of a named output, or an error naming the ones there are. */
  output(name: string): number {
    const i = this.outputs.indexOf(name);
    if (i < 0) throw new Error(`no output ${JSON.stringify(name)}; this indicator has ${this.outputs.join(', ')}`);
    return i;
  }

  save(w: StateWriter): void {
    w.pushAll(this.out);
    this.saveState(w);
  }

  load(r: StateReader): void {
    r.nextInto(this.out);
    this.loadState(r);
  }

  protected abstract saveState(w: StateWriter): void;
  protected abstract loadState(r: StateReader): void;
}

/**
 * The last `capacity` values of a series in a fixed ring (no allocation after construction).
 * `at(0)` is the oldest value held, `at(size - 1)` the newest.
 */
export class RingWindow {
  private readonly values: Float64Array;
  private head = 0;
  size = 0;
  /**
   * The value the last push moved out of a full window (see `hasEvicted`). A field rather than a
   * return value: a double returned from a call V8 does not inline is boxed, one allocation each.
   */
  evicted = Number.NaN;
  /** Whether the last push moved a value out (the window was full). */
  hasEvicted = false;

  constructor(readonly capacity: number) {
    this.values = float64s(capacity);
  }

  /** Adds a value; `hasEvicted` and `evicted` then tell what it pushed out of a full window. */
  push(value: number): void {
    if (this.size === this.capacity) {
      this.evicted = this.values[this.head]!;
      this.hasEvicted = true;
    } else {
      this.evicted = Number.NaN;
      this.hasEvicted = false;
      this.size++;
    }
    this.values[this.head] = value;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
  }

  get full(): boolean {
    return this.size === this.capacity;
  }

  at(i: number): number {
    const start = this.size === this.capacity ? this.head : 0;
    const j = start + i;
    return this.values[j >= this.capacity ? j - this.capacity : j]!;
  }

  newest(): number {
    return this.values[this.head === 0 ? this.capacity - 1 : this.head - 1]!;
  }

  /** The oldest value held (the one the next push into a full window evicts). */
  oldest(): number {
    return this.values[this.size === this.capacity ? this.head : 0]!;
  }

  /** Sum in order from oldest to newest, recomputed (no drift; an all-zero window sums to 0). */
  sum(): number {
    const v = this.values;
    let s = 0;
    if (this.size < this.capacity) {
      for (let i = 0; i < this.size; i++) s += v[i]!;
      return s;
    }
    for (let i = this.head; i < this.capacity; i++) s += v[i]!;
    for (let i = 0; i < this.head; i++) s += v[i]!;
    return s;
  }

  /** Largest value held (order does not matter, so the buffer is scanned as it lies). */
  max(): number {
    const v = this.values;
    let m = v[0]!;
    for (let i = 1; i < this.size; i++) if (v[i]! > m) m = v[i]!;
    return m;
  }

  min(): number {
    const v = this.values;
    let m = v[0]!;
    for (let i = 1; i < this.size; i++) if (v[i]! < m) m = v[i]!;
    return m;
  }

  /** The underlying buffer, for order-independent passes over a full window. */
  get raw(): Float64Array {
    return this.values;
  }

  /** The physical layout is saved as it is: passes over `raw` then give the same bits after a restore. */
  save(w: StateWriter): void {
    w.push(this.head);
    w.push(this.size);
    w.pushAll(this.values);
  }

  load(r: StateReader): void {
    this.head = r.next();
    this.size = r.next();
    r.nextInto(this.values);
  }
}

/**
 * A rolling sum over a fixed window, O(1) per value. A plain running sum drifts: adding a value and
 * later subtracting it need not cancel, and when a spike leaves (a 10⁶ volume among 10⁻³ ones) the
 * residue of its rounding can exceed 1e-9 of what is left. So the window is re-summed exactly when a
 * value leaves that dwarfs what remains, and once every `capacity` values anyway; the non-zero
 * values held are counted (a window of zeros sums to exactly 0, which features test for
 * "missing"), and non-finite values are counted apart (the sum is NaN while one is in the window,
 * and they never poison the running total). Compensated summation on every value would do the
 * same at about a tenth more of the feature engine's time.
 */
export class RollingSum {
  readonly window: RingWindow;
  private total = 0;
  private nonZero = 0;
  private nonFinite = 0;
  private sinceExact = 0;

  constructor(capacity: number) {
    this.window = new RingWindow(capacity);
  }

  /**
   * The window's sum after the last push: exactly 0 for a window of zeros, NaN while a non-finite
   * value is in it. A field rather than a getter: a double returned from a call V8 does not inline
   * is boxed.
   */
  sum = 0;

  push(x: number): void {
    const w = this.window;
    w.push(x);
    if (x !== 0) this.nonZero++;
    // x − x is 0 for finite x and NaN for NaN and ±∞.
    if (x - x === 0) this.total = this.total + x;
    else this.nonFinite++;
    let resum = ++this.sinceExact >= w.capacity;
    if (w.hasEvicted) {
      const e = w.evicted;
      if (e !== 0) this.nonZero--;
      if (e - e === 0) {
        this.total = this.total - e;
        if (Math.abs(e) > 1e4 * Math.abs(this.total)) resum = true;
      } else this.nonFinite--;
    }
    // Kept out of line (no arguments) so that push stays small enough to inline at every site.
    if (resum) this.resum();
    this.sum = this.nonFinite > 0 ? Number.NaN : this.nonZero === 0 ? 0 : this.total;
  }

  private resum(): void {
    const w = this.window;
    this.sinceExact = 0;
    let exact = 0;
    for (let i = 0; i < w.size; i++) {
      const v = w.at(i);
      if (v - v === 0) exact += v;
    }
    this.total = exact;
  }

  get full(): boolean {
    return this.window.full;
  }

  save(w: StateWriter): void {
    this.window.save(w);
    w.push(this.total);
    w.push(this.nonZero);
    w.push(this.nonFinite);
    w.push(this.sinceExact);
  }

  load(r: StateReader): void {
    this.window.load(r);
    this.total = r.next();
    this.nonZero = r.next();
    this.nonFinite = r.next();
    this.sinceExact = r.next();
    this.sum = this.nonFinite > 0 ? Number.NaN : this.nonZero === 0 ? 0 : this.total;
  }
}
