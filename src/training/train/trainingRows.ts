import type { ColumnRole } from '../../operators/featureSet.js';
import { type Dataset, openDataset } from '../dataset.js';
import { type LabelTable, openLabels } from '../labels/labelSet.js';
import { type ScalerParams, scaleInto } from '../models/scaler.js';
import type { Objective } from '../objectives/objective.js';
import type { ModelView, ViewParams } from '../views/modelView.js';
import type { TrainConfig } from './trainConfig.js';

/**
 * The rows a model may learn from and their inputs: labelled rows whose view is complete (all
 * features present for a tabular model; a full window for a window model), with the objective's
 * target and each row's label span for the splits.
 */
export interface TrainingData {
  dataset: Dataset;
  labels: LabelTable;
  columns: string[];
  eligible: Int32Array;
  /** Per dataset row, the target as the objective learns it (objectiveTargets); NaN when unlabelled. */
  y: Float64Array;
  /** Per dataset row: the label end (NaN for rows that are not eligible). */
  t1: Float64Array;
  /** Per dataset row: the target's return (for the expected-return output), NaN when absent. */
  ret: Float64Array;
  view: ModelView;
  viewParams: ViewParams;
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

/** `extraColumns`: columns loaded beside the model's, which it does not read (the regime's observations). */
export function loadTrainingData(config: Pick<TrainConfig, 'dataset' | 'features' | 'labels' | 'objective' | 'view'>, view: ModelView, extraColumns: readonly string[] = []): TrainingData {
  const probe = openDataset(config.dataset, { columns: [] });
  const columns = resolveColumns(config, probe.manifest.featureSet.columns, probe.manifest.featureSet.roles, config.dataset);
  const unknown = extraColumns.filter((c) => !probe.manifest.featureSet.columns.includes(c));
  if (unknown.length > 0) throw new Error(`regime.features: ${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not in the dataset's feature set (${config.dataset})`);
  const dataset = openDataset(config.dataset, { columns: [...new Set([...columns, ...extraColumns])] });
  const labels = openLabels(dataset, config.labels.set);
  const name = config.labels.target;
  const target = labels.column(name);
  const t1All = labels.t1Of(name);
  const retName = `${name}_ret`;
  // A barrier or meta label has its return beside it; a forward-return target is the return.
  const ret = labels.entry.columns.includes(retName) ? labels.column(retName) : target;
  const y = objectiveTargets(config.objective, target, ret, name);
  const viewParams = view.fromConfig(config.view);
  const viewRows = view.answerable(dataset.table, columns, viewParams);
  const eligible = Int32Array.from(Array.from(viewRows).filter((r) => !Number.isNaN(y[r]!) && !Number.isNaN(t1All[r]!)));
  const t1 = new Float64Array(dataset.table.n).fill(Number.NaN);
  for (const r of eligible) t1[r] = t1All[r]!;
  if (eligible.length === 0) throw new Error(`${config.dataset}: no row has both a ${name} label and complete features`);
  return { dataset, labels, columns, eligible, y, t1, ret, view, viewParams };
}

/**
 * y per dataset row, as the objective learns it: binary 1 / 0 (target > 0); multiclass the class
 * index 0 / 1 / 2 of a triple-barrier label −1 / 0 / 1; regression and quantile the return.
 */
export function objectiveTargets(objective: Objective, target: Float64Array, ret: Float64Array, name: string): Float64Array {
  const n = target.length;
  const y = new Float64Array(n);
  if (objective === 'regression' || objective === 'quantile') {
    y.set(ret);
    return y;
  }
  for (let i = 0; i < n; i++) {
    const v = target[i]!;
    if (Number.isNaN(v)) y[i] = Number.NaN;
    else if (objective === 'binary') y[i] = v > 0 ? 1 : 0;
    else if (v === -1 || v === 0 || v === 1) y[i] = v + 1;
    else throw new Error(`objective multiclass needs a triple-barrier target (values -1, 0, 1: down, time-out, up); ${name} has ${v} at row ${i}: choose a barrier target, or objective regression for a return`);
  }
  return y;
}

/**
 * Model inputs of the given rows, scaled in float64 and narrowed to float32 (scaleInto), as
 * serving (BundlePredictor) does, so the two round the same way.
 */
export function modelInputs(data: Pick<TrainingData, 'dataset' | 'columns' | 'view' | 'viewParams'>, scaler: ScalerParams, rows: ArrayLike<number>): { x: Float32Array; dims: number[] } {
  const raw = data.view.samples(data.dataset.table, data.columns, data.viewParams, rows);
  const steps = rows.length * data.view.steps(data.viewParams);
  const x = new Float32Array(steps * data.columns.length);
  scaleInto(scaler, raw, steps, x);
  return { x, dims: data.view.dims(rows.length, data.columns.length, data.viewParams) };
}
