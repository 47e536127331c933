/**
 * The small layers the attention nets are assembled from besides attention itself, each from ops
 * the WASM backend can differentiate, each with an ONNX converter (onnxLayers/attention.ts):
 *
 * - Normalization: (x − mean) / √(var + ε) · γ + β over one axis, with γ, β per feature (the last
 *   axis). `over: 'features'` is layer normalisation (Ba et al. 2016); `over: 'time'` normalises
 *   each feature by its own window's statistics, PatchTST's and iTransformer's RevIN (Kim et al.
 *   2022) — computed from the row's window only, so causal. tfjs-layers has layerNormalization, but
 *   not over the time axis, and one class for both keeps the export one converter.
 * - WindowStats: [N, T, C] → [N, 2C], each feature's mean then deviation over the window: what
 *   RevIN takes out, handed to the head in place of RevIN's de-normalisation of the output.
 * - PositionalEmbedding: a learnt [T, D] added to [..., T, D] (PatchTST's W_pos).
 * - Patches: [N, L, C] → [N, C, P, patchLen], channel-independent patches (PatchTST), the window's
 *   last value repeated `stride` times at the end first (the paper's `padding_patch = 'end'`).
 * - VariableEmbedding: [N, T, C] → [N, T, C, d], each variable's scalar through its own linear map
 *   (the TFT's input transformation for continuous variables).
 * - WeightedSum: ([N, T, C] weights, [N, T, C, d] values) → [N, T, d], the TFT's variable selection.
 */
import * as tf from '@tensorflow/tfjs';

type Initializer = ReturnType<typeof tf.initializers.zeros>;
const shapeOf = (s: tf.Shape | tf.Shape[]): tf.Shape => (Array.isArray(s[0]) ? s[0] : s) as tf.Shape;
const firstOf = (inputs: tf.Tensor | tf.Tensor[]): tf.Tensor => (Array.isArray(inputs) ? inputs[0]! : inputs);

export type NormalizeOver = 'features' | 'time';

export class Normalization extends tf.layers.Layer {
  static readonly className = 'BarflowNormalization';
  readonly over: NormalizeOver;
  readonly epsilon: number;
  private gamma: tf.LayerVariable | null = null;
  private beta: tf.LayerVariable | null = null;

