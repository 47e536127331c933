/**
 * Building graph nets (neural/net.ts `graph`) deterministically: every layer gets a name from the
 * net's own counter (tfjs numbers unnamed layers from a process-wide counter, which would change
 * model.json's bytes between two builds of the same model) and every trainable kernel its own seed
 * (NetContext.nextSeed). Fixed linear maps (a moving average, a polynomial or Fourier basis, an
 * interpolation) are non-trainable Dense layers whose kernels `setFixedKernels` writes after the
 * build, so TensorFlow.js and the ONNX export run them as any other Dense.
 */
import * as tf from '@tensorflow/tfjs';
import { SelfAttention } from './selfAttention.js';
import { type NormalizeOver, Normalization, Patches, PositionalEmbedding, VariableEmbedding, WeightedSum, WindowStats } from './sequenceLayers.js';
import { type ConvPadding, LastStep, ShiftedConv1D } from './shiftedConv1d.js';

type T = tf.SymbolicTensor;

export class NetBuilder {
  private readonly counts = new Map<string, number>();
  /** Fixed kernels by layer name, [in, out] row-major, written by setFixedKernels. */
  readonly fixed = new Map<string, { shape: [number, number]; values: Float32Array }>();

  constructor(private readonly nextSeed: () => number) {}

  name(hint: string): string {
    const k = (this.counts.get(hint) ?? 0) + 1;
    this.counts.set(hint, k);
    return `${hint}_${k}`;
  }

  private glorot() {
    return tf.initializers.glorotUniform({ seed: this.nextSeed() });
  }

  conv(x: T, o: { filters: number; kernelSize: number; dilation?: number; padding: ConvPadding; useBias?: boolean }): T {
    return new ShiftedConv1D({ name: this.name('conv'), filters: o.filters, kernelSize: o.kernelSize, dilationRate: o.dilation ?? 1, padding: o.padding, useBias: o.useBias ?? true, kernelInitializer: this.glorot() }).apply(x) as T;
  }

  dense(x: T, units: number, activation: 'linear' | 'relu' | 'gelu' | 'elu' | 'sigmoid' = 'linear'): T {
    return tf.layers.dense({ name: this.name('dense'), units, activation, kernelInitializer: this.glorot() }).apply(x) as T;
  }

  /** x · K over the last axis with a fixed K [in, out] (no bias, not trained). */
  fixedDense(x: T, hint: string, kernel: { shape: [number, number]; values: Float32Array }): T {
    const name = this.name(hint);
    this.fixed.set(name, kernel);
    return tf.layers.dense({ name, units: kernel.shape[1], useBias: false, trainable: false, kernelInitializer: tf.initializers.zeros() }).apply(x) as T;
  }

  batchNorm(x: T): T {
    return tf.layers.batchNormalization({ name: this.name('bn'), axis: -1 }).apply(x) as T;
  }

  activation(x: T, activation: 'elu' | 'sigmoid' | 'softmax' | 'gelu'): T {
    return tf.layers.activation({ name: this.name(activation), activation }).apply(x) as T;
  }

  multiply(xs: T[]): T {
    return tf.layers.multiply({ name: this.name('multiply') }).apply(xs) as T;
  }

  selfAttention(x: T, o: { heads: number; keyDim: number; causal?: boolean; sharedValues?: boolean }): T {
    return new SelfAttention({ name: this.name('attention'), ...o, initializers: () => this.glorot() }).apply(x) as T;
  }

  normalize(x: T, over: NormalizeOver): T {
    return new Normalization({ name: this.name(over === 'time' ? 'revin' : 'layer_norm'), over }).apply(x) as T;
  }

  /** Each feature's window mean and deviation, [2C] (what RevIN takes out). */
  windowStats(x: T): T {
    return new WindowStats({ name: this.name('window_stats') }).apply(x) as T;
  }

  /** A learnt positional embedding, uniform in ±0.02 at the start (PatchTST's W_pos). */
  positionalEmbedding(x: T): T {
    return new PositionalEmbedding({ name: this.name('pos'), initializer: tf.initializers.randomUniform({ minval: -0.02, maxval: 0.02, seed: this.nextSeed() }) }).apply(x) as T;
  }

