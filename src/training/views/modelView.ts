import type { WindowSpec } from '../../serving/live/recentRows.js';
import type { FeatureTable } from '../featureTable.js';
import { TabularView } from './tabularView.js';
import { WindowView } from './windowView.js';

/**
 * How a model's inputs are cut from feature rows, as one object used by training, `barflow
 * predict` and the live topology alike: no code outside this file branches on a view's name. A
 * sample is `steps` rows of the model's columns (float64, raw: scaling comes after), the row
 * predicted being the last.
 */
export type ViewName = 'tabular' | 'window' | 'multi_resolution';
export type ViewParams = Record<string, unknown>;

/** A live row as the outputs hand it to a model: its feature vector and, for a window model, its window. */
export interface LiveRow {
  values: Float64Array;
  /** The window's rows (oldest first, the model's columns), null while too short or when no window is kept. */
  window: Float64Array | null;
  /** The regime filter's state probabilities after this row, when the served bundle has a regime. */
  regime?: Float64Array | null;
}

export interface ModelView {
  readonly name: ViewName;
  /** The view's parameters from a training config's `view` section, as recorded in the bundle. */
  fromConfig(view: { seqLen: number }): ViewParams;
  /** Checks parameters read from a bundle; throws naming `where`. */
  check(params: ViewParams, where: string): void;
  /** Rows per sample (1 for a tabular view). */
  steps(params: ViewParams): number;
  /** Model input dims of a batch of n samples of f columns. */
  dims(n: number, f: number, params: ViewParams): number[];
  /** The rows (of `rows`, or all) with a complete sample: every value present, a full window. */
  answerable(table: FeatureTable, columns: readonly string[], params: ViewParams, rows?: ArrayLike<number>): Int32Array;
  /** Raw samples of the rows, row-major n × steps × f. */
  samples(table: FeatureTable, columns: readonly string[], params: ViewParams, rows: ArrayLike<number>): Float64Array;
  /** What the live state keeps per symbol for this view (undefined: nothing beyond the row). */
  liveWindow(params: ViewParams, columnIndex: Int32Array): WindowSpec | undefined;
  /** One live row's raw sample (steps × f), or null when it is not answerable yet. */
  liveSample(row: LiveRow, columnIndex: Int32Array, params: ViewParams): Float64Array | null;
}

const tabular: ModelView = {
  name: 'tabular',
  fromConfig: () => ({}),
  check: () => undefined,
  steps: () => 1,
  dims: (n, f) => [n, f],
  answerable: (table, columns, _params, rows) => new TabularView(table, { columns }).completeRows(rows),
  samples: (table, columns, _params, rows) => new TabularView(table, { columns, dtype: 'float64' }).rows(rows).data,
  liveWindow: () => undefined,
  liveSample(row, columnIndex) {
    const f = columnIndex.length;
    const out = new Float64Array(f);
    for (let j = 0; j < f; j++) {
      const v = row.values[columnIndex[j]!]!;
      if (Number.isNaN(v)) return null;
      out[j] = v;
    }
    return out;
  },
};

const seqLenOf = (params: ViewParams) => Number(params.seqLen);

const window: ModelView = {
  name: 'window',
  fromConfig: (view) => ({ seqLen: view.seqLen }),
  check(params, where) {
    if (!(Number.isInteger(seqLenOf(params)) && seqLenOf(params) >= 1)) throw new Error(`${where}: a window model without a positive integer seqLen`);
  },
  steps: seqLenOf,
  dims: (n, f, params) => [n, seqLenOf(params), f],
  answerable(table, columns, params, rows) {
    const complete = new TabularView(table, { columns }).completeRows(rows);
    return new WindowView(table, { columns, seqLen: seqLenOf(params) }).validRows(complete);
  },
  samples: (table, columns, params, rows) => new WindowView(table, { columns, seqLen: seqLenOf(params), dtype: 'float64' }).batch(rows).data,
  // Batch windows break at any gap over a minute (WindowView's default); live ones do too.
  liveWindow: (params, columnIndex) => ({ length: seqLenOf(params), columns: columnIndex, maxGapMs: 60_000 }),
  liveSample(row, columnIndex, params) {
    const w = row.window;
    if (w === null) return null;
    // The row predicted (the window's last) must be complete, as in `answerable`.
    const f = columnIndex.length;
    const last = (seqLenOf(params) - 1) * f;
    for (let j = 0; j < f; j++) if (Number.isNaN(w[last + j]!)) return null;
    return w;
  },
};

/** The views models can read. multi_resolution (views/multiResolutionView.ts) gets its object with the first kind that reads it. */
export const MODEL_VIEWS: Readonly<Record<string, ModelView>> = { tabular, window };

export function modelView(name: string): ModelView {
  const v = MODEL_VIEWS[name];
  if (v === undefined) throw new Error(`view ${JSON.stringify(name)} is not served by any model kind yet (views: ${Object.keys(MODEL_VIEWS).join(', ')})`);
  return v;
}
