/**
 * ResNet1D (Wang, Yan & Oates 2017, "Time Series Classification from Scratch with Deep Neural
 * Networks: A Strong Baseline"): three residual blocks, each three convolutions of kernels 8, 5
 * and 3 ('same' padding within the window, which holds only past rows), each batch-normalised,
 * ReLU between them; the skip path is a 1×1 convolution plus batch normalisation where the channels
 * change, batch normalisation alone where they do not; the sum is ReLU'd. Global average pooling
 * over the steps, then the objective's head. Deviation: `filters` channels in block 1 and 2·filters
 * in blocks 2 and 3 (the paper's 64, 128, 128 with the default 64; default here 8, to train in
 * under a minute on two cores). docs/models-conv.md.
 */
import { z } from 'zod';
import { TrainingParamsSchema, type NeuralNet, trainingDefaults } from '../neural/net.js';
import { NET_BUILDER_CLASSES } from '../neural/layers/netBuilder.js';
import { neuralKind } from '../neural/neuralKind.js';

const KERNELS = [8, 5, 3] as const;

const Params = TrainingParamsSchema.extend({
  filters: z.number().int().positive().default(8),
  ...trainingDefaults({ epochs: 2 }),
}).strict();
type P = z.output<typeof Params>;

export const resnet1dNet: NeuralNet<P> = {
  id: 'barflow-resnet1d',
  name: 'resnet1d',
  label: 'ResNet1D',
  inputRank: 2,
  params: Params,
  layerClasses: NET_BUILDER_CLASSES,
  graph(input, { params: p, inputShape }, b) {
    let x = input;
    let channels = inputShape[1]!;
    for (const filters of [p.filters, 2 * p.filters, 2 * p.filters]) {
      let h = x;
      KERNELS.forEach((k, j) => {
        h = b.batchNorm(b.conv(h, { filters, kernelSize: k, padding: 'same' }));
        if (j < KERNELS.length - 1) h = b.relu(h);
      });
      const skip = b.batchNorm(channels === filters ? x : b.conv(x, { filters, kernelSize: 1, padding: 'valid' }));
      x = b.relu(b.add([h, skip]));
      channels = filters;
    }
    return b.globalAveragePool(x);
  },
};

export const resnet1dKind = neuralKind('resnet1d', resnet1dNet, Params);
