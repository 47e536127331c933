import type { FeatureTable } from '../featureTable.js';
import { type ArrayFor, type Batch, type Dtype, type RowBatch, checkDtype, checkIndex, chunked, filterRows, output, resolveColumns } from './common.js';

export interface TabularViewOptions<D extends Dtype> {
  /** Feature columns, in the order of the matrix's columns. */
  columns: readonly string[];
  /** Default float32. */
  dtype?: D;
}

export type TabularBatch<D extends Dtype> = Batch<D, [n: number, features: number]>;

/**
 * The table as a matrix `(n, features)`: one row per selected table row, the row's own values and
 * nothing else (every value of a row is available at its ts + 1 minute). Missing values stay NaN.
 */
export class TabularView<D extends Dtype = 'float32'> {
  readonly columns: readonly string[];
  readonly dtype: D;
  private readonly values: Float64Array[];

  constructor(
    readonly table: FeatureTable,
    options: TabularViewOptions<D>,
  ) {
    this.dtype = (options.dtype ?? 'float32') as D;
    checkDtype(this.dtype);
    this.columns = [...options.columns];
    this.values = resolveColumns(table, this.columns);
  }

  get features(): number {
    return this.columns.length;
  }

  /** Rows (all, or those of `rows`) with no missing value in the view's columns (warm-up excluded). */
  completeRows(rows?: ArrayLike<number>): Int32Array {
    const values = this.values;
    return filterRows(this.table, rows, (row) => {
      for (let c = 0; c < values.length; c++) if (Number.isNaN(values[c]![row]!)) return false;
      return true;
    });
  }

  /** The matrix of the given rows, row-major; `out` (reused) when given. */
  rows(indices: ArrayLike<number>, out?: ArrayFor<D>): TabularBatch<D> {
    const n = indices.length;
    const f = this.values.length;
    for (let i = 0; i < n; i++) checkIndex(this.table, indices[i]!, i);
    const data = output(this.dtype, n * f, out);
    for (let c = 0; c < f; c++) {
      const col = this.values[c]!;
      for (let i = 0, o = c; i < n; i++, o += f) data[o] = col[indices[i]!]!;
    }
    return { data, shape: [n, f] };
  }

  /** The rows in consecutive batches of `batchSize` (the last may be shorter). */
  batches(indices: ArrayLike<number>, batchSize: number): Generator<RowBatch<D, [number, number]>> {
    return chunked(indices, batchSize, (rows) => this.rows(rows));
  }
}
