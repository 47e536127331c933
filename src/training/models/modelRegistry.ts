import type { z } from 'zod';
import type { ObjectiveSpec, Objective } from '../objectives/objective.js';
import type { ViewName } from '../views/modelView.js';

/**
 * The model zoo's contract (v2). A kind declares what it is (family, the view it reads, the
 * objectives it supports, whether it is causal and whether it needs training) and provides both
 * sides: `train` turns scaled inputs into artifact files, `load` turns those files into a scorer.
 * Training, `barflow predict` and the live topology all predict through `load`, so there is one
 * path from files to numbers. Adding a kind = one folder under models/ and one line in
 * MODEL_KINDS (models/index.ts); docs/models.md says how.
 */
export type { Objective, ObjectiveSpec, ViewName };

export interface TrainInput {
  /** Row-major, scaled, float32, shaped `dims` ([n, f] tabular, [n, seqLen, f] window). */
  x: Float32Array;
  dims: number[];
  n: number;
  /** Features per time step. */
  f: number;
  /**
   * The target per row, by objective: binary 1 = up, 0 = not; multiclass the class index (0 down,
   * 1 time-out, 2 up); regression and quantile the return.
   */
  y: Float32Array;
  objective: ObjectiveSpec;
  /** Rows after the training rows in time, for validation loss / early stopping; never fitted. */
  watch?: { x: Float32Array; dims: number[]; n: number; y: Float32Array };
  seed: number;
  /** Stored inside the artifact (ONNX metadata_props): model name, version, feature schema hash. */
  metadata: Record<string, string>;
  /** A folder for the model's own checkpoints (epochs of a neural model); survives interruption. */
  checkpointDir?: string;
  onProgress?: (p: { step: number; steps: number; loss?: number; watchLoss?: number }) => void;
}

/** A trained model as files (names relative to the bundle's model/ folder); `format` says how they run. */
export interface Artifact {
  /** json: plain data a kind reads itself (an ensemble's pool weights). */
  format: 'onnx' | 'tfjs' | 'json';
  files: Map<string, Uint8Array>;
}

/** What `load` returns: a batch of inputs in, a row-major n × outputs.length matrix out. */
export interface Scorer {
  /** Column names of the matrix: rawOutputs(objective) (objectives/objective.ts). */
  readonly outputs: readonly string[];
  score(x: Float32Array, dims: number[]): Promise<Float64Array>;
  /** Kinds that can say what their prediction looked at (the TFT): weights per row, for inspection. */
  explain?(x: Float32Array, dims: number[]): Promise<Explanation>;
}

/**
 * Inspection weights per row, in parts: each part row-major n × width, its columns one per window
 * step (`axis: 'steps'`, oldest first, the row's own step last) or one per input feature.
 */
export interface Explanation {
  parts: { name: string; axis: 'steps' | 'features'; width: number; values: Float64Array }[];
}

export interface ModelKind<P = unknown> {
  name: string;
  family: 'linear' | 'tree' | 'neural' | 'ensemble';
  view: ViewName;
  objectives: readonly Objective[];
  /** Uses only a row's own (causal) features and the past: safe to serve live. */
  causal: boolean;
  /** false for zero-shot kinds (none yet): they load without training. */
  needsTraining: boolean;
  params: z.ZodType<P>;
  /**
   * Throws, saying what to change, when the params cannot take one sample of this shape (without
   * the batch axis): a TCN whose receptive field is shorter than the window. Training calls it
   * before the first fit.
   */
  checkInput?(sampleShape: number[], params: P): void;
  train(input: TrainInput, params: P): Promise<Artifact>;
  load(artifact: Artifact, objective: ObjectiveSpec): Promise<Scorer>;
}
