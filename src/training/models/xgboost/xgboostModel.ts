import { z } from 'zod';
import { MULTICLASS_CLASSES, type ObjectiveSpec } from '../../objectives/objective.js';
import type { TreeEnsemble } from '../trees/treeEnsemble.js';
import { xgboostLibrary, type BoosterHandle, type DMatrixHandle, type XgboostLibrary } from './xgboostLibrary.js';
import { parseXgboostJson, reachable, xgboostToEnsemble, xgboostToOnnx } from './xgboostOnnx.js';

/**
 * Gradient-boosted trees trained by real XGBoost through ./xgboostLibrary.ts, for every objective:
 * binary (binary:logistic → P(class 1)), multiclass (multi:softprob over the three classes),
 * regression (reg:squarederror → the value) and quantile (reg:quantileerror, one model with a
 * target per level; XGBoost 2.0+). The model's bytes are XGBoost's own JSON: portable, diffable,
 * loadable by any XGBoost, and convertible to ONNX (./xgboostOnnx.ts) for serving with onnxruntime.
 *
 * Determinism (same inputs + params + seed → the same model bytes): a fixed thread count
 * (`nthread`, default 1), a fixed `seed`, and `seed_per_iteration`, which reseeds XGBoost's
 * process-wide random engine from (seed, round) at every round, so row/column sampling cannot
 * depend on what else used that engine earlier in the process (another model, another test).
 */

export const XgboostParams = z
  .object({
    numRounds: z.number().int().min(1).max(100_000).default(300).describe('boosting rounds (trees), the most when early stopping'),
    maxDepth: z.number().int().min(1).max(20).default(4),
    eta: z.number().gt(0).max(1).default(0.05).describe('learning rate'),
    subsample: z.number().gt(0).max(1).default(0.8).describe('fraction of rows sampled per tree'),
    colsampleByTree: z.number().gt(0).max(1).default(0.8).describe('fraction of features sampled per tree'),
    colsampleByNode: z.number().gt(0).max(1).default(1).describe('fraction of the tree\'s features sampled per split'),
    minChildWeight: z.number().min(0).default(1).describe('minimum hessian sum in a child'),
    lambda: z.number().min(0).default(1).describe('L2 penalty on leaf values'),
    alpha: z.number().min(0).default(0).describe('L1 penalty on leaf values'),
    gamma: z.number().min(0).default(0).describe('minimum loss reduction to split'),
    maxDeltaStep: z.number().min(0).default(0),
    scalePosWeight: z.number().gt(0).default(1),
    baseScore: z
      .number()
      .finite()
      .optional()
      .describe("initial prediction of every row: P(class 1) for binary, the value for regression/quantile; unset = XGBoost's default (2.0+ fits it to the labels)"),
    treeMethod: z.enum(['hist', 'exact', 'approx']).default('hist'),
    maxBin: z.number().int().min(2).max(65_535).default(256).describe('histogram bins per feature (hist/approx)'),
    nthread: z.number().int().min(1).max(256).default(1).describe('threads; part of the config so results are reproducible'),
    earlyStoppingRounds: z.number().int().min(1).optional().describe("stop when the validation loss (the objective's metric) has not improved for this many rounds; keep the best"),
  })
  .strict();
export type XgboostParams = z.infer<typeof XgboostParams>;
export type XgboostParamsInput = z.input<typeof XgboostParams>;

export interface XgboostTrainInput {
  /** Row-major n×f features; NaN = missing. */
  x: Float32Array;
  n: number;
  f: number;
  /**
   * Per objective: binary 0/1 (any value in [0, 1]); multiclass the class index 0, 1, 2;
   * regression and quantile the value (finite).
   */
  y: Float32Array;
  /** What to learn; binary when absent. */
  objective?: ObjectiveSpec;
  /** Optional row weights (≥ 0). */
  weights?: Float32Array;
  /** Optional validation rows: logged per round, and the early-stopping criterion. */
  validation?: { x: Float32Array; n: number; y: Float32Array; weights?: Float32Array };
  params?: XgboostParamsInput;
  seed: number;
  /** Called after each round with the train (and validation) loss, as XGBoost evaluates it (`evalMetric`). */
  onRound?: (round: number, trainLoss: number, validLoss?: number) => void;
  /** Injectable library (tests); default: the process-wide one. */
  library?: XgboostLibrary;
}

