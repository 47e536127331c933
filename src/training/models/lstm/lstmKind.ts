import { z } from 'zod';
import type { ModelKind } from '../modelRegistry.js';
import { LstmParamsSchema, trainLstm } from './lstmModel.js';

const Params = LstmParamsSchema.extend({
  units: z.number().int().positive().default(16),
  epochs: z.number().int().positive().default(5),
  batchSize: z.number().int().positive().default(256),
  learningRate: z.number().positive().default(0.003),
});

/**
 * An LSTM on the window view, trained with TensorFlow.js (the WASM backend here: it has every
 * kernel LSTM training needs; tfjs-node when installed), checkpointed each epoch in the fold's
 * checkpoint folder, so an interrupted fold resumes at its last epoch. Served in TensorFlow.js
 * layers format (model.json + weights.bin) until an ONNX export exists.
 */
export const lstmKind: ModelKind<z.infer<typeof Params>> = {
  name: 'lstm',
  family: 'neural',
  view: 'window',
  outputs: ['p_up'],
  causal: true,
  params: Params,
  async train(input, params) {
    if (input.seqLen === undefined) throw new Error('lstm: the window view needs seqLen');
    const model = await trainLstm({
      x: input.x,
      n: input.n,
      seqLen: input.seqLen,
      f: input.f,
      y: input.y,
      params,
      seed: input.seed,
      checkpoint: input.checkpointDir === undefined ? undefined : { dir: input.checkpointDir },
      onEpoch: (epoch, epochs, loss, watch) => input.onProgress?.({ step: epoch, steps: epochs, loss, watchLoss: watch }),
    });
    return {
      predict: async (x, n) => Float64Array.from(model.predict(x, n)),
      export: async () => ({ format: 'tfjs', files: await model.save() }),
    };
  },
};
