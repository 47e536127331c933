/**
 * InceptionTime (Ismail Fawaz et al. 2020, "InceptionTime: Finding AlexNet for Time Series
 * Classification"), one network of the paper's ensemble: `depth` inception modules, each a 1×1
 * bottleneck (when its input has more than one channel), parallel convolutions of the kernel
 * lengths and a max-pool branch (3 steps, then 1×1), concatenated, batch-normalised and ReLU'd; a
 * residual connection (1×1 convolution plus batch normalisation) every three modules; global
 * average pooling, then the objective's head. Padding is 'same' within the window (which holds
 * only past rows). Deviations: kernel lengths 3, 7, 15 instead of 10, 20, 40 (those are for
 * series of hundreds of steps; the window is 32 by default), odd so that 'same' pads symmetrically,
 * 4 filters per branch instead of 32 and depth 3 instead of 6 (two cores); the ensemble of five is issue 17's voting.
 * docs/models-conv.md.
 */
import { z } from 'zod';
import { TrainingParamsSchema, type NeuralNet, trainingDefaults } from '../neural/net.js';
import { NET_BUILDER_CLASSES } from '../neural/layers/netBuilder.js';
import { neuralKind } from '../neural/neuralKind.js';

const Params = TrainingParamsSchema.extend({
  filters: z.number().int().positive().default(4),
  bottleneck: z.number().int().positive().default(4),
  kernelSizes: z.array(z.number().int().positive()).min(1).default([3, 7, 15]),
  depth: z.number().int().positive().default(3),
  ...trainingDefaults({ epochs: 2 }),
}).strict();
type P = z.output<typeof Params>;

export const inceptionTimeNet: NeuralNet<P> = {
  id: 'barflow-inceptiontime',
  name: 'inceptiontime',
  label: 'InceptionTime',
  inputRank: 2,
  params: Params,
  layerClasses: NET_BUILDER_CLASSES,
  graph(input, { params: p, inputShape }, b) {
    let x = input;
    let channels = inputShape[1]!;
    let residual = x;
    const width = p.filters * (p.kernelSizes.length + 1);
    for (let d = 0; d < p.depth; d++) {
      const squeezed = channels > 1 ? b.conv(x, { filters: p.bottleneck, kernelSize: 1, padding: 'valid', useBias: false }) : x;
      const branches = p.kernelSizes.map((k) => b.conv(squeezed, { filters: p.filters, kernelSize: k, padding: 'same', useBias: false }));
      branches.push(b.conv(b.maxPool(x, 3, 1), { filters: p.filters, kernelSize: 1, padding: 'valid', useBias: false }));
      x = b.relu(b.batchNorm(b.concat(branches)));
      channels = width;
      if (d % 3 === 2) {
        const skip = b.batchNorm(b.conv(residual, { filters: width, kernelSize: 1, padding: 'valid', useBias: false }));
        x = b.relu(b.add([x, skip]));
        residual = x;
      }
    }
    return b.globalAveragePool(x);
  },
};

export const inceptionTimeKind = neuralKind('inceptiontime', inceptionTimeNet, Params);