export interface FeatureImportance {
  /** Sum of the split gains (loss reduction) per feature: XGBoost's `total_gain`. */
  totalGain: Float64Array;
  /** Number of splits per feature: XGBoost's `weight`. */
  splits: Uint32Array;
}

export interface XgboostModel {
  /** XGBoost's JSON model bytes: the model itself, byte-identical for identical training. */
  modelJson: Uint8Array;
  /** The objective as XGBoost names it (binary:logistic, multi:softprob, reg:squarederror, reg:quantileerror). */
  xgboostObjective: string;
  featureCount: number;
  /** Columns of a prediction: 1, the 3 classes, or the quantile levels. */
  outputs: number;
  /** Trees in the model (rounds kept × outputs). */
  trees: number;
  /** Rounds evaluated (train and validation loss), when onRound or early stopping asked for them. */
  history: Array<{ round: number; train: number; valid?: number }>;
  /** With early stopping: the round whose model was kept (0-based). */
  bestRound?: number;
  /**
   * XGBoost's own predictions for a row-major n×featureCount matrix: row-major n×outputs (P(class 1);
   * the class probabilities; the value; the quantiles in level order).
   */
  predict(x: Float32Array, n: number): Float32Array;
  featureImportance(): FeatureImportance;
  /** The model as a library-neutral tree ensemble (what the ONNX export writes). */
  toEnsemble(): TreeEnsemble;
  /** The same model as ONNX: input `x` [N, featureCount], output `y` [N, outputs]; `metadata` goes into metadata_props. */
  toOnnx(metadata?: Record<string, string>): Uint8Array;
}

const BINARY: ObjectiveSpec = { objective: 'binary', quantiles: [] };

/** XGBoost's objective parameters and evaluation metric (lower is better for all four) for an objective. */
export function objectiveParams(spec: ObjectiveSpec): { params: Array<[string, string]>; evalMetric: string } {
  switch (spec.objective) {
    case 'binary':
      return { params: [['objective', 'binary:logistic']], evalMetric: 'logloss' };
    case 'multiclass':
      return { params: [['objective', 'multi:softprob'], ['num_class', String(MULTICLASS_CLASSES.length)]], evalMetric: 'mlogloss' };
    case 'regression':
      return { params: [['objective', 'reg:squarederror']], evalMetric: 'rmse' };
    case 'quantile':
      if (spec.quantiles.length === 0) throw new Error('quantile objective without levels');
      // One model, one target per level (XGBoost 2.0+); the metric is the mean pinball loss over the levels.
      return { params: [['objective', 'reg:quantileerror'], ['quantile_alpha', `[${spec.quantiles.join(',')}]`]], evalMetric: 'quantile' };
  }
}

/**
 * Refuses XGBoost JSON that does not model `spec` (another objective, other quantile levels), so a
 * model is never served under the wrong column names.
 */
export function checkModelObjective(modelJson: Uint8Array, spec: ObjectiveSpec): void {
  const m = parseXgboostJson(modelJson);
  const want = objectiveParams(spec).params[0]![1];
  if (m.objective !== want) throw new Error(`the XGBoost model's objective is ${m.objective}, ${spec.objective} needs ${want}`);
  const outputs = spec.objective === 'multiclass' ? MULTICLASS_CLASSES.length : spec.objective === 'quantile' ? spec.quantiles.length : 1;
  if (m.numOutputs !== outputs) throw new Error(`the XGBoost model has ${m.numOutputs} outputs, ${spec.objective} needs ${outputs}`);
  if (spec.objective === 'quantile' && m.quantileAlpha!.some((a, i) => Math.abs(a - spec.quantiles[i]!) > 1e-9)) {
    throw new Error(`the XGBoost model's quantile levels are ${m.quantileAlpha!.join(', ')}, the objective's ${spec.quantiles.join(', ')}`);
  }
}

