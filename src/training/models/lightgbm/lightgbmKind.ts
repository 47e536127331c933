import type { ModelKind } from '../modelRegistry.js';
import { loadTabularOnnxScorer } from '../onnxScorer.js';
import { treeEnsembleToOnnx } from '../trees/treeOnnx.js';
import { LightgbmParams, trainLightgbm } from './lightgbmModel.js';

/**
 * Gradient-boosted trees trained by real LightGBM (lib_lightgbm.so through koffi) for every
 * objective, served as ONNX: the artifact holds model.onnx (what predicts, here and live) and
 * LightGBM's own model text beside it (what LightGBM can load again): lightgbm.txt, or one
 * lightgbm-q05.txt… per quantile level, since LightGBM fits one quantile per booster.
 */
export const lightgbmKind: ModelKind<LightgbmParams> = {
  name: 'lightgbm',
  family: 'tree',
  view: 'tabular',
  objectives: ['binary', 'multiclass', 'regression', 'quantile'],
  causal: true,
  needsTraining: true,
  params: LightgbmParams,
  async train(input, params) {
    if (input.dims.length !== 2 || input.dims[0] !== input.n || input.dims[1] !== input.f) {
      throw new RangeError(`lightgbm reads a tabular [n, f] matrix, got dims [${input.dims.join(', ')}] for n=${input.n}, f=${input.f}`);
    }
    const model = trainLightgbm({
      x: input.x,
      n: input.n,
      f: input.f,
      y: input.y,
      objective: input.objective,
      params,
      seed: input.seed,
      onRound: (step, steps) => input.onProgress?.({ step, steps }),
    });
    const files = new Map<string, Uint8Array>([['model.onnx', treeEnsembleToOnnx(model.ensemble, input.metadata)]]);
    const utf8 = new TextEncoder();
    for (const b of model.boosters) files.set(b.name, utf8.encode(b.modelText));
    return { format: 'onnx', files };
  },
  load: (artifact, objective) => loadTabularOnnxScorer('lightgbm', artifact, objective),
};
