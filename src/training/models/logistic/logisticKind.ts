import { z } from 'zod';
import { openOnnxSession, runOnnx } from '../../../serving/onnx/onnxSession.js';
import type { ModelKind } from '../modelRegistry.js';
import { logisticToOnnx } from './logisticOnnx.js';
import { fitLogistic } from './logisticRegression.js';

const Params = z
  .object({
    l2: z.number().positive().default(1).describe('L2 strength λ on the weights (sklearn C = 1/λ)'),
    maxIterations: z.number().int().min(1).max(1000).default(50),
    tolerance: z.number().positive().default(1e-10),
  })
  .strict();

/** Predictions always go through the exported ONNX graph, as serving does. */
export const logisticKind: ModelKind<z.infer<typeof Params>> = {
  name: 'logistic',
  family: 'linear',
  view: 'tabular',
  outputs: ['p_up'],
  causal: true,
  params: Params,
  async train(input, params) {
    const model = fitLogistic(input.x, input.n, input.f, input.y, params);
    input.onProgress?.({ step: 1, steps: 1 });
    const onnx = logisticToOnnx(model);
    const session = await openOnnxSession(onnx);
    return {
      predict: (x, n) => runOnnx(session, x, [n, input.f]),
      export: async (metadata) => ({ format: 'onnx', files: new Map([['model.onnx', logisticToOnnx(model, metadata)]]) }),
    };
  },
};