/** XGBoost's own parameter names and values for a validated config. */
export function boosterParams(p: XgboostParams, seed: number, spec: ObjectiveSpec = BINARY): Array<[string, string]> {
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 31 - 1) throw new RangeError(`seed ${seed}: an integer in 0..2^31-1`);
  const { params, evalMetric } = objectiveParams(spec);
  const out: Array<[string, string]> = [
    ...params,
    ['eval_metric', evalMetric],
    ['tree_method', p.treeMethod],
    ['max_depth', String(p.maxDepth)],
    ['eta', String(p.eta)],
    ['subsample', String(p.subsample)],
    ['colsample_bytree', String(p.colsampleByTree)],
    ['colsample_bynode', String(p.colsampleByNode)],
    ['min_child_weight', String(p.minChildWeight)],
    ['lambda', String(p.lambda)],
    ['alpha', String(p.alpha)],
    ['gamma', String(p.gamma)],
    ['max_delta_step', String(p.maxDeltaStep)],
    ['scale_pos_weight', String(p.scalePosWeight)],
    ['nthread', String(p.nthread)],
    ['seed', String(seed)],
    ['seed_per_iteration', '1'],
    // 1 = warnings only (e.g. an unused parameter); XGBoost writes them to stderr.
    ['verbosity', '1'],
  ];
  // exact has no histogram; passing max_bin would only earn an "unused parameter" warning.
  if (p.treeMethod !== 'exact') out.push(['max_bin', String(p.maxBin)]);
  if (p.baseScore !== undefined) {
    if (spec.objective === 'binary' && !(p.baseScore > 0 && p.baseScore < 1)) throw new RangeError(`baseScore ${p.baseScore}: binary needs a probability in (0, 1)`);
    out.push(['base_score', String(p.baseScore)]);
  }
  return out;
}

export function trainXgboost(input: XgboostTrainInput): XgboostModel {
  const lib = input.library ?? xgboostLibrary();
  const p = XgboostParams.parse(input.params ?? {});
  const spec = input.objective ?? BINARY;
  const { x, n, f, y } = input;
  checkMatrix('train', x, n, f, y, input.weights, spec);
  const v = input.validation;
  if (v) checkMatrix('validation', v.x, v.n, f, v.y, v.weights, spec);
  if (p.earlyStoppingRounds !== undefined && !v) throw new Error('earlyStoppingRounds needs validation rows');
  if (spec.objective === 'quantile' && lib.version[0] < 2) {
    throw new Error(
      `the quantile objective needs XGBoost 2.0 or later (reg:quantileerror); the loaded library ${lib.path} is XGBoost ${lib.version.join('.')}. ` +
        'Run scripts/ensure-xgboost.sh to get the pinned XGBoost, or point BARFLOW_LIBXGBOOST at a newer libxgboost.so.',
    );
  }
  const params = boosterParams(p, input.seed, spec);
  const evalMetric = objectiveParams(spec).evalMetric;
  const evaluate = input.onRound !== undefined || p.earlyStoppingRounds !== undefined;

  const handles: { dtrain?: DMatrixHandle; dvalid?: DMatrixHandle; booster?: BoosterHandle; sliced?: BoosterHandle } = {};
  const history: XgboostModel['history'] = [];
  let bestRound: number | undefined;
  let modelJson: Uint8Array;
  try {
    handles.dtrain = dmatrix(lib, x, n, f, y, input.weights);
    if (v) handles.dvalid = dmatrix(lib, v.x, v.n, f, v.y, v.weights);
    const dmats = v ? [handles.dtrain, handles.dvalid] : [handles.dtrain];
    handles.booster = lib.boosterCreate(dmats);
    for (const [k, val] of params) lib.boosterSetParam(handles.booster, k, val);

    let best = Number.POSITIVE_INFINITY;
    let roundsTrained = 0;
    for (let round = 0; round < p.numRounds; round++) {
      lib.boosterUpdateOneIter(handles.booster, round, handles.dtrain);
      roundsTrained = round + 1;
      if (!evaluate) continue;
      const line = lib.boosterEvalOneIter(handles.booster, round, dmats, v ? ['train', 'valid'] : ['train']);
      const train = metric(line, 'train', evalMetric);
      const valid = v ? metric(line, 'valid', evalMetric) : undefined;
      history.push(valid === undefined ? { round, train } : { round, train, valid });
      input.onRound?.(round, train, valid);
      if (p.earlyStoppingRounds !== undefined && valid !== undefined) {
        // Strictly better only: ties keep the earlier (smaller) model, as XGBoost's callback does.
        if (valid < best) {
          best = valid;
          bestRound = round;
        } else if (round - (bestRound ?? 0) >= p.earlyStoppingRounds) break;
      }
    }
    if (bestRound !== undefined && bestRound + 1 < roundsTrained) {
      // Keep the trees up to the best round only, so the saved model *is* the selected one.
      handles.sliced = lib.boosterSlice(handles.booster, 0, bestRound + 1);
      modelJson = lib.boosterSaveJson(handles.sliced);
    } else {
      modelJson = lib.boosterSaveJson(handles.booster);
    }
  } finally {
    freeAll(lib, handles);
  }
  return modelFromJson(modelJson, { library: lib, nthread: p.nthread, history, bestRound });
}

