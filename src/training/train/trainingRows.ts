import { type Dataset, openDataset } from '../dataset.js';
import { type LabelTable, openLabels } from '../labels/labelSet.js';
import type { InputView } from '../models/modelRegistry.js';
import { type ScalerParams, applyScaler } from '../models/scaler.js';
import { TabularView } from '../views/tabularView.js';
import { WindowView } from '../views/windowView.js';
import type { TrainConfig } from './trainConfig.js';

/**
 * The rows a model may learn from and their inputs: labelled rows whose view is complete (all
 * features present for a tabular model; a full window for a window model), with y = 1 when the
 * target is > 0 and each row's label span for the splits.
 */
export interface TrainingData {
  dataset: Dataset;
  labels: LabelTable;
  columns: string[];
  eligible: Int32Array;
  /** Per dataset row: 1 / 0, NaN when unlabelled. */
  y: Float64Array;
  /** Per dataset row: the label end (NaN for rows that are not eligible). */
  t1: Float64Array;
  /** Per dataset row: the target's return (for the expected-return output), NaN when absent. */
  ret: Float64Array;
}

export function resolveColumns(config: TrainConfig, all: readonly string[]): string[] {
  const f = config.features;
  if (f === 'all') return [...all];
  if (Array.isArray(f)) {
    const missing = f.filter((c) => !all.includes(c));
    if (missing.length > 0) throw new Error(`features: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not in the dataset's feature set`);
    return [...f];
  }
  const unknown = f.exclude.filter((c) => !all.includes(c));
  if (unknown.length > 0) throw new Error(`features.exclude: ${unknown.join(', ')} not in the dataset's feature set`);
  return all.filter((c) => !f.exclude.includes(c));
}

export function loadTrainingData(config: TrainConfig, view: InputView): TrainingData {
  const probe = openDataset(config.dataset, { columns: [] });
  const columns = resolveColumns(config, probe.manifest.featureSet.columns);
  const dataset = openDataset(config.dataset, { columns });
  const labels = openLabels(dataset, config.labels.set);
  const target = labels.column(config.labels.target);
  const t1All = labels.t1Of(config.labels.target);
  const retName = `${config.labels.target}_ret`;
  // A barrier or meta label has its return beside it; a forward-return target is the return.
  const ret = labels.entry.columns.includes(retName) ? labels.column(retName) : target;
  const n = dataset.table.n;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = Number.isNaN(target[i]!) ? Number.NaN : target[i]! > 0 ? 1 : 0;
  const complete = new TabularView(dataset.table, { columns }).completeRows();
  const viewRows = view === 'window' ? new WindowView(dataset.table, { columns, seqLen: config.view.seqLen }).validRows(complete) : complete;
  const eligible = Int32Array.from(Array.from(viewRows).filter((r) => !Number.isNaN(y[r]!) && !Number.isNaN(t1All[r]!)));
  const t1 = new Float64Array(n).fill(Number.NaN);
  for (const r of eligible) t1[r] = t1All[r]!;
  if (eligible.length === 0) throw new Error(`${config.dataset}: no row has both a ${config.labels.target} label and complete features`);
  return { dataset, labels, columns, eligible, y, t1, ret };
}

/**
 * Model inputs of the given rows, scaled: a float64 copy is scaled then narrowed to float32, so
 * training and serving (BundlePredictor) round the same way.
 */
export function modelInputs(data: { dataset: Dataset; columns: string[] }, scaler: ScalerParams, view: InputView, seqLen: number, rows: ArrayLike<number>): Float32Array {
  const table = data.dataset.table;
  if (view === 'window') {
    const w = new WindowView(table, { columns: data.columns, seqLen, dtype: 'float64' }).batch(rows);
    applyScaler(scaler, w.data, rows.length * seqLen);
    return Float32Array.from(w.data);
  }
  const t = new TabularView(table, { columns: data.columns, dtype: 'float64' }).rows(rows);
  applyScaler(scaler, t.data, rows.length);
  return Float32Array.from(t.data);
}
