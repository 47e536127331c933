import { encodeModelMetadata } from '../../../serving/onnx/onnxGraph.js';
import { openOnnxSession, runOnnx } from '../../../serving/onnx/onnxSession.js';
import type { ModelKind } from '../modelRegistry.js';
import { XgboostParams, trainXgboost } from './xgboostModel.js';

/**
 * Gradient-boosted trees trained by real XGBoost (libxgboost through koffi), served as ONNX: the
 * bundle holds model.onnx (what predicts, here and live) and XGBoost's own JSON beside it (what
 * XGBoost can load again). Predictions during training go through the ONNX graph too.
 */
export const xgboostKind: ModelKind<XgboostParams> = {
  name: 'xgboost',
  family: 'tree',
  view: 'tabular',
  outputs: ['p_up'],
  causal: true,
  params: XgboostParams,
  async train(input, params) {
    const model = trainXgboost({
      x: input.x,
      n: input.n,
      f: input.f,
      y: input.y,
      params,
      seed: input.seed,
      onRound: (round, loss) => input.onProgress?.({ step: round + 1, steps: params.numRounds, loss }),
    });
    const onnx = model.toOnnx();
    const session = await openOnnxSession(onnx);
    return {
      predict: (x, n) => runOnnx(session, x, [n, input.f]),
      export: async (metadata) => ({
        format: 'onnx',
        files: new Map([
          ['model.onnx', encodeModelMetadata(onnx, metadata)],
          ['xgboost.json', model.modelJson],
        ]),
      }),
    };
  },
};
