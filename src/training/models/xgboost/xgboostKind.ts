import type { ModelKind } from '../modelRegistry.js';
import { loadTabularOnnxScorer } from '../onnxScorer.js';
import { XgboostParams, checkModelObjective, trainXgboost } from './xgboostModel.js';

/**
 * Gradient-boosted trees trained by real XGBoost (libxgboost through koffi; 3.x from the pinned
 * wheel, scripts/ensure-xgboost.sh) for every objective, served as ONNX: the artifact holds
 * model.onnx (what predicts, here and live) and XGBoost's own JSON beside it (what XGBoost can load
 * again). Quantile needs XGBoost 2.0 or later and says so on an older library.
 */
export const xgboostKind: ModelKind<XgboostParams> = {
  name: 'xgboost',
  family: 'tree',
  view: 'tabular',
  objectives: ['binary', 'multiclass', 'regression', 'quantile'],
  causal: true,
  needsTraining: true,
  params: XgboostParams,
  async train(input, params) {
    const model = trainXgboost({
      x: input.x,
      n: input.n,
      f: input.f,
      y: input.y,
      objective: input.objective,
      ...(input.watch === undefined ? {} : { validation: { x: input.watch.x, n: input.watch.n, y: input.watch.y } }),
      params,
      seed: input.seed,
      onRound: (round, loss, watchLoss) => input.onProgress?.({ step: round + 1, steps: params.numRounds, loss, watchLoss }),
    });
    return { format: 'onnx', files: new Map([['model.onnx', model.toOnnx(input.metadata)], ['xgboost.json', model.modelJson]]) };
  },
  async load(artifact, objective) {
    const json = artifact.files.get('xgboost.json');
    if (json === undefined) throw new Error(`xgboost artifact: no xgboost.json beside the graph (files: ${[...artifact.files.keys()].join(', ') || 'none'})`);
    checkModelObjective(json, objective);
    return loadTabularOnnxScorer('xgboost', artifact, objective);
  },
};
