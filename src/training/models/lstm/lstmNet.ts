/**
 * The LSTM as a neural net (neural/net.ts): `layers` stacked LSTM layers on window-view rows
 * [seqLen, features], each followed by a dropout when `dropout` > 0 (between layers and before the
 * head: PyTorch's `nn.LSTM(dropout=…)` semantics, applied by the loop's seeded masks, never inside
 * the cell, where tfjs would draw unseeded).
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { type NeuralNet, TrainingParamsSchema } from '../neural/net.js';

export const LstmParamsSchema = TrainingParamsSchema.extend({
  units: z.number().int().positive(),
  layers: z.number().int().positive().default(1),
  /** Rate of the dropout after each LSTM layer, in [0, 1). */
  dropout: z.number().min(0).lt(1).default(0),
});
export type LstmParams = z.input<typeof LstmParamsSchema>;
type Params = z.output<typeof LstmParamsSchema>;

export const lstmNet: NeuralNet<Params> = {
  id: 'barflow-lstm',
  name: 'lstm',
  label: 'LSTM',
  inputRank: 2,
  params: LstmParamsSchema,
  layerClasses: ['LSTM', 'Dropout', 'Dense', 'Activation'],
  body({ inputShape, params: p, nextSeed }) {
    const layers: tf.layers.Layer[] = [];
    for (let i = 0; i < p.layers; i++) {
      layers.push(
        tf.layers.lstm({
          name: `lstm_${i}`,
          units: p.units,
          returnSequences: i < p.layers - 1,
          // tfjs defaults to hardSigmoid (Keras 1); the standard cell, and ONNX's LSTM, use sigmoid.
          recurrentActivation: 'sigmoid',
          kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }),
          recurrentInitializer: tf.initializers.orthogonal({ seed: nextSeed(), gain: 1 }),
          ...(i === 0 ? { inputShape } : {}),
        }),
      );
      if (p.dropout > 0) layers.push(tf.layers.dropout({ name: `dropout_${i}`, rate: p.dropout }));
    }
    return layers;
  },
  // The forget-gate bias starts at 1 (Jozefowicz et al. 2015): tfjs's own unitForgetBias
  // initializer leaks four tensors per layer, at every build and every load.
  initialize(model, p) {
    for (let i = 0; i < p.layers; i++) {
      const bias = model.getLayer(`lstm_${i}`).weights.find((w) => w.originalName === `lstm_${i}/bias`)!;
      tf.tidy(() => void bias.write(tf.tensor1d(Float32Array.from({ length: 4 * p.units }, (_, k) => (k >= p.units && k < 2 * p.units ? 1 : 0)))));
    }
  },
};
