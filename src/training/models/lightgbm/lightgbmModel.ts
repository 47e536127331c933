import { z } from 'zod';
import { quantileName, type ObjectiveSpec } from '../../objectives/objective.js';
import type { TreeEnsemble } from '../trees/treeEnsemble.js';
import { mergeQuantileEnsembles, parseLightgbmDump } from './lightgbmDump.js';
import { lightgbmLibrary, type BoosterHandle, type DatasetHandle, type LightgbmLibrary } from './lightgbmLibrary.js';

/**
 * Gradient-boosted trees trained by real LightGBM through ./lightgbmLibrary.ts, for every
 * objective: binary (P(up)), multiclass (the three barrier classes), regression (L2 on the return)
 * and quantile (one booster per level, pinball loss at alpha = level). The model bytes are
 * LightGBM's own text format; the trees also come out as the TreeEnsemble IR for the ONNX exporter.
 *
 * Determinism (same inputs + params + seed → the same model text): one thread, `deterministic`,
 * row-wise histograms chosen up front (`force_row_wise`, so no timing-based choice), and `seed`,
 * from which LightGBM derives every other seed (bagging_seed, feature_fraction_seed,
 * data_random_seed, objective_seed…) itself.
 */

export const LightgbmParams = z
  .object({
    numRounds: z.number().int().min(1).max(100_000).default(300).describe('boosting rounds (trees per output)'),
    learningRate: z.number().gt(0).max(1).default(0.05),
    numLeaves: z.number().int().min(2).max(131_072).default(31).describe('leaves per tree (LightGBM grows trees leaf-wise)'),
    maxDepth: z.number().int().min(-1).max(64).default(-1).describe('tree depth limit; -1 = none (numLeaves limits the tree)'),
    minDataInLeaf: z.number().int().min(1).default(20),
    featureFraction: z.number().gt(0).max(1).default(0.8).describe('fraction of features sampled per tree'),
    baggingFraction: z.number().gt(0).max(1).default(0.8).describe('fraction of rows sampled, every baggingFreq rounds'),
    baggingFreq: z.number().int().min(0).default(1).describe('resample rows every k rounds; 0 = no bagging'),
    lambdaL1: z.number().min(0).default(0),
    lambdaL2: z.number().min(0).default(0),
    maxBin: z.number().int().min(2).max(65_535).default(255).describe('histogram bins per feature'),
  })
  .strict();
export type LightgbmParams = z.infer<typeof LightgbmParams>;
export type LightgbmParamsInput = z.input<typeof LightgbmParams>;

export interface LightgbmTrainInput {
  /** Row-major n×f float32 features; NaN = missing. */
  x: Float32Array;
  n: number;
  f: number;
  /** binary 0/1, multiclass 0/1/2, regression and quantile the target value. */
  y: Float32Array;
  objective: ObjectiveSpec;
  params?: LightgbmParamsInput;
  seed: number;
  /** After each round (each booster's rounds in turn for quantile): step of steps. */
  onRound?: (step: number, steps: number) => void;
  /** Injectable library (tests); default: the process-wide one. */
  library?: LightgbmLibrary;
}

/** One trained booster: its file name in the artifact and LightGBM's model text. */
export interface LightgbmBoosterFile {
  name: string;
  modelText: string;
}

export interface LightgbmModel {
  /** lightgbm.txt, or lightgbm-q05.txt… one per quantile level in level order. */
  boosters: LightgbmBoosterFile[];
  /** All boosters as one ensemble: numTargets = rawOutputs(objective).length. */
  ensemble: TreeEnsemble;
}

/** Multiclass is always the triple barrier's three classes (objectives/objective.ts). */
const NUM_CLASSES = 3;

/** LightGBM's parameter string ("k=v k=v") for one booster: the shared settings plus the objective's. */
export function boosterParameters(p: LightgbmParams, seed: number, objective: string[]): string {
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 31 - 1) throw new RangeError(`seed ${seed}: an integer in 0..2^31-1`);
  const pairs: Array<[string, string | number]> = [
    ...objective.map((kv) => kv.split('=') as [string, string]),
    ['boosting', 'gbdt'],
    ['learning_rate', p.learningRate],
    ['num_leaves', p.numLeaves],
    ['max_depth', p.maxDepth],
    ['min_data_in_leaf', p.minDataInLeaf],
    ['feature_fraction', p.featureFraction],
    ['bagging_fraction', p.baggingFraction],
    ['bagging_freq', p.baggingFreq],
    ['lambda_l1', p.lambdaL1],
    ['lambda_l2', p.lambdaL2],
    ['max_bin', p.maxBin],
    // NaN is LightGBM's missing value; zeros are ordinary values (the IR cannot express zero-as-missing).
    ['use_missing', 'true'],
    ['zero_as_missing', 'false'],
    ['linear_tree', 'false'],
    ['num_threads', 1],
    ['deterministic', 'true'],
    ['force_row_wise', 'true'],
    ['seed', seed],
    ['verbosity', -1],
  ];
  return pairs.map(([k, v]) => `${k}=${v}`).join(' ');
}

