import type { z } from 'zod';

/**
 * The model zoo's contract. A model declares what it is (family, the view it reads, its outputs,
 * whether it is causal) and how it trains; adding one is a file and a line in MODEL_KINDS
 * (models/index.ts). Training sees only the rows it is given: scaled training rows in, a model that
 * predicts P(up) and exports itself as data (ONNX or TensorFlow.js files) out.
 */
export type InputView = 'tabular' | 'window' | 'multi_resolution';

export interface TrainInput {
  /** Row-major, scaled, float32: (n, f) for tabular, (n, seqLen, f) for window. */
  x: Float32Array;
  n: number;
  /** Features per time step. */
  f: number;
  seqLen?: number;
  /** 1 = up, 0 = not. */
  y: Float32Array;
  /** Rows to watch (validation loss per epoch/round); never used for fitting. */
  watch?: { x: Float32Array; n: number; y: Float32Array };
  seed: number;
  /** A folder for the model's own checkpoints (epochs of a neural model); survives interruption. */
  checkpointDir?: string;
  onProgress?: (p: { step: number; steps: number; loss?: number; watchLoss?: number }) => void;
}

export interface TrainedModel {
  /** P(up) for each row of x (same layout as training). */
  predict(x: Float32Array, n: number): Promise<Float64Array>;
  /** The model as bundle files: `format` decides how serving runs it. */
  export(metadata: Record<string, string>): Promise<{ format: 'onnx' | 'tfjs'; files: Map<string, Uint8Array> }>;
}

export interface ModelKind<P = unknown> {
  name: string;
  family: 'linear' | 'tree' | 'neural';
  view: InputView;
  outputs: readonly string[];
  /** Uses only a row's own (causal) features and the past: safe to serve live. */
  causal: boolean;
  params: z.ZodType<P>;
  train(input: TrainInput, params: P): Promise<TrainedModel>;
}
