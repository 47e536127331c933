/**
 * A neural net (net.ts) as a model kind of the registry: the window or tabular view, every
 * objective (the head is the objective's: losses.ts), trained by the shared loop and served as ONNX
 * (neuralArtifact.ts). A net with its defaults is one call of this.
 */
import type { z } from 'zod';
import { OBJECTIVES } from '../../objectives/objective.js';
import type { ModelKind, TrainInput } from '../modelRegistry.js';
import type { NeuralNet, TrainingParams } from './net.js';
import { neuralScorer, trainNeuralKind } from './neuralArtifact.js';

export function neuralKind<S extends z.ZodType<TrainingParams>>(
  name: string,
  net: NeuralNet<z.output<S>>,
  params: S,
  /** Labels the kind adds to the artifact's metadata (a TCN's receptive field). */
  describe?: (input: TrainInput, params: z.output<S>) => Record<string, string>,
): ModelKind<z.output<S>> {
  return {
    name,
    family: 'neural',
    view: net.inputRank === 2 ? 'window' : 'tabular',
    objectives: net.objectives ?? OBJECTIVES,
    causal: true,
    needsTraining: true,
    params: params as unknown as z.ZodType<z.output<S>>,
    ...(net.check === undefined ? {} : { checkInput: (shape: number[], p: z.output<S>) => net.check!(shape, p) }),
    train: (input, p) => trainNeuralKind(net, describe === undefined ? input : { ...input, metadata: { ...input.metadata, ...describe(input, p) } }, p),
    load: (artifact, objective) => neuralScorer(net, artifact, objective),
  };
}
