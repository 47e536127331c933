/**
 * Multi-head scaled dot-product self-attention (Vaswani et al. 2017) over the second-to-last axis
 * of [..., T, D], written from MatMul, Softmax, Reshape and Transpose.
 *
 * Why our own: tfjs-layers' `multiHeadAttention` (layers/nlp) computes its products with Einsum,
 * which the WASM backend has no kernel for, so it cannot train there; BatchMatMul, Softmax,
 * Reshape and Transpose have WASM kernels and gradients. The ONNX export (onnxLayers/attention.ts)
 * writes the same ops.
 *
 * Options:
 * - `causal`: position i attends to positions ≤ i only (a −1e9 bias above the diagonal before the
 *   softmax), the TFT's decoder mask;
 * - `sharedValues`: the TFT's interpretable attention (Lim et al. 2021, eq. 14–16): every head
 *   has its own query and key maps but one value map shared by all, and the heads' attention
 *   matrices are averaged before they weight the values, so one matrix explains the output.
 * Leading axes before T are folded into the batch (PatchTST attends within each channel).
 */
import * as tf from '@tensorflow/tfjs';

type Initializer = ReturnType<typeof tf.initializers.zeros>;

export interface SelfAttentionArgs {
  heads: number;
  keyDim: number;
  causal?: boolean;
  sharedValues?: boolean;
  /** Seeded initializers when training; zeros when loading (the weights are read afterwards). */
  initializers?: () => Initializer;
  name?: string;
  trainable?: boolean;
}

export const MASK_BIAS = -1e9;

/** The additive mask [T, T]: 0 on and below the diagonal, −1e9 above it. */
export function causalMask(t: number): Float32Array {
  const m = new Float32Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) m[i * t + j] = MASK_BIAS;
  return m;
}

const shapeOf = (s: tf.Shape | tf.Shape[]): tf.Shape => (Array.isArray(s[0]) ? s[0] : s) as tf.Shape;

export class SelfAttention extends tf.layers.Layer {
  static readonly className = 'BarflowSelfAttention';
  readonly heads: number;
  readonly keyDim: number;
  readonly causal: boolean;
  readonly sharedValues: boolean;
  private readonly init: () => Initializer;
  private w: Record<'wq' | 'bq' | 'wk' | 'bk' | 'wv' | 'bv' | 'wo' | 'bo', tf.LayerVariable> | null = null;

  constructor(args: SelfAttentionArgs) {
    super(args);
    this.heads = args.heads;
    this.keyDim = args.keyDim;
    this.causal = args.causal ?? false;
    this.sharedValues = args.sharedValues ?? false;
    this.init = args.initializers ?? (() => tf.initializers.zeros());
    for (const [k, v] of Object.entries({ heads: this.heads, keyDim: this.keyDim })) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`${SelfAttention.className} '${this.name}': ${k} must be a positive integer, got ${v}`);
    }
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = shapeOf(inputShape);
    const d = shape.at(-1);
    if (shape.length < 3 || d == null || shape.at(-2) == null) throw new Error(`${SelfAttention.className} '${this.name}': needs [batch, …, T, D] input with T and D known, got [${shape.join(', ')}]`);
    const hk = this.heads * this.keyDim;
    const vk = this.sharedValues ? this.keyDim : hk;
    const zeros = tf.initializers.zeros();
    this.w = {
      wq: this.addWeight('wq', [d, hk], 'float32', this.init()),
      bq: this.addWeight('bq', [hk], 'float32', zeros),
      wk: this.addWeight('wk', [d, hk], 'float32', this.init()),
      bk: this.addWeight('bk', [hk], 'float32', zeros),
      wv: this.addWeight('wv', [d, vk], 'float32', this.init()),
      bv: this.addWeight('bv', [vk], 'float32', zeros),
      wo: this.addWeight('wo', [vk, d], 'float32', this.init()),
      bo: this.addWeight('bo', [d], 'float32', zeros),
    };
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return shapeOf(inputShape);
  }

  /** The attention matrices, [B, H, T, T] (B: the batch with the leading axes folded in); heads averaged to [B, 1, T, T] when sharedValues. */
  attentionWeights(x: tf.Tensor): tf.Tensor4D {
    return tf.tidy(() => {
      const { b, t, d } = this.dims(x);
      const x2 = tf.reshape(x, [b * t, d]);
      const split = (w: tf.LayerVariable, bias: tf.LayerVariable) => tf.transpose(tf.reshape(tf.add(tf.matMul(x2, w.read()), bias.read()), [b, t, this.heads, this.keyDim]), [0, 2, 1, 3]);
      const q = split(this.w!.wq, this.w!.bq);
      const k = split(this.w!.wk, this.w!.bk);
      let scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(this.keyDim));
      if (this.causal) scores = tf.add(scores, tf.tensor2d(causalMask(t), [t, t]));
      const a = tf.softmax(scores) as tf.Tensor4D;
      return this.sharedValues ? (tf.mean(a, 1, true) as tf.Tensor4D) : a;
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const { b, t, d } = this.dims(x);
      const a = this.attentionWeights(x);
      const x2 = tf.reshape(x, [b * t, d]);
      const v2 = tf.add(tf.matMul(x2, this.w!.wv.read()), this.w!.bv.read());
      let o: tf.Tensor;
      if (this.sharedValues) {
        o = tf.matMul(tf.reshape(a, [b, t, t]), tf.reshape(v2, [b, t, this.keyDim]));
        o = tf.reshape(o, [b * t, this.keyDim]);
      } else {
        const v = tf.transpose(tf.reshape(v2, [b, t, this.heads, this.keyDim]), [0, 2, 1, 3]);
        o = tf.reshape(tf.transpose(tf.matMul(a, v), [0, 2, 1, 3]), [b * t, this.heads * this.keyDim]);
      }
      const y = tf.add(tf.matMul(o, this.w!.wo.read()), this.w!.bo.read());
      return tf.reshape(y, x.shape);
    });
  }

  private dims(x: tf.Tensor): { b: number; t: number; d: number } {
    const t = x.shape.at(-2)!;
    const d = x.shape.at(-1)!;
    return { b: x.size / (t * d), t, d };
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), heads: this.heads, keyDim: this.keyDim, causal: this.causal, sharedValues: this.sharedValues };
  }
}
tf.serialization.registerClass(SelfAttention);
