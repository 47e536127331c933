/**
 * What a neural net is to the shared base: a function that builds its body (the layers from the
 * input to the last hidden representation) given the input shape, its params and a seed stream.
 * The base (trainLoop.ts) puts the objective's head on top (losses.ts: Dense + Activation), trains
 * it with its own seeded loop, checkpoints it and saves it; a new net (TCN, N-BEATS, an MLP) is one
 * NeuralNet value plus a ModelKind (neural/neuralKind.ts).
 */
import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { Objective, ObjectiveSpec } from '../../objectives/objective.js';
import type { NetBuilder } from './layers/netBuilder.js';
import type { Head } from './losses.js';

/** The training loop's own params; a net's params schema extends these. */
export const TrainingParamsSchema = z.strictObject({
  epochs: z.number().int().positive(),
  batchSize: z.number().int().positive(),
  learningRate: z.number().positive(),
  /**
   * Early stopping: stop after this many epochs in a row without a lower watch loss, and keep the
   * weights of the epoch with the lowest one (also when the epochs run out first). Needs watch rows.
   * Absent (the default): every epoch runs and the last epoch's weights are the model, as before
   * early stopping existed, so configs without it train the same model whether watch rows are given
   * or not.
   */
  patience: z.number().int().positive().optional(),
});
export type TrainingParams = z.output<typeof TrainingParamsSchema>;

/** A net's defaults for the training loop's params, as schema fields to extend TrainingParamsSchema with. */
export function trainingDefaults(d: { epochs: number; batchSize?: number; learningRate?: number }) {
  return {
    epochs: z.number().int().positive().default(d.epochs),
    batchSize: z.number().int().positive().default(d.batchSize ?? 256),
    learningRate: z.number().positive().default(d.learningRate ?? 0.003),
  };
}

export interface NetContext<P> {
  /** One row's shape without the batch axis: [seqLen, features] (window view) or [features]. */
  inputShape: number[];
  params: P;
  /**
   * Initializer seeds: the run's seed + 1, + 2, … in the order asked for, so no two weights share
   * a random stream. The head's kernel takes the next one after the body's.
   */
  nextSeed(): number;
}

export interface NeuralNet<P extends TrainingParams = TrainingParams> {
  /** Stored in the saved model and the checkpoint ('barflow-lstm'). */
  id: string;
  /** Short name: the checkpoint file (<name>.ckpt) and the tf model's name (barflow_<name>). */
  name: string;
  /** For messages ('LSTM'). */
  label: string;
  /** The rank of one row: 2 for [seqLen, features], 1 for [features]. */
  inputRank: 1 | 2;
  /** The net's full params (its own and the training loop's). */
  params: z.ZodType<P>;
  /** Layer classes a saved model of this net may hold, head included: loading refuses others. */
  layerClasses: readonly string[];
  /**
   * The body's layers, in order, for a sequential net; the first carries `inputShape`. Dropout
   * layers among them are driven by the loop's seeded masks when training (never tf's own unseeded
   * random draws). A net gives `body` or `graph`, not both.
   */
  body?(ctx: NetContext<P>): tf.layers.Layer[];
  /**
   * The body as a graph (residual and multi-branch nets): from the input to the last hidden
   * representation, [batch, units], made with `build` (named layers, seeded kernels, fixed linear
   * maps that the loop writes once the model is built). Dropout layers in it are driven like the
   * body's.
   */
  graph?(input: tf.SymbolicTensor, ctx: NetContext<P>, build: NetBuilder): tf.SymbolicTensor;
  /** Runs once the model is built, before training: deterministic weight set-up initializers cannot express. */
  initialize?(model: tf.LayersModel, params: P): void;
  /** The objectives the net learns; default: every objective, with losses.ts's heads. */
  objectives?: readonly Objective[];
  /** The net's own head for an objective (a likelihood, monotone quantiles); default objectiveHead. */
  head?(spec: ObjectiveSpec, params: P): Head;
  /**
   * Checks the params against the input shape before anything is built (a TCN's receptive field
   * against seqLen); throws with what to change.
   */
  check?(inputShape: number[], params: P): void;
}
