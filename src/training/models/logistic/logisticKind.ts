import { z } from 'zod';
import { MULTICLASS_CLASSES } from '../../objectives/objective.js';
import { loadTabularOnnxScorer, onnxArtifact } from '../onnxScorer.js';
import type { ModelKind } from '../modelRegistry.js';
import { logisticToOnnx, multinomialToOnnx } from './logisticOnnx.js';
import { fitLogistic } from './logisticRegression.js';
import { fitMultinomial } from './multinomialLogistic.js';

const Params = z
  .object({
    l2: z.number().positive().default(1).describe('L2 strength λ on the weights (sklearn C = 1/λ)'),
    maxIterations: z.number().int().min(1).max(1000).default(50),
    tolerance: z.number().positive().default(1e-10),
  })
  .strict();

const OBJECTIVES = ['binary', 'multiclass'] as const;

/**
 * Logistic regression: binary (sigmoid) or multinomial (softmax over down / time-out / up).
 * Predictions always go through the exported ONNX graph, as serving does.
 */
export const logisticKind: ModelKind<z.infer<typeof Params>> = {
  name: 'logistic',
  family: 'linear',
  view: 'tabular',
  objectives: OBJECTIVES,
  causal: true,
  needsTraining: true,
  params: Params,
  async train(input, params) {
    const { objective } = input.objective;
    let bytes: Uint8Array;
    if (objective === 'binary') {
      bytes = logisticToOnnx(fitLogistic(input.x, input.n, input.f, input.y, params), input.metadata);
    } else if (objective === 'multiclass') {
      bytes = multinomialToOnnx(fitMultinomial(input.x, input.n, input.f, input.y, MULTICLASS_CLASSES.length, params), input.metadata);
    } else {
      throw new Error(`logistic: objective ${objective} is not supported (${OBJECTIVES.join(', ')})`);
    }
    input.onProgress?.({ step: 1, steps: 1 });
    return onnxArtifact(bytes);
  },
  load: (artifact, objective) => loadTabularOnnxScorer('logistic', artifact, objective),
};
