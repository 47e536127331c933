/**
 * N-HiTS (Challu, Olivares, Oreshkin, Garza, Mergenthaler-Canseco & Dubrawski 2023, "N-HiTS:
 * Neural Hierarchical Interpolation for Time Series Forecasting"): N-BEATS' doubly residual stacks
 * where stack s first max-pools the residual window by `poolSizes[s]` (multi-rate sampling) and
 * forecasts only ⌊H / downsample[s]⌋ knots, linearly interpolated to the H = `horizon` steps
 * (hierarchical interpolation); the backcast is full resolution, as in NeuralForecast.
 *
 * What it forecasts, and the deviations: as N-BEATS (nbeats/nbeatsKind.ts): the summed H-step
 * forecast is what the objective's head reads; the backcast's sign is learned; the feature columns
 * are first mixed into `series` series by a learned linear map; sizes default
 * small (units 64, 2 layers; the paper has 512). docs/models-conv.md.
 */
import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { TrainingParamsSchema, type NeuralNet, trainingDefaults } from '../neural/net.js';
import { NET_BUILDER_CLASSES } from '../neural/layers/netBuilder.js';
import { neuralKind } from '../neural/neuralKind.js';
import { blockMlp } from '../nbeats/nbeatsKind.js';
import { interpolationBasis } from '../nbeats/nbeatsBases.js';

const Params = TrainingParamsSchema.extend({
  /** The feature columns are first mixed into this many series by a learned linear map (0: none). */
  series: z.number().int().nonnegative().default(4),
  horizon: z.number().int().positive().default(16),
  units: z.number().int().positive().default(64),
  layers: z.number().int().positive().default(2),
  /** Per stack: the max-pool kernel on the input (1: none). */
  poolSizes: z.array(z.number().int().positive()).min(1).default([4, 2, 1]),
  /** Per stack: the forecast's downsampling (knots = ⌊horizon / rate⌋, at least 1). */
  downsample: z.array(z.number().int().positive()).min(1).default([4, 2, 1]),
  blocks: z.number().int().positive().default(1),
  ...trainingDefaults({ epochs: 2, learningRate: 0.002 }),
})
  .strict()
  .refine((p) => p.poolSizes.length === p.downsample.length, { message: 'poolSizes and downsample need one entry per stack each' });
type P = z.output<typeof Params>;
type T = tf.SymbolicTensor;

export const nhitsNet: NeuralNet<P> = {
  id: 'barflow-nhits',
  name: 'nhits',
  label: 'N-HiTS',
  inputRank: 2,
  params: Params as unknown as z.ZodType<P>,
  layerClasses: NET_BUILDER_CLASSES,
  graph(input, { params: p, inputShape }, b) {
    const len = inputShape[0]!;
    const channels = p.series > 0 ? p.series : inputShape[1]!;
    let residual: T = p.series > 0 ? b.dense(input, p.series) : input; // [L, channels]
    const forecasts: T[] = [];
    p.poolSizes.forEach((pool, s) => {
      const knots = Math.max(1, Math.floor(p.horizon / p.downsample[s]!));
      for (let k = 0; k < p.blocks; k++) {
        const sampled = pool > 1 ? b.maxPool(residual, pool, pool) : residual;
        const h = blockMlp(b, b.flatten(sampled), p.units, p.layers);
        // The last block's backcast would feed nothing: it is not built.
        const last = s === p.poolSizes.length - 1 && k === p.blocks - 1;
        if (!last) residual = b.add([residual, b.reshape(b.dense(h, len * channels), [len, channels])]);
        const theta = b.dense(h, knots);
        forecasts.push(knots === p.horizon ? theta : b.fixedDense(theta, 'interpolate', interpolationBasis(knots, p.horizon)));
      }
    });
    return b.add(forecasts);
  },
};

export const nhitsKind = neuralKind('nhits', nhitsNet, Params as unknown as z.ZodType<P>);
