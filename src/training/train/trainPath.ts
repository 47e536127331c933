import type { BundleManifest } from '../../serving/bundle/bundleManifest.js';
import type { ObjectiveMetrics } from '../evaluation/objectiveMetrics.js';
import type { TrainInput } from '../models/index.js';
import type { ObjectiveSpec } from '../objectives/objective.js';
import type { OutputContract } from '../objectives/outputContract.js';
import type { TrainConfig } from './trainConfig.js';
import type { TrainingData } from './trainingRows.js';

export type StepReporter = NonNullable<TrainInput['onProgress']>;

/** What a fold or final fit is given beyond its rows. */
export interface FitContext {
  /** Per dataset row × states: the regime filter's probabilities from an HMM fitted on this fit's training rows (null without a regime). */
  regime: Float64Array | null;
  /** A folder for checkpoints of the fit's models. */
  dir: string;
  /** Progress inside one fit, labelled. */
  step(label: string): StepReporter | undefined;
}

/** One fold: the contract's fields of each test row (row-major), and what the path keeps of it for the final fit (checkpointed as JSON). */
export interface FoldResult {
  outputs: Float64Array;
  keep?: unknown;
}

/** The final model as bundle parts: files, the manifest's model (and ensemble) section, its contract. */
export interface FinalModel {
  files: Map<string, Uint8Array>;
  model: Omit<BundleManifest['model'], 'objective' | 'quantiles' | 'outputs' | 'exporter' | 'interval'>;
  ensemble?: BundleManifest['ensemble'];
  scaler: string;
  contract: OutputContract;
  calibrationMetrics: ObjectiveMetrics;
  /** Figures of the path beyond the folds' (the bases' out-of-fold metrics of an ensemble). */
  metrics?: Record<string, unknown>;
}

/**
 * A way of training (one model; an ensemble): trainRun.ts runs the folds, checkpoints and the
 * bundle, the path fits. `spec` is the contract's (with the conformal interval).
 */
export interface TrainPath {
  data: TrainingData;
  eligible: Int32Array;
  spec: ObjectiveSpec;
  fold(index: number, train: Int32Array, test: number[], ctx: FitContext): Promise<FoldResult>;
  /**
   * The final model on `rows`, given every fold's test rows and what it kept (in fold order), and
   * the out-of-fold outputs by dataset row (NaN where untested).
   */
  final(rows: Int32Array, folds: { test: number[]; keep?: unknown }[], ctx: FitContext): Promise<FinalModel>;
  /** Rewrites the out-of-fold outputs once every fold is known (jackknife+ intervals need all folds' residuals). */
  finishOof?(oof: { row: number; values: Float64Array; fold: number }[]): void;
}

export interface PathOptions {
  config: TrainConfig;
  metadata: Record<string, string>;
}
