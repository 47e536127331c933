/**
 * TCN (Bai, Kolter & Koltun 2018, "An Empirical Evaluation of Generic Convolutional and Recurrent
 * Networks for Sequence Modeling"): `levels` residual blocks, block i holding two dilated causal
 * convolutions (dilation 2^i, `kernelSize` taps, `filters` channels), each followed by ReLU and
 * dropout, with a 1×1 convolution on the skip path where the channels change, summed and ReLU'd.
 * The prediction reads the last step, whose receptive field, 1 + 2·(k − 1)·(2^levels − 1) steps,
 * must cover the window (checked before training). Deviation: no weight normalisation (the paper's
 * reparametrisation of each kernel; Adam trains these small nets without it). docs/models-conv.md.
 */
import { z } from 'zod';
import { TrainingParamsSchema, type NeuralNet, trainingDefaults } from '../neural/net.js';
import { NET_BUILDER_CLASSES } from '../neural/layers/netBuilder.js';
import { neuralKind } from '../neural/neuralKind.js';

const Params = TrainingParamsSchema.extend({
  filters: z.number().int().positive().default(8),
  kernelSize: z.number().int().min(2).default(3),
  /** Residual blocks; block i dilates by 2^i. */
  levels: z.number().int().positive().default(4),
  dropout: z.number().min(0).lt(1).default(0.1),
  ...trainingDefaults({ epochs: 2 }),
}).strict();
type P = z.output<typeof Params>;

export function tcnReceptiveField(p: Pick<P, 'kernelSize' | 'levels'>): number {
  return 1 + 2 * (p.kernelSize - 1) * (2 ** p.levels - 1);
}

export const tcnNet: NeuralNet<P> = {
  id: 'barflow-tcn',
  name: 'tcn',
  label: 'TCN',
  inputRank: 2,
  params: Params,
  layerClasses: NET_BUILDER_CLASSES,
  check([seqLen], p) {
    const rf = tcnReceptiveField(p);
    if (rf < seqLen!) {
      throw new Error(`TCN: the receptive field is ${rf} steps (kernelSize ${p.kernelSize}, levels ${p.levels}), shorter than the window's ${seqLen}: raise levels or kernelSize, or shorten view.seqLen`);
    }
  },
  graph(input, { params: p, inputShape }, b) {
    let x = input;
    let channels = inputShape[1]!;
    for (let i = 0; i < p.levels; i++) {
      const dilation = 2 ** i;
      let h = x;
      for (let j = 0; j < 2; j++) h = b.dropout(b.relu(b.conv(h, { filters: p.filters, kernelSize: p.kernelSize, dilation, padding: 'causal' })), p.dropout);
      const skip = channels === p.filters ? x : b.conv(x, { filters: p.filters, kernelSize: 1, padding: 'valid' });
      x = b.relu(b.add([h, skip]));
      channels = p.filters;
    }
    return b.lastStep(x);
  },
};

export const tcnKind = neuralKind('tcn', tcnNet, Params, (_input, p) => ({ receptive_field: String(tcnReceptiveField(p)) }));
