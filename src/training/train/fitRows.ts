import type { ObjectiveMetrics } from '../evaluation/objectiveMetrics.js';
import { objectiveMetrics } from '../evaluation/objectiveMetrics.js';
import type { Artifact, ModelKind, Scorer, TrainInput } from '../models/index.js';
import { type ScalerParams, fitStandardScaler, scaleInto } from '../models/scaler.js';
import type { ObjectiveSpec } from '../objectives/objective.js';
import { type ContractOptions, OutputContract, fitContract } from '../objectives/outputContract.js';
import { type TrainingData, modelInputs } from './trainingRows.js';

/**
 * What a fit reads, by dataset row: a model's samples from the feature table (tableInputs), or a
 * stack's meta-features (matrixInputs). One fitting path for both, so a meta-learner is split,
 * scaled, calibrated and conformalised exactly like a base model.
 */
export interface ModelInputs {
  columns: readonly string[];
  /** Per dataset row: the row's own values (n × f, float64), to fit the scaler on. */
  scalerRows(rows: ArrayLike<number>): Float64Array;
  /** The model inputs of the rows, scaled and narrowed to float32. */
  inputs(scaler: ScalerParams, rows: ArrayLike<number>): { x: Float32Array; dims: number[] };
}

/** The targets and spans every fit shares, by dataset row. */
export interface RowTargets {
  ts: Float64Array;
  t1: Float64Array;
  y: Float64Array;
  ret: Float64Array;
}

export function tableInputs(data: TrainingData): ModelInputs {
  const cols = data.columns.map((c) => data.dataset.table.column(c));
  return {
    columns: data.columns,
    scalerRows(rows) {
      const raw = new Float64Array(rows.length * cols.length);
      for (let i = 0; i < rows.length; i++) for (let j = 0; j < cols.length; j++) raw[i * cols.length + j] = cols[j]![rows[i]!]!;
      return raw;
    },
    inputs: (scaler, rows) => modelInputs(data, scaler, rows),
  };
}

/** Meta-features held as a dataset-row-indexed matrix (table rows × columns.length). */
export function matrixInputs(columns: readonly string[], values: Float64Array): ModelInputs {
  const m = columns.length;
  const take = (rows: ArrayLike<number>) => {
    const out = new Float64Array(rows.length * m);
    for (let i = 0; i < rows.length; i++) out.set(values.subarray(rows[i]! * m, rows[i]! * m + m), i * m);
    return out;
  };
  return {
    columns,
    scalerRows: take,
    inputs(scaler, rows) {
      const x = new Float32Array(rows.length * m);
      scaleInto(scaler, take(rows), rows.length, x);
      return { x, dims: [rows.length, m] };
    },
  };
}

export interface Fitted {
  artifact: Artifact;
  scorer: Scorer;
  scaler: ScalerParams;
  contract: OutputContract;
  calibrationMetrics: ObjectiveMetrics;
  /** The rows the model learnt from and the later rows its contract was fitted on. */
  fitRows: Int32Array;
  calibrationRows: Int32Array;
}

/**
 * The last `fraction` (by time) of `rows` calibrates; the rest, purged of rows whose labels end at
 * or after the calibration slice begins, is what the model fits on.
 */
export function calibrationSplit(t: Pick<RowTargets, 'ts' | 't1'>, rows: ArrayLike<number>, fraction: number): { fit: Int32Array; calibration: Int32Array } {
  const { ts, t1 } = t;
  const byTime = Array.from(rows).sort((a, b) => ts[a]! - ts[b]! || a - b);
  const cut = ts[byTime[Math.floor(byTime.length * (1 - fraction))]!]!;
  const calibration = Int32Array.from(byTime.filter((r) => ts[r]! >= cut).sort((a, b) => a - b));
  const fit = Int32Array.from(byTime.filter((r) => ts[r]! < cut && t1[r]! < cut).sort((a, b) => a - b));
  if (fit.length < 10 || calibration.length < 10) throw new Error(`too few rows to train (${fit.length}) and calibrate (${calibration.length}): use more data or fewer folds`);
  return { fit, calibration };
}