/** LightGBM objective settings per booster: one for most objectives, one per level for quantile. */
function objectiveBoosters(spec: ObjectiveSpec): Array<{ name: string; objective: string[] }> {
  switch (spec.objective) {
    case 'binary':
      return [{ name: 'lightgbm.txt', objective: ['objective=binary'] }];
    case 'multiclass':
      return [{ name: 'lightgbm.txt', objective: ['objective=multiclass', `num_class=${NUM_CLASSES}`] }];
    case 'regression':
      return [{ name: 'lightgbm.txt', objective: ['objective=regression'] }];
    case 'quantile':
      if (spec.quantiles.length === 0) throw new RangeError('quantile objective without levels');
      return spec.quantiles.map((level) => ({ name: `lightgbm-${quantileName(level)}.txt`, objective: ['objective=quantile', `alpha=${level}`] }));
  }
}

function checkLabels(spec: ObjectiveSpec, y: Float32Array): void {
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    const ok = spec.objective === 'binary' ? v === 0 || v === 1 : spec.objective === 'multiclass' ? v === 0 || v === 1 || v === 2 : Number.isFinite(v);
    if (!ok) throw new RangeError(`lightgbm ${spec.objective}: label ${v} at row ${i} (expected ${labelRule(spec)})`);
  }
}

function labelRule(spec: ObjectiveSpec): string {
  return spec.objective === 'binary' ? '0 or 1' : spec.objective === 'multiclass' ? 'a class index 0, 1 or 2' : 'a finite number';
}

export function trainLightgbm(input: LightgbmTrainInput): LightgbmModel {
  const lib = input.library ?? lightgbmLibrary();
  const p = LightgbmParams.parse(input.params ?? {});
  const { x, n, f, y } = input;
  if (!Number.isInteger(n) || !Number.isInteger(f) || n < 1 || f < 1 || x.length !== n * f) throw new RangeError(`lightgbm: ${x.length} features for ${n}×${f}`);
  if (y.length !== n) throw new RangeError(`lightgbm: ${y.length} labels for ${n} rows`);
  checkLabels(input.objective, y);

  const plan = objectiveBoosters(input.objective);
  const steps = p.numRounds * plan.length;
  const boosters: LightgbmBoosterFile[] = [];
  const parts: TreeEnsemble[] = [];
  for (const [b, { name, objective }] of plan.entries()) {
    const parameters = boosterParameters(p, input.seed, objective);
    const { modelText, dump } = trainBooster(lib, x, n, f, y, parameters, p.numRounds, (round) => input.onRound?.(b * p.numRounds + round + 1, steps));
    const parsed = parseLightgbmDump(dump, f);
    boosters.push({ name, modelText });
    parts.push(parsed.ensemble);
  }
  const ensemble = input.objective.objective === 'quantile' ? mergeQuantileEnsembles(parts) : parts[0]!;
  return { boosters, ensemble };
}

/** Trains one booster for up to `rounds` rounds; stops early when LightGBM cannot split any more. */
function trainBooster(
  lib: LightgbmLibrary,
  x: Float32Array,
  n: number,
  f: number,
  y: Float32Array,
  parameters: string,
  rounds: number,
  onRound: (round: number) => void,
): { modelText: string; dump: string } {
  let dataset: DatasetHandle | undefined;
  let booster: BoosterHandle | undefined;
  try {
    // The dataset gets the same parameters: binning (max_bin, data_random_seed) and feature
    // pre-filtering (min_data_in_leaf) happen when it is constructed.
    dataset = lib.datasetFromMat(x, n, f, parameters);
    lib.datasetSetLabel(dataset, y);
    booster = lib.boosterCreate(dataset, parameters);
    for (let round = 0; round < rounds; round++) {
      // true: no split met the requirements; LightGBM dropped that round's trees, as later ones would be.
      if (lib.boosterUpdateOneIter(booster)) break;
      onRound(round);
    }
    return { modelText: lib.boosterSaveModelToString(booster), dump: lib.boosterDumpModel(booster) };
  } finally {
    if (booster !== undefined) lib.boosterFree(booster);
    if (dataset !== undefined) lib.datasetFree(dataset);
  }
}
