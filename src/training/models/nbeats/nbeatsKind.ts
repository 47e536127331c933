/**
 * N-BEATS (Oreshkin, Carpov, Chapados & Bengio 2020, "N-BEATS: Neural basis expansion analysis for
 * interpretable time series forecasting"): stacks of blocks, each a `layers`-deep ReLU MLP on what
 * the earlier blocks left of the window, with two linear heads: a backcast subtracted from that
 * residual and a forecast of H = `horizon` steps summed over all blocks.
 * - generic: θ = Linear(h), then a learned linear basis (`stacks` stacks of `blocks` blocks);
 * - interpretable: a trend stack (polynomial basis of degree `degree`) then a seasonality stack
 *   (Fourier basis), `blocks` blocks each, the bases fixed.
 *
 * The window [L, channels] is the input vector, flattened; an interpretable backcast expands each
 * channel over the L steps. What it forecasts: as DLinear (dlinear/dlinearKind.ts), the H-step
 * forecast is the representation the objective's head reads, trained end to end through the
 * label, since the contract has one target per row. Deviations: the backcast's sign is learned
 * (x − b̂ as x + b̂′: the same function class, tfjs has no Subtract layer); blocks of a stack do not
 * share weights; the feature columns are first mixed into `series` series by a learned linear map
 * (N-BEATS is univariate; 0 keeps the columns); sizes default small (units 64, 3 generic stacks; the paper has 512 and 30) for two
 * cores. docs/models-conv.md.
 */
import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { TrainingParamsSchema, type NeuralNet, trainingDefaults } from '../neural/net.js';
import { NET_BUILDER_CLASSES, type NetBuilder } from '../neural/layers/netBuilder.js';
import { neuralKind } from '../neural/neuralKind.js';
import { seasonalityBasis, trendBasis } from './nbeatsBases.js';

const Params = TrainingParamsSchema.extend({
  variant: z.enum(['generic', 'interpretable']).default('generic'),
  /** The feature columns are first mixed into this many series by a learned linear map (0: none). */
  series: z.number().int().nonnegative().default(4),
  horizon: z.number().int().positive().default(16),
  units: z.number().int().positive().default(64),
  layers: z.number().int().positive().default(4),
  /** Generic stacks (the interpretable variant has its two). */
  stacks: z.number().int().positive().default(3),
  blocks: z.number().int().positive().default(1),
  /** Generic θ size. */
  thetaSize: z.number().int().positive().default(32),
  /** Interpretable trend's polynomial degree. */
  degree: z.number().int().nonnegative().default(3),
  ...trainingDefaults({ epochs: 2, learningRate: 0.002 }),
}).strict();
type P = z.output<typeof Params>;
type T = tf.SymbolicTensor;
type Basis = 'generic' | 'trend' | 'seasonality';

/** The ReLU MLP every block (N-BEATS and N-HiTS) starts with. */
export function blockMlp(b: NetBuilder, x: T, units: number, layers: number): T {
  let h = x;
  for (let i = 0; i < layers; i++) h = b.dense(h, units, 'relu');
  return h;
}

function expand(b: NetBuilder, h: T, basis: Basis, p: P, steps: number, channels: number): T {
  if (basis === 'generic') return b.dense(b.dense(h, p.thetaSize), steps * channels);
  const base = basis === 'trend' ? trendBasis(p.degree, steps) : seasonalityBasis(steps);
  const k = base.shape[0];
  if (channels === 1) return b.fixedDense(b.dense(h, k), basis, base);
  // θ per channel, [channels, k], expanded over the steps, back to the window's [steps, channels] order.
  const perChannel = b.fixedDense(b.reshape(b.dense(h, channels * k), [channels, k]), basis, base);
  return b.flatten(b.transpose(perChannel));
}

export const nbeatsNet: NeuralNet<P> = {
  id: 'barflow-nbeats',
  name: 'nbeats',
  label: 'N-BEATS',
  inputRank: 2,
  params: Params,
  layerClasses: NET_BUILDER_CLASSES,
  graph(input, { params: p, inputShape }, b) {
    const len = inputShape[0]!;
    const channels = p.series > 0 ? p.series : inputShape[1]!;
    const stacks: Basis[] = p.variant === 'generic' ? Array.from({ length: p.stacks }, () => 'generic') : ['trend', 'seasonality'];
    let residual = b.flatten(p.series > 0 ? b.dense(input, p.series) : input);
    const forecasts: T[] = [];
    stacks.forEach((basis, s) => {
      for (let k = 0; k < p.blocks; k++) {
        const h = blockMlp(b, residual, p.units, p.layers);
        // The last block's backcast would feed nothing: it is not built.
        const last = s === stacks.length - 1 && k === p.blocks - 1;
        if (!last) residual = b.add([residual, expand(b, h, basis, p, len, channels)]);
        forecasts.push(expand(b, h, basis, p, p.horizon, 1));
      }
    });
    return b.add(forecasts);
  },
};

export const nbeatsKind = neuralKind('nbeats', nbeatsNet, Params);
