/**
 * The Temporal Fusion Transformer (Lim, Arık, Loeff & Pfister 2021), reduced to what a window of
 * observed features and one label per row can use. Kept from the paper:
 * - gated residual networks, GRN(a) = LayerNorm(skip(a) + GLU(Dropout(W₁·ELU(W₂a + b₂) + b₁)))
 *   with GLU(γ) = σ(W₄γ + b₄) ⊙ (W₅γ + b₅) (eq. 2–5);
 * - a variable selection network at every step: each feature embedded by its own linear map, a
 *   GRN and a softmax give the selection weights, which weight the features' embeddings
 *   (eq. 6–8; the GRN reads the step's features, which spans what reading their flattened linear
 *   embeddings does);
 * - an LSTM encoder over the selected inputs with a gated skip connection (eq. 17);
 * - interpretable multi-head attention (shared values, heads averaged: eq. 13–16), masked so that a
 *   step attends only to itself and earlier steps, with a gated skip, then a position-wise GRN and
 *   a gated skip to the LSTM's output (eq. 18–21);
 * - quantile outputs (a linear layer per level, the pinball loss) from the last step.
 * Reductions (docs/models-attention.md): no static covariates (so no static encoders, no static
 * enrichment context: the enrichment GRN has no context input); no known-future inputs and no
 * decoder steps (one label per row: the last step is the query); the per-feature GRNs of the
 * selection network are off by default (`variableGrn`) and, when on, share their weights across
 * features; one LSTM layer.
 *
 * Inspection: TftExplainer (tftExplain.ts) returns the last step's attention over the window and
 * the selection weights per feature, which `barflow predict --explain` writes.
 */
import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { NetBuilder } from '../neural/layers/netBuilder.js';
import { ATTENTION_NET_CLASSES } from '../neural/layers/netBuilder.js';
import { type NeuralNet, TrainingParamsSchema, trainingDefaults } from '../neural/net.js';
import { neuralKind } from '../neural/neuralKind.js';

const Params = TrainingParamsSchema.extend({
  hidden: z.number().int().positive().default(8),
  heads: z.number().int().positive().default(2),
  dropout: z.number().min(0).lt(1).default(0.1),
  /**
   * Each feature's embedding through a GRN (shared across features) before it is weighted, as the
   * paper's ξ̃; off by default: over [steps, features, hidden] it is most of the net's cost with
   * the default 144 features, and the selection weights come from their own GRN either way.
   */
  variableGrn: z.boolean().default(false),
  ...trainingDefaults({ epochs: 1, batchSize: 128, learningRate: 0.006 }),
}).strict();
type P = z.output<typeof Params>;
type T = tf.SymbolicTensor;

/** GLU(γ) = σ(W₄γ + b₄) ⊙ (W₅γ + b₅). */
function glu(x: T, units: number, b: NetBuilder): T {
  return b.multiply([b.dense(x, units, 'sigmoid'), b.dense(x, units)]);
}

/** Gated residual network with `units` outputs (a Dense skip when the width changes). */
function grn(a: T, hidden: number, units: number, dropout: number, b: NetBuilder): T {
  const skip = a.shape.at(-1) === units ? a : b.dense(a, units);
  const eta = b.dropout(b.dense(b.activation(b.dense(a, hidden), 'elu'), hidden), dropout);
  return b.normalize(b.add([skip, glu(eta, units, b)]), 'features');
}

/** The softmax Activation holding the selection weights, and the attention layer: found by TftExplainer. */
export const TFT_SELECTION_LAYER = 'softmax_1';
export const TFT_ATTENTION_LAYER = 'attention_1';

export const tftNet: NeuralNet<P> = {
  id: 'barflow-tft',
  name: 'tft',
  label: 'TFT',
  inputRank: 2,
  params: Params,
  layerClasses: ATTENTION_NET_CLASSES,
  check(_shape, p) {
    if (p.hidden % p.heads !== 0) throw new Error(`TFT: hidden ${p.hidden} is not a multiple of heads ${p.heads}`);
  },
  graph(input, { params: p, inputShape }, b) {
    const features = inputShape[1]!;
    const d = p.hidden;
    const embedded = b.variableEmbedding(input, d);
    // The paper's selection GRN reads the flattened embeddings Ξ_t; its first layers are linear in
    // Ξ_t, which is linear in x_t, so reading x_t spans the same functions at 1/hidden of the cost
    // (with 144 features the skip projection from Ξ_t alone was most of a step's work).
    const weights = b.activation(grn(input, d, features, p.dropout, b), 'softmax');
    // Layer-normalised: the selection starts uniform, 1/features each, so with 144 features the
    // weighted sum entered the LSTM at about 1/12 of one embedding's scale and one epoch barely
    // moved it (a deviation: the paper feeds the sum as it is, with few variables).
    const selected = b.normalize(b.weightedSum(weights, p.variableGrn ? grn(embedded, d, d, p.dropout, b) : embedded), 'features');
    const encoded = b.recurrent(selected, 'lstm', d);
    const phi = b.normalize(b.add([selected, glu(b.dropout(encoded, p.dropout), d, b)]), 'features');
    const enriched = grn(phi, d, d, p.dropout, b);
    const attended = b.selfAttention(enriched, { heads: p.heads, keyDim: d / p.heads, causal: true, sharedValues: true });
    const delta = b.normalize(b.add([enriched, glu(b.dropout(attended, p.dropout), d, b)]), 'features');
    const psi = grn(delta, d, d, p.dropout, b);
    return b.lastStep(b.normalize(b.add([phi, glu(psi, d, b)]), 'features'));
  },
};

const base = neuralKind('tft', tftNet, Params);

export const tftKind: typeof base = {
  ...base,
  async load(artifact, objective) {
    const scorer = await base.load(artifact, objective);
    let explainer: Promise<import('./tftExplain.js').TftExplainer> | undefined;
    return {
      outputs: scorer.outputs,
      score: (x, dims) => scorer.score(x, dims),
      explain: async (x, dims) => {
        // Loaded on the first call: scoring alone never needs TensorFlow.js.
        explainer ??= import('./tftExplain.js').then((m) => m.TftExplainer.open(artifact.files));
        return (await explainer).explain(x, dims);
      },
    };
  },
};
