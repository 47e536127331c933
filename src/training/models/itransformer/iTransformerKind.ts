/**
 * iTransformer (Liu, Hu, Zhang, Wu, Wang, Ma & Long 2024, "iTransformer: Inverted Transformers Are
 * Effective for Time Series Forecasting"): the window is inverted, each feature's whole window
 * becomes one token (a Dense from seqLen to dModel), attention runs across the variates, the
 * feed-forward network applies per token, and a final LayerNorm closes the encoder. Each variate is
 * first normalised over its own window (the reference code's `use_norm`, RevIN-style).
 *
 * Causal by construction: every token is a feature's past window ending at the row.
 *
 * Deviations (docs/models-attention.md): the head reads the flattened tokens (one label per row)
 * instead of projecting each token to its own horizon; the head gets each variate's window mean
 * and deviation in place of the de-normalisation of the output (as PatchTST here); far smaller defaults (dModel 12, one layer, one epoch: docs/benchmarks.md).
 */
import { z } from 'zod';
import { ATTENTION_NET_CLASSES } from '../neural/layers/netBuilder.js';
import { checkHeads, encoderLayer } from '../neural/layers/transformerEncoder.js';
import { type NeuralNet, TrainingParamsSchema, trainingDefaults } from '../neural/net.js';
import { neuralKind } from '../neural/neuralKind.js';

const Params = TrainingParamsSchema.extend({
  dModel: z.number().int().positive().default(12),
  heads: z.number().int().positive().default(2),
  layers: z.number().int().positive().default(1),
  ffUnits: z.number().int().positive().default(16),
  dropout: z.number().min(0).lt(1).default(0.1),
  revin: z.boolean().default(true),
  ...trainingDefaults({ epochs: 1, learningRate: 0.005 }),
}).strict();
type P = z.output<typeof Params>;

export const iTransformerNet: NeuralNet<P> = {
  id: 'barflow-itransformer',
  name: 'itransformer',
  label: 'iTransformer',
  inputRank: 2,
  params: Params,
  layerClasses: ATTENTION_NET_CLASSES,
  check(_shape, p) {
    checkHeads('iTransformer', p);
  },
  graph(input, { params: p }, b) {
    const x = p.revin ? b.normalize(input, 'time') : input;
    let h = b.dropout(b.dense(b.transpose(x), p.dModel), p.dropout);
    for (let i = 0; i < p.layers; i++) h = encoderLayer(h, p, b);
    const flat = b.dropout(b.flatten(b.normalize(h, 'features')), p.dropout);
    return p.revin ? b.concat([flat, b.windowStats(input)]) : flat;
  },
};

export const iTransformerKind = neuralKind('itransformer', iTransformerNet, Params);
