/**
 * The Quantile RNN: stacked LSTM or GRU layers over the window, the last step's state into one
 * output per quantile level, trained with the pinball loss summed over the levels (Koenker &
 * Bassett 1978; the recurrent quantile forecaster of Wen et al. 2017, MQ-RNN, without its
 * multi-horizon decoder). The levels never cross by construction: q₁ is free and each next level
 * adds a softplus step (layers/outputHeads.ts), so no sorting is needed afterwards.
 */
import { z } from 'zod';
import { empiricalQuantiles, objectiveHead, pinballLoss } from '../neural/losses.js';
import { ATTENTION_NET_CLASSES } from '../neural/layers/netBuilder.js';
import { MonotoneQuantiles, layerHead, monotoneBias, monotonePinball } from '../neural/layers/outputHeads.js';
import { type NeuralNet, TrainingParamsSchema, trainingDefaults } from '../neural/net.js';
import { neuralKind } from '../neural/neuralKind.js';

const Params = TrainingParamsSchema.extend({
  cell: z.enum(['lstm', 'gru']).default('lstm'),
  units: z.number().int().positive().default(16),
  layers: z.number().int().positive().default(1),
  dropout: z.number().min(0).lt(1).default(0.1),
  ...trainingDefaults({ epochs: 2, batchSize: 512, learningRate: 0.003 }),
}).strict();
type P = z.output<typeof Params>;

export const quantileRnnNet: NeuralNet<P> = {
  id: 'barflow-quantile-rnn',
  name: 'quantile_rnn',
  label: 'Quantile RNN',
  inputRank: 2,
  params: Params,
  layerClasses: ATTENTION_NET_CLASSES,
  objectives: ['quantile'],
  head(spec) {
    const base = objectiveHead(spec);
    return layerHead({ units: base.units, outputName: base.outputName, loss: monotonePinball(pinballLoss(spec.quantiles)), checkTarget: base.checkTarget, initBias: (y) => monotoneBias(empiricalQuantiles(y, spec.quantiles)) }, () => new MonotoneQuantiles({ name: base.outputName }));
  },
  graph(input, { params: p }, b) {
    let h = input;
    for (let i = 0; i < p.layers; i++) h = b.dropout(b.recurrent(h, p.cell, p.units), p.dropout);
    return b.lastStep(h);
  },
};

export const quantileRnnKind = neuralKind('quantile_rnn', quantileRnnNet, Params);
