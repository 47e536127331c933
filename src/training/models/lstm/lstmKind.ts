import { z } from 'zod';
import { trainingDefaults } from '../neural/net.js';
import { neuralKind } from '../neural/neuralKind.js';
import { LstmParamsSchema, lstmNet } from './lstmNet.js';

/** Today's defaults; `patience` (early stopping on the watch rows) is off unless set. */
const Params = LstmParamsSchema.extend({
  units: z.number().int().positive().default(16),
  ...trainingDefaults({ epochs: 5 }),
});

/**
 * An LSTM on the window view, every objective (a sigmoid, softmax or linear head on the shared
 * neural base: neural/), trained with TensorFlow.js (the WASM backend here: it has every kernel
 * LSTM training needs; tfjs-node when installed), checkpointed each epoch in the fold's checkpoint
 * folder, so an interrupted fold resumes at its last epoch. Served as ONNX (neural/tfjsOnnx.ts);
 * the artifact also keeps the TensorFlow.js files.
 */
export const lstmKind = neuralKind('lstm', lstmNet, Params);
