/**
 * DLinear (Zeng, Chen, Zhang & Xu 2023, "Are Transformers Effective for Time Series
 * Forecasting?"): each input channel's window is split into a trend, its moving average over
 * `movingAverage` steps (the series' ends repeated as padding, as the paper's code does), and the
 * remainder; one linear layer maps each part from the window's L steps to H = `horizon` forecast
 * steps, shared by the channels (the paper's default, not `individual`), and the two are summed.
 *
 * What it forecasts here: the contract has one target per row (the label's return, or its sign),
 * not H observed future steps, so the [channels, H] forecast is not fitted step by step: it is the
 * representation the objective's head reads (sigmoid for p_up, linear for e_r, one unit per
 * quantile under the pinball loss), trained end to end. The decomposition is two fixed linear maps
 * (non-trainable Dense layers), so the net is exactly the paper's linear model plus that head.
 * Deviation: the window's feature columns (~145 by default) are first mixed into `series` series by
 * a learned linear map (0 keeps the columns as the series), since DLinear is a per-series model.
 * docs/models-conv.md.
 */
import { z } from 'zod';
import { TrainingParamsSchema, type NeuralNet, trainingDefaults } from '../neural/net.js';
import { NET_BUILDER_CLASSES } from '../neural/layers/netBuilder.js';
import { neuralKind } from '../neural/neuralKind.js';

const Params = TrainingParamsSchema.extend({
  /** The feature columns are first mixed into this many series by a learned linear map (0: none). */
  series: z.number().int().nonnegative().default(4),
  horizon: z.number().int().positive().default(16),
  /** Odd, so the average is centred. */
  movingAverage: z.number().int().positive().refine((k) => k % 2 === 1, 'movingAverage must be odd').default(25),
  ...trainingDefaults({ epochs: 3 }),
}).strict();
type P = z.output<typeof Params>;

/**
 * The moving average as a Dense kernel [L, L] (input step i, output step j): the mean of the k
 * steps centred on j, steps before 0 or after L − 1 read as the first or last value.
 */
export function movingAverageKernel(len: number, k: number): Float32Array {
  const kernel = new Float64Array(len * len);
  const half = (k - 1) / 2;
  for (let j = 0; j < len; j++) {
    for (let o = -half; o <= half; o++) {
      const i = Math.min(len - 1, Math.max(0, j + o));
      kernel[i * len + j]! += 1 / k;
    }
  }
  return Float32Array.from(kernel);
}

export const dlinearNet: NeuralNet<P> = {
  id: 'barflow-dlinear',
  name: 'dlinear',
  label: 'DLinear',
  inputRank: 2,
  params: Params,
  layerClasses: NET_BUILDER_CLASSES,
  graph(input, { params: p, inputShape }, b) {
    const len = inputShape[0]!;
    const mixed = p.series > 0 ? b.dense(input, p.series) : input; // [L, series]
    const ma = movingAverageKernel(len, p.movingAverage);
    const rest = Float32Array.from(ma, (v, idx) => (Math.floor(idx / len) === idx % len ? 1 : 0) - v);
    const series = b.transpose(mixed); // [channels, L]
    const trend = b.fixedDense(series, 'trend', { shape: [len, len], values: ma });
    const remainder = b.fixedDense(series, 'remainder', { shape: [len, len], values: rest });
    const forecast = b.add([b.dense(trend, p.horizon), b.dense(remainder, p.horizon)]); // [channels, H]
    return b.flatten(forecast);
  },
};

export const dlinearKind = neuralKind('dlinear', dlinearNet, Params);
