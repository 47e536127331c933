/**
 * Exact operator state. Every operator writes its numeric state, in a fixed order, as float64
 * values; the snapshot is those values' bytes, so it round-trips bit for bit (NaN, -0 and
 * infinities included), which JSON cannot promise. Restoring reads them back in the same order.
 */
export class StateWriter {
  private values = new Float64Array(256);
  private length = 0;

  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }

  pushAll(values: ArrayLike<number>, from = 0, to = values.length): void {
    for (let i = from; i < to; i++) this.push(values[i]!);
  }

  bool(value: boolean): void {
    this.push(value ? 1 : 0);
  }

  /** The snapshot: a header (magic, format, a caller's layout tag) and the values. */
  finish(layoutTag: number): Uint8Array {
    const out = new Float64Array(this.length + 3);
    out[0] = SNAPSHOT_MAGIC;
    out[1] = SNAPSHOT_FORMAT;
    out[2] = layoutTag;
    out.set(this.values.subarray(0, this.length), 3);
    return new Uint8Array(out.buffer);
  }
}

const SNAPSHOT_MAGIC = 0x62666c77; // "bflw"
const SNAPSHOT_FORMAT = 1;

export class StateReader {
  private readonly values: Float64Array;
  private pos = 3;

  constructor(bytes: Uint8Array, layoutTag: number) {
    if (bytes.byteLength % 8 !== 0 || bytes.byteLength < 24) throw new Error('not a barflow state snapshot (bad length)');
    // Copy into an aligned buffer: a Buffer slice may start at any byte offset.
    this.values = new Float64Array(new Uint8Array(bytes).buffer);
    if (this.values[0] !== SNAPSHOT_MAGIC || this.values[1] !== SNAPSHOT_FORMAT) throw new Error('not a barflow state snapshot (bad header)');
    if (this.values[2] !== layoutTag) {
      throw new Error(`state snapshot was taken with another feature set or operator layout (tag ${this.values[2]}, expected ${layoutTag})`);
    }
  }

  next(): number {
    if (this.pos >= this.values.length) throw new Error('state snapshot is shorter than the operators expect');
    return this.values[this.pos++]!;
  }

  nextInto(target: Float64Array, from = 0, to = target.length): void {
    for (let i = from; i < to; i++) target[i] = this.next();
  }

  bool(): boolean {
    return this.next() === 1;
  }

  /** Fails when values are left over: the snapshot does not fit these operators. */
  end(): void {
    if (this.pos !== this.values.length) throw new Error('state snapshot is longer than the operators expect');
  }
}

/** Anything whose state can be snapshotted and restored exactly. */
export interface Stateful {
  save(w: StateWriter): void;
  load(r: StateReader): void;
}
