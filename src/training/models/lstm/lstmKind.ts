import { z } from 'zod';
import { OBJECTIVES } from '../../objectives/objective.js';
import type { ModelKind } from '../modelRegistry.js';
import { neuralScorer, trainNeuralKind } from '../neural/neuralArtifact.js';
import { LstmParamsSchema, lstmNet } from './lstmNet.js';

/** Today's defaults; `patience` (early stopping on the watch rows) is off unless set. */
const Params = LstmParamsSchema.extend({
  units: z.number().int().positive().default(16),
  epochs: z.number().int().positive().default(5),
  batchSize: z.number().int().positive().default(256),
  learningRate: z.number().positive().default(0.003),
});

/**
 * An LSTM on the window view, every objective (a sigmoid, softmax or linear head on the shared
 * neural base: neural/), trained with TensorFlow.js (the WASM backend here: it has every kernel
 * LSTM training needs; tfjs-node when installed), checkpointed each epoch in the fold's checkpoint
 * folder, so an interrupted fold resumes at its last epoch. Served as ONNX (neural/tfjsOnnx.ts);
 * the artifact also keeps the TensorFlow.js files.
 */
export const lstmKind: ModelKind<z.infer<typeof Params>> = {
  name: 'lstm',
  family: 'neural',
  view: 'window',
  objectives: OBJECTIVES,
  causal: true,
  needsTraining: true,
  params: Params,
  train: (input, params) => trainNeuralKind(lstmNet, input, params),
  load: (artifact, objective) => neuralScorer(lstmNet, artifact, objective),
};
