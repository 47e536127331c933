/**
 * A 1-D convolution (channels last, stride 1, dilation d, 'causal' / 'same' / 'valid' padding)
 * computed as k shifted slices of the zero-padded input, each multiplied by its tap of the kernel
 * and summed: y = Σₜ x[t·d : t·d + L] · W[t].
 *
 * Why not tf.layers.conv1d: on TensorFlow.js's WASM backend a conv1d cannot train (no
 * Conv2DBackpropFilter kernel) and no backend implements 'causal' padding (tfjs-layers 4.22 throws
 * NotImplementedError), and tf's conv2d gradient refuses dilation rates over 1 on every backend. Pad, Slice, Reshape, AddN and BatchMatMul are all differentiable on WASM,
 * so this layer trains there, and on 'cpu' and native TensorFlow alike (docs/models-conv.md has the
 * side-by-side timings). The kernel is stored as Conv1D stores it, [k, C, F], with Conv1D's config
 * keys, so the ONNX export writes it as one Conv node with the same weights and dilation.
 */
import * as tf from '@tensorflow/tfjs';

type Initializer = ReturnType<typeof tf.initializers.zeros>;

export type ConvPadding = 'causal' | 'same' | 'valid';

export interface ShiftedConv1DArgs {
  filters: number;
  kernelSize: number;
  dilationRate?: number;
  padding?: ConvPadding;
  useBias?: boolean;
  /** Training builds pass a seeded initializer; loading a saved model leaves zeros, then reads the weights. */
  kernelInitializer?: Initializer;
  name?: string;
  inputShape?: number[];
  trainable?: boolean;
}

/** [start, end] zero steps around the time axis, as TensorFlow pads: 'same' puts the odd step at the end. */
export function convPads(span: number, padding: ConvPadding): [number, number] {
  if (padding === 'causal') return [span - 1, 0];
  if (padding === 'same') return [Math.floor((span - 1) / 2), span - 1 - Math.floor((span - 1) / 2)];
  return [0, 0];
}

export class ShiftedConv1D extends tf.layers.Layer {
  static readonly className = 'BarflowConv1D';
  readonly filters: number;
  readonly kernelSize: number;
  readonly dilationRate: number;
  readonly padding: ConvPadding;
  readonly useBias: boolean;
  private readonly kernelInitializer: Initializer;
  private kernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;

  constructor(args: ShiftedConv1DArgs) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
    this.dilationRate = args.dilationRate ?? 1;
    this.padding = args.padding ?? 'valid';
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = args.kernelInitializer ?? tf.initializers.zeros();
    for (const [k, v] of Object.entries({ filters: this.filters, kernelSize: this.kernelSize, dilationRate: this.dilationRate })) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`${ShiftedConv1D.className} '${this.name}': ${k} must be a positive integer, got ${v}`);
    }
    if (!['causal', 'same', 'valid'].includes(this.padding)) throw new Error(`${ShiftedConv1D.className} '${this.name}': padding '${this.padding}' (causal, same or valid)`);
  }

  private get span(): number {
    return (this.kernelSize - 1) * this.dilationRate + 1;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape.at(-1);
    if (shape.length !== 3 || channels == null) throw new Error(`${ShiftedConv1D.className} '${this.name}': needs [batch, length, channels] input, got [${shape.join(', ')}]`);
    this.kernel = this.addWeight('kernel', [this.kernelSize, channels, this.filters], 'float32', this.kernelInitializer);
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const len = shape[1];
    const out = len == null ? null : this.padding === 'valid' ? len - this.span + 1 : len;
    if (out !== null && out < 1) throw new Error(`${ShiftedConv1D.className} '${this.name}': input length ${len} is shorter than the kernel's span ${this.span}`);
    return [shape[0]!, out, this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor3D;
      const [n, len, c] = x.shape;
      const [start, end] = convPads(this.span, this.padding);
      const padded = start + end > 0 ? tf.pad(x, [[0, 0], [start, end], [0, 0]]) : x;
      const out = len + start + end - this.span + 1;
      // One matmul per tap, summed: 10 % faster on WASM than concatenating the taps for one
      // matmul (bench/convBackends.ts), the same sum in another order.
      // Slicing [N, steps·C] rather than [N, steps, C]: WASM copies a 2-D slice row by row (N
      // copies of out·C values) but a 3-D one in N·out copies of C values, 10× slower here.
      const flat = tf.reshape(padded, [n, (len + start + end) * c]);
      const kernel = this.kernel!.read();
      const parts: tf.Tensor[] = [];
      for (let t = 0; t < this.kernelSize; t++) {
        const tap = tf.reshape(tf.slice(flat, [0, t * this.dilationRate * c], [n, out * c]), [n * out, c]);
        parts.push(tf.matMul(tap, tf.reshape(tf.slice(kernel, [t, 0, 0], [1, c, this.filters]), [c, this.filters])));
      }
      let y = parts.length === 1 ? parts[0]! : tf.addN(parts);
      if (this.bias !== null) y = tf.add(y, this.bias.read());
      return tf.reshape(y, [n, out, this.filters]);
    });
  }

  /** Conv1D's keys (stride 1, linear activation), which the ONNX export reads. */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.filters, kernelSize: [this.kernelSize], strides: [1], dilationRate: [this.dilationRate], padding: this.padding, activation: 'linear', useBias: this.useBias, dataFormat: 'channelsLast' };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(cls: tf.serialization.SerializableConstructor<T>, config: tf.serialization.ConfigDict): T {
    const first = (v: unknown): number => Number(Array.isArray(v) ? v[0] : v);
    const { kernelSize, dilationRate, strides: _s, activation: _a, dataFormat: _d, ...rest } = config;
    return new cls({ ...rest, kernelSize: first(kernelSize), dilationRate: first(dilationRate) });
  }
}
tf.serialization.registerClass(ShiftedConv1D);

/** The last time step of a sequence, [N, L, C] → [N, C]: what a causal net says about row t. */
export class LastStep extends tf.layers.Layer {
  static readonly className = 'BarflowLastStep';

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0]!, shape[2]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor3D;
      const [n, len, c] = x.shape;
      return tf.reshape(tf.slice(x, [0, len - 1, 0], [n, 1, c]), [n, c]);
    });
  }
}
tf.serialization.registerClass(LastStep);
