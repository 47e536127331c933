/**
 * PatchTST (Nie, Nguyen, Sinthong & Kalagnanam 2023, "A Time Series is Worth 64 Words"): each
 * feature of the window is a channel handled independently with shared weights (channel
 * independence); RevIN normalises each channel by its own window's mean and deviation; the channel
 * is cut into patches (the seeds' patch 16, stride 8, the last value repeated `stride` times at the
 * end first, the paper's end padding); each patch is embedded linearly, a learnt positional
 * embedding is added, and a Transformer encoder (layers/transformerEncoder.ts) attends across the
 * patches of one channel; the flattened patch representations of all channels feed the head.
 *
 * Causality: the window ends at the row, so every patch is the past; the encoder is causal by
 * construction (tested as a property: later bars change no earlier prediction). `causal: true`
 * also masks attention so that no patch sees a later one, the seeds' causal variant.
 *
 * Deviations (docs/models-attention.md): LayerNorm in the encoder where the reference code defaults
 * to BatchNorm; RevIN's de-normalisation of the output is replaced by giving the head the window
 * statistics RevIN took out (each channel's mean and deviation), because the head predicts the
 * row's label, not the channel's own future, and the interval's width must still follow the
 * volatility level that normalising each window removes; the head mixes channels (flatten over channels), as
 * the label is one target per row; far smaller defaults (dModel 8, one layer, one epoch: docs/benchmarks.md) so that a fit of
 * ~50k rows of 144 features takes about two minutes on two cores; raise them where time allows.
 */
import { z } from 'zod';
import { ATTENTION_NET_CLASSES } from '../neural/layers/netBuilder.js';
import { patchStarts } from '../neural/layers/sequenceLayers.js';
import { checkHeads, encoderLayer } from '../neural/layers/transformerEncoder.js';
import { type NeuralNet, TrainingParamsSchema, trainingDefaults } from '../neural/net.js';
import { neuralKind } from '../neural/neuralKind.js';

const Params = TrainingParamsSchema.extend({
  patchLen: z.number().int().positive().default(16),
  stride: z.number().int().positive().default(8),
  dModel: z.number().int().positive().default(8),
  heads: z.number().int().positive().default(2),
  layers: z.number().int().positive().default(1),
  ffUnits: z.number().int().positive().default(16),
  dropout: z.number().min(0).lt(1).default(0.1),
  revin: z.boolean().default(true),
  causal: z.boolean().default(false),
  ...trainingDefaults({ epochs: 1, learningRate: 0.005 }),
}).strict();
type P = z.output<typeof Params>;

export const patchTstNet: NeuralNet<P> = {
  id: 'barflow-patchtst',
  name: 'patchtst',
  label: 'PatchTST',
  inputRank: 2,
  params: Params,
  layerClasses: ATTENTION_NET_CLASSES,
  check([seqLen], p) {
    checkHeads('PatchTST', p);
    patchStarts(seqLen!, p.patchLen, p.stride);
  },
  graph(input, { params: p }, b) {
    const x = p.revin ? b.normalize(input, 'time') : input;
    let h = b.dropout(b.positionalEmbedding(b.dense(b.patches(x, p.patchLen, p.stride), p.dModel)), p.dropout);
    for (let i = 0; i < p.layers; i++) h = encoderLayer(h, p, b);
    const flat = b.dropout(b.flatten(h), p.dropout);
    return p.revin ? b.concat([flat, b.windowStats(input)]) : flat;
  },
};

export const patchTstKind = neuralKind('patchtst', patchTstNet, Params, (input, p) => ({ patches: String(patchStarts(input.dims[1]!, p.patchLen, p.stride).length) }));
