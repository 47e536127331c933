import { MINUTE_MS, formatTs } from '../../bars/bar.js';
import type { FeatureTable } from '../featureTable.js';
import {
  type ArrayFor,
  type Batch,
  type Dtype,
  type RowBatch,
  checkDtype,
  checkIndex,
  checkPositiveInt,
  chunked,
  describeRow,
  filterRows,
  output,
  resolveColumns,
} from './common.js';

export interface WindowViewOptions<D extends Dtype> {
  columns: readonly string[];
  /** Rows per window, the row itself being the last. */
  seqLen: number;
  /** Largest step between consecutive rows' ts inside a window, in minutes [1: no missing minute]. */
  maxGapMinutes?: number;
  /** Let windows span any gap within a symbol [false]. */
  allowGaps?: boolean;
  /** Default float32. */
  dtype?: D;
}

export type WindowBatch<D extends Dtype> = Batch<D, [n: number, seqLen: number, features: number]>;

/**
 * Sliding windows `(n, seqLen, features)`: the window of row i is rows i − seqLen + 1 … i, all of
 * i's symbol and, unless gaps are allowed, no two consecutive ones further apart than
 * `maxGapMinutes`. Windows end at their row, so none holds a value from after the row's time.
 *
 * Memory: one Int32 per table row (where its run of gap-free rows starts); windows are copied
 * only into the batch asked for.
 */
export class WindowView<D extends Dtype = 'float32'> {
  readonly columns: readonly string[];
  readonly seqLen: number;
  readonly maxGapMinutes: number;
  readonly allowGaps: boolean;
  readonly dtype: D;
  private readonly values: Float64Array[];
  /** Per row: the first row of its run (same symbol, no step over the gap limit). */
  private readonly runStart: Int32Array;

  constructor(
    readonly table: FeatureTable,
    options: WindowViewOptions<D>,
  ) {
    this.dtype = (options.dtype ?? 'float32') as D;
    checkDtype(this.dtype);
    checkPositiveInt('seqLen', options.seqLen);
    this.seqLen = options.seqLen;
    this.maxGapMinutes = options.maxGapMinutes ?? 1;
    if (!(this.maxGapMinutes > 0)) throw new Error(`maxGapMinutes must be positive, got ${options.maxGapMinutes}`);
    this.allowGaps = options.allowGaps ?? false;
    this.columns = [...options.columns];
    this.values = resolveColumns(table, this.columns);
    this.runStart = runStarts(table, this.allowGaps ? Number.POSITIVE_INFINITY : this.maxGapMinutes * MINUTE_MS);
  }

  get features(): number {
    return this.columns.length;
  }

  /** Whether the row has a full window. */
  isValid(row: number): boolean {
    return row - this.runStart[row]! + 1 >= this.seqLen;
  }

  /** Rows (all, or those of `rows`) that have a full window, in order. */
  validRows(rows?: ArrayLike<number>): Int32Array {
    return filterRows(this.table, rows, (row) => this.isValid(row));
  }

  /** The windows of the given rows; throws, naming the row, for one without a full window. */
  batch(indices: ArrayLike<number>, out?: ArrayFor<D>): WindowBatch<D> {
    const n = indices.length;
    const f = this.values.length;
    const L = this.seqLen;
    for (let i = 0; i < n; i++) {
      const row = indices[i]!;
      checkIndex(this.table, row, i);
      if (!this.isValid(row)) throw new Error(this.whyInvalid(row));
    }
    const data = output(this.dtype, n * L * f, out);
    for (let i = 0; i < n; i++) {
      const first = indices[i]! - L + 1;
      const base = i * L * f;
      for (let c = 0; c < f; c++) {
        const col = this.values[c]!;
        for (let k = 0, o = base + c; k < L; k++, o += f) data[o] = col[first + k]!;
      }
    }
    return { data, shape: [n, L, f] };
  }

  batches(indices: ArrayLike<number>, batchSize: number): Generator<RowBatch<D, [number, number, number]>> {
    return chunked(indices, batchSize, (rows) => this.batch(rows));
  }

  /** Why a row has no full window: too close to its symbol's first row, or to a gap. */
  whyInvalid(row: number): string {
    const t = this.table;
    const start = this.runStart[row]!;
    const have = row - start + 1;
    const symbol = t.symbols[t.symbolCodes[row]!]!;
    const head = `${t.path}: ${describeRow(t, row)} has no window of ${this.seqLen} rows: only ${have} row${have === 1 ? '' : 's'}`;
    if (start === t.symbolStart[t.symbolCodes[row]!]) return `${head} of ${symbol} up to it (its first row is ${formatTs(t.ts[start]!)})`;
    const gap = (t.ts[start]! - t.ts[start - 1]!) / MINUTE_MS;
    return `${head} since a gap of ${gap} minutes before ${formatTs(t.ts[start]!)} (maxGapMinutes ${this.maxGapMinutes}; pass allowGaps to span gaps)`;
  }
}

function runStarts(table: FeatureTable, maxStepMs: number): Int32Array {
  const { ts, symbolCodes } = table;
  const start = new Int32Array(table.n);
  for (let i = 0; i < table.n; i++) {
    const continues = i > 0 && symbolCodes[i] === symbolCodes[i - 1] && ts[i]! - ts[i - 1]! <= maxStepMs;
    start[i] = continues ? start[i - 1]! : i;
  }
  return start;
}
