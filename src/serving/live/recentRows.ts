/**
 * The last rows of one symbol that a window model reads, kept in the live state so that a window
 * survives a restart: the same rows the batch `WindowView` cuts out of a dataset (the row itself
 * and the `length − 1` before it, of the same symbol, a run broken by any gap over `maxGapMs`), only
 * the model's columns, float64.
 */
export interface WindowSpec {
  length: number;
  /** Indices into the feature row, in the model's column order. */
  columns: Int32Array;
  maxGapMs: number;
}

export class RecentRows {
  private readonly data: Float64Array;
  private count = 0;
  /** Ring position of the next row. */
  private next = 0;
  private lastTs = Number.NaN;

  constructor(readonly spec: WindowSpec) {
    this.data = new Float64Array(spec.length * spec.columns.length);
  }

  push(ts: number, row: Float64Array): void {
    if (!(ts - this.lastTs <= this.spec.maxGapMs)) {
      this.count = 0;
      this.next = 0;
    }
    this.lastTs = ts;
    const w = this.spec.columns.length;
    const at = this.next * w;
    for (let j = 0; j < w; j++) this.data[at + j] = row[this.spec.columns[j]!]!;
    this.next = (this.next + 1) % this.spec.length;
    this.count = Math.min(this.count + 1, this.spec.length);
  }

  /** The full window, oldest row first (a copy), or null while the run is shorter than it. */
  window(): Float64Array | null {
    if (this.count < this.spec.length) return null;
    const w = this.spec.columns.length;
    const out = new Float64Array(this.data.length);
    for (let k = 0; k < this.spec.length; k++) {
      const src = ((this.next + k) % this.spec.length) * w;
      out.set(this.data.subarray(src, src + w), k * w);
    }
    return out;
  }

  /** [length, width, columns' signature, count, lastTs, rows oldest first…]: float64, exact. */
  snapshot(): Float64Array {
    const w = this.spec.columns.length;
    const out = new Float64Array(HEAD + this.count * w);
    out[0] = this.spec.length;
    out[1] = w;
    out[2] = signature(this.spec.columns);
    out[3] = this.count;
    out[4] = this.lastTs;
    for (let k = 0; k < this.count; k++) {
      const src = ((this.next - this.count + k + this.spec.length) % this.spec.length) * w;
      out.set(this.data.subarray(src, src + w), HEAD + k * w);
    }
    return out;
  }

  /**
   * Restores a snapshot taken for the same window (length and columns); another window (a bundle of
   * another shape or other columns was swapped in) starts empty and refills.
   */
  static restore(spec: WindowSpec, snap: Float64Array): RecentRows {
    const r = new RecentRows(spec);
    const w = spec.columns.length;
    if (snap.length < HEAD || snap[0] !== spec.length || snap[1] !== w || snap[2] !== signature(spec.columns)) return r;
    const count = snap[3]!;
    for (let k = 0; k < count; k++) r.data.set(snap.subarray(HEAD + k * w, HEAD + (k + 1) * w), k * w);
    r.count = count;
    r.next = count % spec.length;
    r.lastTs = snap[4]!;
    return r;
  }
}

const HEAD = 5;

/** FNV-1a over the column indices: which columns a stored window holds. */
function signature(columns: Int32Array): number {
  let h = 0x811c9dc5;
  for (const c of columns) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h;
}