  constructor(args: { over: NormalizeOver; epsilon?: number; name?: string; trainable?: boolean }) {
    super(args);
    this.over = args.over;
    this.epsilon = args.epsilon ?? 1e-5;
    if (this.over !== 'features' && this.over !== 'time') throw new Error(`${Normalization.className} '${this.name}': over must be features or time, got ${String(this.over)}`);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = shapeOf(inputShape);
    const d = shape.at(-1);
    if (d == null || (this.over === 'time' && shape.length < 3)) throw new Error(`${Normalization.className} '${this.name}': needs [batch, …, ${this.over === 'time' ? 'T, ' : ''}D] input, got [${shape.join(', ')}]`);
    this.gamma = this.addWeight('gamma', [d], 'float32', tf.initializers.ones());
    this.beta = this.addWeight('beta', [d], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return shapeOf(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = firstOf(inputs);
      const axis = this.over === 'features' ? x.rank - 1 : x.rank - 2;
      const mean = tf.mean(x, axis, true);
      const centred = tf.sub(x, mean);
      const variance = tf.mean(tf.square(centred), axis, true);
      const y = tf.div(centred, tf.sqrt(tf.add(variance, this.epsilon)));
      return tf.add(tf.mul(y, this.gamma!.read()), this.beta!.read());
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), over: this.over, epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(Normalization);

export class WindowStats extends tf.layers.Layer {
  static readonly className = 'BarflowWindowStats';
  readonly epsilon: number;

  constructor(args: { epsilon?: number; name?: string; trainable?: boolean }) {
    super(args);
    this.epsilon = args.epsilon ?? 1e-5;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = shapeOf(inputShape);
    if (shape.length !== 3) throw new Error(`${WindowStats.className} '${this.name}': needs [batch, T, C] input, got [${shape.join(', ')}]`);
    return [shape[0]!, 2 * shape[2]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = firstOf(inputs);
      const mean = tf.mean(x, 1, true);
      const deviation = tf.sqrt(tf.add(tf.mean(tf.square(tf.sub(x, mean)), 1), this.epsilon));
      return tf.concat([tf.squeeze(mean, [1]), deviation], 1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(WindowStats);

export class PositionalEmbedding extends tf.layers.Layer {
  static readonly className = 'BarflowPositionalEmbedding';
  private readonly init: Initializer;
  private pos: tf.LayerVariable | null = null;

  constructor(args: { initializer?: Initializer; name?: string; trainable?: boolean }) {
    super(args);
    this.init = args.initializer ?? tf.initializers.zeros();
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = shapeOf(inputShape);
    const [t, d] = shape.slice(-2);
    if (shape.length < 3 || t == null || d == null) throw new Error(`${PositionalEmbedding.className} '${this.name}': needs [batch, …, T, D] input, got [${shape.join(', ')}]`);
    this.pos = this.addWeight('pos', [t, d], 'float32', this.init);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return shapeOf(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.add(firstOf(inputs), this.pos!.read()));
  }
}
tf.serialization.registerClass(PositionalEmbedding);

/** The patch starts over a window of `len` steps padded by `stride` at the end: P = ⌊(len + stride − patchLen) / stride⌋ + 1. */
export function patchStarts(len: number, patchLen: number, stride: number): number[] {
  const padded = len + stride;
  if (patchLen > padded) throw new Error(`PatchTST: patchLen ${patchLen} is longer than the padded window (${len} + stride ${stride}): lower patchLen or raise view.seqLen`);
  return Array.from({ length: Math.floor((padded - patchLen) / stride) + 1 }, (_, i) => i * stride);
}

export class Patches extends tf.layers.Layer {
  static readonly className = 'BarflowPatches';
  readonly patchLen: number;
  readonly stride: number;

  constructor(args: { patchLen: number; stride: number; name?: string; trainable?: boolean }) {
    super(args);
    this.patchLen = args.patchLen;
    this.stride = args.stride;
    for (const [k, v] of Object.entries({ patchLen: this.patchLen, stride: this.stride })) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`${Patches.className} '${this.name}': ${k} must be a positive integer, got ${v}`);
    }
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, len, c] = shapeOf(inputShape);
    return [n!, c!, patchStarts(len!, this.patchLen, this.stride).length, this.patchLen];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = firstOf(inputs) as tf.Tensor3D;
      const [n, len, c] = x.shape;
      const xt = tf.transpose(x, [0, 2, 1]);
      const last = tf.slice(xt, [0, 0, len - 1], [n, c, 1]);
      const padded = tf.concat([xt, ...Array.from({ length: this.stride }, () => last)], 2);
      const parts = patchStarts(len, this.patchLen, this.stride).map((s) => tf.slice(padded, [0, 0, s], [n, c, this.patchLen]));
      return tf.stack(parts, 2);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), patchLen: this.patchLen, stride: this.stride };
  }
}
tf.serialization.registerClass(Patches);

export class VariableEmbedding extends tf.layers.Layer {
  static readonly className = 'BarflowVariableEmbedding';
  readonly units: number;
  private readonly init: Initializer;
  private kernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;

  constructor(args: { units: number; initializer?: Initializer; name?: string; trainable?: boolean }) {
    super(args);
    this.units = args.units;
    this.init = args.initializer ?? tf.initializers.zeros();
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = shapeOf(inputShape).at(-1)!;
    this.kernel = this.addWeight('kernel', [c, this.units], 'float32', this.init);
    this.bias = this.addWeight('bias', [c, this.units], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return [...shapeOf(inputShape), this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.add(tf.mul(tf.expandDims(firstOf(inputs), -1), this.kernel!.read()), this.bias!.read()));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), units: this.units };
  }
}
tf.serialization.registerClass(VariableEmbedding);

export class WeightedSum extends tf.layers.Layer {
  static readonly className = 'BarflowWeightedSum';

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const values = (inputShape as tf.Shape[])[1]!;
    return [...values.slice(0, -2), values.at(-1)!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [w, v] = inputs as tf.Tensor[];
      return tf.sum(tf.mul(tf.expandDims(w!, -1), v!), v!.rank - 2);
    });
  }
}
tf.serialization.registerClass(WeightedSum);
