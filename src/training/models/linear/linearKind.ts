import { z } from 'zod';
import type { ModelKind } from '../modelRegistry.js';
import { centredGram } from './centredGram.js';
import { fitElasticNet } from './elasticNet.js';
import { linearToOnnx } from './linearOnnx.js';
import { loadTabularOnnxScorer, onnxArtifact } from '../onnxScorer.js';
import { fitRidge } from './ridgeRegression.js';

const Ridge = z
  .object({
    penalty: z.literal('ridge'),
    l2: z.number().positive().default(1).describe('λ in ‖y − Xw − b‖² + λ‖w‖² (sklearn Ridge alpha; the logistic kind’s l2 scaling)'),
  })
  .strict();

const ElasticNet = z
  .object({
    penalty: z.literal('elastic_net'),
    alpha: z.number().positive().default(1).describe('α in 1/(2n)‖y − Xw − b‖² + αρ‖w‖₁ + ½α(1 − ρ)‖w‖² (sklearn ElasticNet alpha, per-row scale)'),
    l1Ratio: z.number().min(0).max(1).default(0.5).describe('ρ: the L1 share of the penalty (sklearn l1_ratio)'),
    tolerance: z.number().positive().default(1e-8).describe('stop when a sweep changes no coefficient by more than this'),
    maxIterations: z.number().int().min(1).max(1_000_000).default(10_000).describe('most coordinate-descent sweeps'),
  })
  .strict();

/** penalty defaults to ridge; each penalty keeps its own parameter names, as their scales differ. */
const Params = z.preprocess(
  (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) && !('penalty' in v) ? { ...v, penalty: 'ridge' } : v),
  z.discriminatedUnion('penalty', [Ridge, ElasticNet]),
);

export type LinearParams = z.infer<typeof Params>;

/**
 * Penalised linear regression of the return: ridge (closed form) or elastic net (coordinate
 * descent). One kind, not two: it is one model (e_r = x·w + b, one graph, one scorer) and the
 * penalty is a hyperparameter to sweep. Predictions always go through the exported ONNX graph.
 */
export const linearKind: ModelKind<LinearParams> = {
  name: 'linear',
  family: 'linear',
  view: 'tabular',
  objectives: ['regression'],
  causal: true,
  needsTraining: true,
  params: Params,
  async train(input, params) {
    if (input.objective.objective !== 'regression') throw new Error(`linear: objective ${input.objective.objective} is not supported (regression)`);
    const gram = centredGram(input.x, input.n, input.f, input.y);
    const model = params.penalty === 'ridge' ? fitRidge(gram, params.l2) : fitElasticNet(gram, params);
    input.onProgress?.({ step: 1, steps: 1 });
    return onnxArtifact(linearToOnnx(model, input.metadata));
  },
  load: (artifact, objective) => loadTabularOnnxScorer('linear', artifact, objective),
};