/** A model from XGBoost JSON bytes (from `trainXgboost` or any gbtree model with an objective xgboostOnnx.ts accepts). */
export function loadXgboost(modelJson: Uint8Array, opts: { nthread?: number; library?: XgboostLibrary } = {}): XgboostModel {
  return modelFromJson(modelJson, { library: opts.library ?? xgboostLibrary(), nthread: opts.nthread ?? 1, history: [], bestRound: undefined });
}

function modelFromJson(
  modelJson: Uint8Array,
  ctx: { library: XgboostLibrary; nthread: number; history: XgboostModel['history']; bestRound: number | undefined },
): XgboostModel {
  const parsed = parseXgboostJson(modelJson); // validates the bytes once, up front
  const featureCount = parsed.numFeature;
  const lib = ctx.library;
  const model: XgboostModel = {
    modelJson,
    xgboostObjective: parsed.objective,
    featureCount,
    outputs: parsed.numOutputs,
    trees: parsed.trees.length,
    history: ctx.history,
    predict(xs, rows) {
      checkMatrix('predict', xs, rows, featureCount);
      // A booster per call, loaded from the bytes and freed at once: no native handle outlives
      // the call, and prediction always runs exactly the model that was saved.
      const handles: { dmat?: DMatrixHandle; booster?: BoosterHandle } = {};
      try {
        handles.dmat = lib.dmatrixFromMat(xs, rows, featureCount);
        handles.booster = lib.boosterCreate([]);
        lib.boosterLoadModel(handles.booster, modelJson);
        lib.boosterSetParam(handles.booster, 'nthread', String(ctx.nthread));
        const out = lib.boosterPredict(handles.booster, handles.dmat, false);
        if (out.length !== rows * parsed.numOutputs) throw new Error(`XGBoost predicted ${out.length} values for ${rows} rows × ${parsed.numOutputs} outputs`);
        return out;
      } finally {
        freeAll(lib, handles);
      }
    },
    featureImportance() {
      const totalGain = new Float64Array(featureCount);
      const splits = new Uint32Array(featureCount);
      for (const t of parsed.trees) {
        for (const id of reachable(t)) {
          if (t.left[id] === -1) continue;
          const fi = t.splitIndex[id]!;
          totalGain[fi]! += t.lossChange[id]!;
          splits[fi]! += 1;
        }
      }
      return { totalGain, splits };
    },
    toEnsemble() {
      return xgboostToEnsemble(parsed);
    },
    toOnnx(metadata) {
      return xgboostToOnnx(modelJson, featureCount, metadata);
    },
  };
  if (ctx.bestRound !== undefined) model.bestRound = ctx.bestRound;
  return model;
}