export interface FitRequest {
  kind: ModelKind;
  params: unknown;
  spec: ObjectiveSpec;
  /** The objective the kind learns, when it differs from the contract's (a ridge meta-learner regresses a 0/1 target). */
  kindSpec?: ObjectiveSpec;
  inputs: ModelInputs;
  targets: RowTargets;
  contract: ContractOptions;
  fraction: number;
  seed: number;
  metadata: Record<string, string>;
  checkpointDir?: string;
  onStep?: TrainInput['onProgress'];
  /** false: the inputs enter as they are (a pool of the bases' probabilities); the default standardises them. */
  standardise?: boolean;
}

/** The scaler that leaves values as they are (NaN still becomes 0). */
export function identityScaler(columns: readonly string[]): ScalerParams {
  return { kind: 'standard', columns: [...columns], mean: columns.map(() => 0), std: columns.map(() => 1) };
}

/**
 * Fits on a training set: its last `fraction` by time fits the output contract (calibrator,
 * expected returns, conformal scores) and is the watch slice for early stopping; the rest, purged,
 * is what the scaler and the model fit on. The model's own predictions go through its loaded
 * artifact, as serving's do.
 */
export async function fitOnRows(req: FitRequest, rows: ArrayLike<number>): Promise<Fitted> {
  const { fit: fitRows, calibration: calib } = calibrationSplit(req.targets, rows, req.fraction);
  const { y: yAll, ret } = req.targets;
  const scaler = req.standardise === false ? identityScaler(req.inputs.columns) : fitStandardScaler(req.inputs.scalerRows(fitRows), fitRows.length, [...req.inputs.columns]);
  const { x, dims } = req.inputs.inputs(scaler, fitRows);
  const y = Float32Array.from(fitRows, (r) => yAll[r]!);
  const calibInputs = req.inputs.inputs(scaler, calib);
  const yc = Array.from(calib, (r) => yAll[r]!);
  const watch = { x: calibInputs.x, dims: calibInputs.dims, n: calib.length, y: Float32Array.from(yc) };
  const kindSpec = req.kindSpec ?? req.spec;
  const artifact = await req.kind.train({ x, dims, n: fitRows.length, f: req.inputs.columns.length, y, objective: kindSpec, watch, seed: req.seed, metadata: req.metadata, checkpointDir: req.checkpointDir, onProgress: req.onStep }, req.params);
  const scorer = await req.kind.load(artifact, kindSpec);
  const rawCalib = await scorer.score(calibInputs.x, calibInputs.dims);
  const params = fitContract(req.spec, { raw: rawCalib, y: yc, fitted: { y: Array.from(fitRows, (r) => yAll[r]!), ret: Array.from(fitRows, (r) => ret[r]!) }, ...req.contract });
  const contract = new OutputContract(req.spec, params);
  // A jackknife+ contract reads the fold models' predictions too, which the calibration rows do not
  // have here: their metrics are the point prediction's.
  const metricContract = contract.width === scorer.outputs.length ? contract : new OutputContract({ objective: req.spec.objective, quantiles: req.spec.quantiles }, { objective: 'regression' });
  const out = applyContract(metricContract, rawCalib, calib.length);
  return { artifact, scorer, scaler, contract, calibrationMetrics: objectiveMetrics(req.spec, metricContract.fields, out, yc), fitRows, calibrationRows: calib };
}

/** The raw scores of the rows (the scorer's outputs, before the contract). */
export async function rawRows(fit: Pick<Fitted, 'scorer' | 'scaler'>, inputs: ModelInputs, rows: ArrayLike<number>): Promise<Float64Array> {
  const { x, dims } = inputs.inputs(fit.scaler, rows);
  return fit.scorer.score(x, dims);
}

/** The declared outputs of the rows, row-major n × contract.fields. */
export async function predictRows(fit: Pick<Fitted, 'scorer' | 'scaler' | 'contract'>, inputs: ModelInputs, rows: ArrayLike<number>): Promise<Float64Array> {
  return applyContract(fit.contract, await rawRows(fit, inputs, rows), rows.length);
}

export function applyContract(contract: OutputContract, raw: Float64Array, n: number): Float64Array {
  const w = contract.fields.length;
  const out = new Float64Array(n * w);
  for (let i = 0; i < n; i++) contract.row(raw, i, out, i * w);
  return out;
}
