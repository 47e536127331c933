/**
 * DeepAR (Salinas, Flunkert, Gasthaus & Januschowski 2020): an LSTM over the window whose output at
 * the last step gives the parameters of a likelihood for the row's target return, Gaussian
 * (μ, σ = softplus(·)) or Student-t with `df` degrees of freedom, trained by maximum likelihood;
 * the quantiles are analytic, μ + σ·z_k with z_k the standard normal or t quantile, and E[r] = μ
 * (layers/outputHeads.ts).
 *
 * Deviations (docs/models-attention.md): one step ahead instead of ancestral sampling over a
 * horizon, because the label is one target per row (h bars ahead), so no sample is needed and the
 * quantiles are exact for the fitted distribution; the autoregressive input is the window's own past
 * returns among its features (the label's value for the last h rows of the window is not known at
 * the row, so it cannot be fed back); the paper's per-series scale ν is replaced by the target's
 * standardisation over the training rows (neuralArtifact.ts); the Student-t's df is a parameter, not
 * learnt (tfjs has no log-gamma to differentiate).
 */
import { z } from 'zod';
import { type ObjectiveSpec, rawOutputs } from '../../objectives/objective.js';
import { ATTENTION_NET_CLASSES } from '../neural/layers/netBuilder.js';
import { LocationScale, layerHead, likelihoodLoss, locationScaleBias, standardQuantiles } from '../neural/layers/outputHeads.js';
import { objectiveHead } from '../neural/losses.js';
import { type NeuralNet, TrainingParamsSchema, trainingDefaults } from '../neural/net.js';
import { neuralKind } from '../neural/neuralKind.js';

const Params = TrainingParamsSchema.extend({
  units: z.number().int().positive().default(16),
  layers: z.number().int().positive().default(1),
  dropout: z.number().min(0).lt(1).default(0.1),
  likelihood: z.enum(['gaussian', 'student_t']).default('gaussian'),
  /** Student-t degrees of freedom (> 2: a finite variance). */
  df: z.number().gt(2).default(5),
  ...trainingDefaults({ epochs: 2, batchSize: 512, learningRate: 0.003 }),
}).strict();
type P = z.output<typeof Params>;

function deepArHead(spec: ObjectiveSpec, p: P) {
  const base = objectiveHead(spec);
  const quantile = spec.objective === 'quantile';
  const z = quantile ? standardQuantiles(p.likelihood, p.df, spec.quantiles) : [];
  if (rawOutputs(spec).length !== (quantile ? z.length : 1)) throw new Error(`DeepAR: outputs ${rawOutputs(spec).join(', ')} for ${spec.objective}`);
  return layerHead({ units: 2, outputName: base.outputName, loss: likelihoodLoss(p.likelihood, p.df), checkTarget: base.checkTarget, zeroLogits: true, initBias: (y) => locationScaleBias(y, p.likelihood, p.df) }, () => new LocationScale({ name: base.outputName, z, mean: !quantile }));
}

export const deepArNet: NeuralNet<P> = {
  id: 'barflow-deepar',
  name: 'deepar',
  label: 'DeepAR',
  inputRank: 2,
  params: Params,
  layerClasses: ATTENTION_NET_CLASSES,
  objectives: ['quantile', 'regression'],
  head: deepArHead,
  graph(input, { params: p }, b) {
    let h = input;
    for (let i = 0; i < p.layers; i++) h = b.dropout(b.recurrent(h, 'lstm', p.units), p.dropout);
    return b.lastStep(h);
  },
};

export const deepArKind = neuralKind('deepar', deepArNet, Params, (_input, p) => ({ likelihood: p.likelihood === 'gaussian' ? 'gaussian' : `student_t(${p.df})` }));