function dmatrix(lib: XgboostLibrary, x: Float32Array, n: number, f: number, y: Float32Array, w?: Float32Array): DMatrixHandle {
  const h = lib.dmatrixFromMat(x, n, f);
  try {
    lib.dmatrixSetFloatInfo(h, 'label', y);
    if (w) lib.dmatrixSetFloatInfo(h, 'weight', w);
    return h;
  } catch (e) {
    lib.dmatrixFree(h);
    throw e;
  }
}

/** Frees boosters before matrices; keeps going past a failed free so nothing else leaks, then rethrows it. */
function freeAll(lib: XgboostLibrary, h: { dtrain?: unknown; dvalid?: unknown; dmat?: unknown; booster?: unknown; sliced?: unknown }): void {
  let first: unknown;
  const free = (handle: unknown, fn: (x: unknown) => void): void => {
    if (handle === undefined || handle === null) return;
    try {
      fn(handle);
    } catch (e) {
      first ??= e;
    }
  };
  free(h.sliced, lib.boosterFree);
  free(h.booster, lib.boosterFree);
  free(h.dtrain, lib.dmatrixFree);
  free(h.dvalid, lib.dmatrixFree);
  free(h.dmat, lib.dmatrixFree);
  if (first !== undefined) throw first;
}

function metric(line: string, name: string, evalMetric: string): number {
  const m = new RegExp(`\\b${name}-${evalMetric}:(\\S+)`).exec(line);
  if (!m) throw new Error(`no ${name}-${evalMetric} in XGBoost's evaluation "${line}"`);
  return Number(m[1]);
}

/** Why a label is not one the objective accepts, or undefined when it is fine. */
function badLabel(spec: ObjectiveSpec, v: number): string | undefined {
  switch (spec.objective) {
    case 'binary':
      return v >= 0 && v <= 1 ? undefined : 'is not in [0, 1]';
    case 'multiclass':
      return Number.isInteger(v) && v >= 0 && v < MULTICLASS_CLASSES.length ? undefined : `is not a class index 0..${MULTICLASS_CLASSES.length - 1}`;
    case 'regression':
    case 'quantile':
      return Number.isFinite(v) ? undefined : 'is not finite';
  }
}

function checkMatrix(what: string, x: Float32Array, n: number, f: number, y?: Float32Array, w?: Float32Array, spec: ObjectiveSpec = BINARY): void {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(f) || f < 1) throw new RangeError(`${what}: n=${n}, f=${f} must be positive integers`);
  if (x.length !== n * f) throw new RangeError(`${what}: x has ${x.length} values, expected n×f = ${n * f}`);
  for (let i = 0; i < x.length; i++) {
    const value = x[i]!;
    // NaN is "missing"; ±Infinity is not a value XGBoost's hist can bin, so refuse it clearly here.
    if (value === Number.POSITIVE_INFINITY || value === Number.NEGATIVE_INFINITY) throw new RangeError(`${what}: x[${Math.floor(i / f)}, ${i % f}] is infinite`);
  }
  if (y) {
    if (y.length !== n) throw new RangeError(`${what}: y has ${y.length} values for ${n} rows`);
    for (let i = 0; i < n; i++) {
      const why = badLabel(spec, y[i]!);
      if (why) throw new RangeError(`${what}: y[${i}] = ${y[i]} ${why} (${spec.objective})`);
    }
  }
  if (w) {
    if (w.length !== n) throw new RangeError(`${what}: weights has ${w.length} values for ${n} rows`);
    for (let i = 0; i < n; i++) if (!(w[i]! >= 0 && Number.isFinite(w[i]!))) throw new RangeError(`${what}: weight[${i}] = ${w[i]} is not finite and ≥ 0`);
  }
}
