import type { ColumnRole } from '../../operators/featureSet.js';
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

/**
 * The columns a config trains on, from the dataset's columns and their roles (its manifest's
 * `featureSet.roles`; undefined for a dataset replayed before roles existed, which then needs a
 * config that names its columns or says `all`). `source` names the dataset in errors.
 */
export function resolveColumns(config: Pick<TrainConfig, 'features'>, all: readonly string[], roles: Readonly<Record<string, ColumnRole>> | undefined, source = 'the dataset'): string[] {
  const f = config.features;
  if (f === 'all') return [...all];
  if (Array.isArray(f)) {
    const missing = f.filter((c) => !all.includes(c));
    if (missing.length > 0) throw new Error(`features: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not in the dataset's feature set`);
    return [...f];
  }
  if (roles === undefined) {
    const what = f === 'stationary' ? 'features: stationary (the default)' : 'features.exclude (which excludes from the stationary columns)';
    throw new Error(`${what} needs the columns' roles, and ${source} was replayed before datasets recorded them (its manifest.json has no featureSet.roles): replay it again, or name the features (a list of columns, or all)`);
  }
  const stationary = all.filter((c) => roles[c] === 'stationary');
  if (f === 'stationary') {
    if (stationary.length === 0) throw new Error(`features: stationary, but ${source} has no stationary column: name the features (a list of columns, or all)`);
    return stationary;
  }
  const unknown = f.exclude.filter((c) => !all.includes(c));
  if (unknown.length > 0) throw new Error(`features.exclude: ${unknown.join(', ')} not in the dataset's feature set`);
  // Excluding a level is a sign of the older meaning (all columns minus these): say so rather than ignore it.
  const levels = f.exclude.filter((c) => roles[c] !== 'stationary');
  if (levels.length > 0) throw new Error(`features.exclude: ${levels.join(', ')} ${levels.length > 1 ? 'are levels' : 'is a level'}, not among the stationary columns it excludes from; to train on levels, list the columns or use all`);
  const kept = stationary.filter((c) => !f.exclude.includes(c));
  if (kept.length === 0) throw new Error('features.exclude leaves no column');
  return kept;
}

export function loadTrainingData(config: TrainConfig, view: InputView): TrainingData {
  const probe = openDataset(config.dataset, { columns: [] });
  const columns = resolveColumns(config, probe.manifest.featureSet.columns, probe.manifest.featureSet.roles, config.dataset);
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