  patches(x: T, patchLen: number, stride: number): T {
    return new Patches({ name: this.name('patches'), patchLen, stride }).apply(x) as T;
  }

  variableEmbedding(x: T, units: number): T {
    return new VariableEmbedding({ name: this.name('var_embed'), units, initializer: this.glorot() }).apply(x) as T;
  }

  weightedSum(weights: T, values: T): T {
    return new WeightedSum({ name: this.name('weighted_sum') }).apply([weights, values]) as T;
  }

  /** A recurrent layer over the whole sequence (returnSequences), the standard sigmoid gates. */
  recurrent(x: T, cell: 'lstm' | 'gru', units: number): T {
    const seeds = { kernel: this.nextSeed(), recurrent: this.nextSeed() };
    const args = {
      name: this.name(cell),
      units,
      returnSequences: true,
      recurrentActivation: 'sigmoid',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seeds.kernel }),
      recurrentInitializer: tf.initializers.orthogonal({ seed: seeds.recurrent, gain: 1 }),
    } as const;
    return (cell === 'lstm' ? tf.layers.lstm(args) : tf.layers.gru(args)).apply(x) as T;
  }

  relu(x: T): T {
    return tf.layers.activation({ name: this.name('relu'), activation: 'relu' }).apply(x) as T;
  }

  dropout(x: T, rate: number): T {
    return rate > 0 ? (tf.layers.dropout({ name: this.name('dropout'), rate }).apply(x) as T) : x;
  }

  add(xs: T[]): T {
    return xs.length === 1 ? xs[0]! : (tf.layers.add({ name: this.name('add') }).apply(xs) as T);
  }

  concat(xs: T[]): T {
    return xs.length === 1 ? xs[0]! : (tf.layers.concatenate({ name: this.name('concat'), axis: -1 }).apply(xs) as T);
  }

  maxPool(x: T, poolSize: number, strides: number): T {
    return tf.layers.maxPooling1d({ name: this.name('maxpool'), poolSize, strides, padding: 'same' }).apply(x) as T;
  }

  globalAveragePool(x: T): T {
    return tf.layers.globalAveragePooling1d({ name: this.name('gap') }).apply(x) as T;
  }

  lastStep(x: T): T {
    return new LastStep({ name: this.name('last_step') }).apply(x) as T;
  }

  flatten(x: T): T {
    return tf.layers.flatten({ name: this.name('flatten') }).apply(x) as T;
  }

  reshape(x: T, targetShape: number[]): T {
    return tf.layers.reshape({ name: this.name('reshape'), targetShape }).apply(x) as T;
  }

  /** Swaps the two non-batch axes: [L, C] ↔ [C, L]. */
  transpose(x: T): T {
    return tf.layers.permute({ name: this.name('permute'), dims: [2, 1] }).apply(x) as T;
  }
}

/** The layer classes NetBuilder makes (a graph net's `layerClasses`). */
export const NET_BUILDER_CLASSES = [
  'BarflowConv1D',
  'BarflowLastStep',
  'Dense',
  'BatchNormalization',
  'Activation',
  'Dropout',
  'Add',
  'Concatenate',
  'MaxPooling1D',
  'GlobalAveragePooling1D',
  'Flatten',
  'Reshape',
  'Permute',
] as const;

/** NetBuilder's classes with the attention nets' layers. */
export const ATTENTION_NET_CLASSES = [
  ...NET_BUILDER_CLASSES,
  'Multiply',
  'LSTM',
  'GRU',
  'BarflowSelfAttention',
  'BarflowNormalization',
  'BarflowPositionalEmbedding',
  'BarflowWindowStats',
  'BarflowPatches',
  'BarflowVariableEmbedding',
  'BarflowWeightedSum',
  'BarflowMonotoneQuantiles',
  'BarflowLocationScale',
] as const;

/** Writes the builder's fixed kernels into the built model (NeuralNet.initialize). */
export function setFixedKernels(model: tf.LayersModel, fixed: NetBuilder['fixed']): void {
  for (const [name, k] of fixed) {
    const t = tf.tensor2d(k.values, k.shape);
    model.getLayer(name).setWeights([t]);
    t.dispose();
  }
}
