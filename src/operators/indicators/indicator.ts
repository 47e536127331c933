import type { OhlcvBar } from '../ohlcv.js';
import type { StateReader, StateWriter, Stateful } from '../state.js';

/**
 * An incremental indicator over the complete bars of one timeframe: `update` takes the next bar in
 * O(1) (no allocation) and leaves the outputs in `out`, NaN while warming up ("not ready": a missing
 * value, never a made-up number). Feature columns read `out[k]` by the output's index.
 */
export abstract class Indicator implements Stateful {
  readonly out: Float64Array;

  constructor(readonly outputs: readonly string[]) {
    this.out = new Float64Array(outputs.length).fill(Number.NaN);
  }

  abstract update(bar: Readonly<OhlcvBar>): void;

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

  constructor(readonly capacity: number) {
    this.values = new Float64Array(capacity);
  }

  /** Adds a value; returns the one it pushed out of a full window, or NaN. */
  push(value: number): number {
    let evicted = Number.NaN;
    if (this.size === this.capacity) evicted = this.values[this.head]!;
    else this.size++;
    this.values[this.head] = value;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    return evicted;
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

  /** Sum in order from oldest to newest, recomputed (no drift; an all-zero window sums to 0). */
  sum(): number {
    let s = 0;
    for (let i = 0; i < this.size; i++) s += this.at(i);
    return s;
  }

  save(w: StateWriter): void {
    w.push(this.size);
    for (let i = 0; i < this.size; i++) w.push(this.at(i));
  }

  load(r: StateReader): void {
    const n = r.next();
    this.head = 0;
    this.size = 0;
    for (let i = 0; i < n; i++) this.push(r.next());
  }
}
