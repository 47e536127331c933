import { type FeatureTable, describeRow } from '../featureTable.js';

/** Element type of a batch: float32 for most model runtimes, float64 for exact comparisons. */
export type Dtype = 'float32' | 'float64';
export type ArrayFor<D extends Dtype> = D extends 'float32' ? Float32Array : Float64Array;

/** A dense row-major tensor: `data[((i * shape[1] + j) * shape[2] + k) …]`. */
export interface Batch<D extends Dtype, S extends readonly number[]> {
  data: ArrayFor<D>;
  shape: S;
}

/** A batch of `batches()`, with the rows it holds (a view of the indices given, not a copy). */
export type RowBatch<D extends Dtype, S extends readonly number[]> = Batch<D, S> & { rows: ArrayLike<number> };

export function allocate<D extends Dtype>(dtype: D, length: number): ArrayFor<D> {
  return (dtype === 'float32' ? new Float32Array(length) : new Float64Array(length)) as ArrayFor<D>;
}

export function checkDtype(dtype: string): void {
  if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`unknown dtype ${JSON.stringify(dtype)}: use float32 or float64`);
}

/**
 * The output buffer of a batch: the caller's `out` when given (reused across batches of a training
 * loop, so steady state allocates nothing), else a new one.
 */
export function output<D extends Dtype>(dtype: D, length: number, out: ArrayFor<D> | undefined): ArrayFor<D> {
  if (out === undefined) return allocate(dtype, length);
  const want = dtype === 'float32' ? Float32Array : Float64Array;
  if (!(out instanceof want) || out.length < length) {
    throw new Error(`out buffer must be a ${want.name} of at least ${length} elements (got ${out.constructor.name} of ${out.length})`);
  }
  return (out.length === length ? out : out.subarray(0, length)) as ArrayFor<D>;
}

/** Throws unless the index names a row of the table; `at` is its position among the indices given (−1: a single row). */
export function checkIndex(table: FeatureTable, row: number, at: number): void {
  if (!Number.isInteger(row) || row < 0 || row >= table.n) {
    const what = at < 0 ? `row ${row} is` : `indices[${at}] is ${row},`;
    throw new Error(`${table.path}: ${what} not a row of the table (0 … ${table.n - 1})`);
  }
}

export function checkPositiveInt(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${value}`);
}

/** The columns' value arrays, with the table's error for an unknown or duplicated name. */
export function resolveColumns(table: FeatureTable, columns: readonly string[]): Float64Array[] {
  if (columns.length === 0) throw new Error(`${table.path}: a view needs at least one column`);
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c)) throw new Error(`${table.path}: column ${c} is listed twice`);
    seen.add(c);
  }
  return columns.map((c) => table.column(c));
}

/** Rows (all, or those of `rows`) for which `ok` holds, as an Int32Array. */
export function filterRows(table: FeatureTable, rows: ArrayLike<number> | undefined, ok: (row: number) => boolean): Int32Array {
  const n = rows === undefined ? table.n : rows.length;
  const out = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const row = rows === undefined ? i : rows[i]!;
    if (rows !== undefined) checkIndex(table, row, i);
    if (ok(row)) out[k++] = row;
  }
  return out.slice(0, k);
}

/** Consecutive slices of `indices` of at most `batchSize` rows, each materialised by `batch`. */
export function* chunked<B extends object>(indices: ArrayLike<number>, batchSize: number, batch: (rows: ArrayLike<number>) => B): Generator<B & { rows: ArrayLike<number> }> {
  checkPositiveInt('batchSize', batchSize);
  for (let s = 0; s < indices.length; s += batchSize) {
    const rows = slice(indices, s, Math.min(indices.length, s + batchSize));
    yield { ...batch(rows), rows };
  }
}

function slice(a: ArrayLike<number>, s: number, e: number): ArrayLike<number> {
  if (ArrayBuffer.isView(a)) return (a as unknown as Int32Array).subarray(s, e);
  if (Array.isArray(a)) return a.slice(s, e);
  return Array.from({ length: e - s }, (_, k) => a[s + k]!);
}

export { describeRow };
