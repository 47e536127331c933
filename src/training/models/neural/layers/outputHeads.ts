/**
 * Heads whose outputs are a function of the logits other than an activation, for nets that declare
 * them (NeuralNet.head):
 *
 * - monotone quantiles (the Quantile RNN): q₁ = l₁, q_k = q_{k−1} + pos(l_k), so the levels
 *   never cross by construction (not by sorting afterwards); trained with the pinball loss on q;
 * - a location-scale likelihood (DeepAR, Salinas et al. 2020): μ = l₁, σ = pos(l₂) + σ_min,
 *   trained by the negative log-likelihood of a Gaussian or a Student-t with `df` degrees of
 *   freedom; the saved model outputs the quantiles μ + σ·z_k (z_k the distribution's quantile at
 *   level k, analytic for both), and E[r] = μ for the regression objective.
 *
 * pos(l) = ELU(l) + 1 (l + 1 above zero, eˡ below), smooth and positive like softplus: not
 * softplus, because onnxruntime's Softplus and Log kernels give different last bits for a value
 * depending on its position in the batch's buffer (measured: 190 of 600 values between batches of
 * 1 and of 200), which breaks prefix = whole and live = batch; Where, Greater, Min, Exp and Add
 * do not. The exp branch reads min(l, 0) so that its unused side never overflows into the gradient.
 *
 * The targets are standardised for training (neuralArtifact.ts); these layers hold the affine map
 * back to returns (`setTargetScale`) applied after the non-linear part, which folding it into the
 * logit layer's kernel cannot express.
 */
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import * as tf from '@tensorflow/tfjs';
import type { Loss, Head } from '../losses.js';

const firstOf = (inputs: tf.Tensor | tf.Tensor[]): tf.Tensor => (Array.isArray(inputs) ? inputs[0]! : inputs);

/** The upper-triangular ones [K, K]: a row times it is the row's running sum. */
export function cumulativeMatrix(k: number): Float32Array {
  const u = new Float32Array(k * k);
  for (let j = 0; j < k; j++) for (let i = j; i < k; i++) u[j * k + i] = 1;
  return u;
}

/** pos(l) = ELU(l) + 1 (see the module comment). */
export function positive(l: tf.Tensor): tf.Tensor {
  // A 0/1 blend by step(l) rather than tf.where: where's condition (Greater) has no gradient in
  // tfjs. Each side is exact where it is taken (0·v + w = w), so this is Where's value.
  const above = tf.step(l);
  return tf.add(tf.mul(above, tf.add(l, 1)), tf.mul(tf.sub(1, above), tf.exp(tf.minimum(l, 0))));
}

function monotone(l: tf.Tensor): tf.Tensor {
  const [n, k] = l.shape as [number, number];
  if (k === 1) return l;
  const steps = tf.concat([tf.slice(l, [0, 0], [n, 1]), positive(tf.slice(l, [0, 1], [n, k - 1]))], 1);
  return tf.matMul(steps, tf.tensor2d(cumulativeMatrix(k), [k, k]));
}

/** A head layer that maps the standardised output back to returns: y·scale + shift, after its own non-linear part. */
export abstract class TargetScaledLayer extends tf.layers.Layer {
  shift: number;
  scale: number;

  constructor(args: { shift?: number; scale?: number; name?: string }) {
    super(args);
    this.shift = args.shift ?? 0;
    this.scale = args.scale ?? 1;
  }

  setTargetScale(mean: number, std: number): void {
    this.shift = mean;
    this.scale = std;
  }

  protected unscale(y: tf.Tensor): tf.Tensor {
    return tf.add(tf.mul(y, this.scale), this.shift);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), shift: this.shift, scale: this.scale };
  }
}

export class MonotoneQuantiles extends TargetScaledLayer {
  static readonly className = 'BarflowMonotoneQuantiles';

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => this.unscale(monotone(firstOf(inputs))));
  }
}
tf.serialization.registerClass(MonotoneQuantiles);

export type Likelihood = 'gaussian' | 'student_t';

/** The standard quantiles of the likelihood at `levels`. */
export function standardQuantiles(likelihood: Likelihood, df: number, levels: readonly number[]): number[] {
  return levels.map((p) => (likelihood === 'gaussian' ? normalQuantile(p, 0, 1) : tQuantile(p, df)));
}

export const MIN_SCALE = 1e-4;

export class LocationScale extends TargetScaledLayer {
  static readonly className = 'BarflowLocationScale';
  /** Standard quantiles to output, after the mean when `mean`. */
  readonly z: number[];
  readonly mean: boolean;
  readonly minScale: number;

  constructor(args: { z: number[]; mean: boolean; minScale?: number; shift?: number; scale?: number; name?: string }) {
    super(args);
    this.z = [...args.z];
    this.mean = args.mean;
    this.minScale = args.minScale ?? MIN_SCALE;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0]!, this.z.length + (this.mean ? 1 : 0)];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const { mu, sigma } = locationScale(firstOf(inputs), this.minScale);
      const parts: tf.Tensor[] = [];
      if (this.mean) parts.push(mu);
      if (this.z.length > 0) parts.push(tf.add(mu, tf.mul(sigma, tf.tensor2d(this.z, [1, this.z.length]))));
      return this.unscale(parts.length === 1 ? parts[0]! : tf.concat(parts, 1));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), z: this.z, mean: this.mean, minScale: this.minScale };
  }
}
tf.serialization.registerClass(LocationScale);

function locationScale(l: tf.Tensor, minScale: number): { mu: tf.Tensor; sigma: tf.Tensor } {
  const n = l.shape[0]!;
  return { mu: tf.slice(l, [0, 0], [n, 1]), sigma: tf.add(positive(tf.slice(l, [0, 1], [n, 1])), minScale) };
}

/** Mean negative log-likelihood of y under (μ, σ) from the logits, without the constant terms. */
export function likelihoodLoss(likelihood: Likelihood, df: number): Loss {
  return (yTrue, yPred) =>
    tf.tidy(() => {
      const { mu, sigma } = locationScale(yPred, MIN_SCALE);
      const z2 = tf.square(tf.div(tf.sub(yTrue, mu), sigma));
      const body = likelihood === 'gaussian' ? tf.mul(z2, 0.5) : tf.mul(tf.log1p(tf.div(z2, df)), (df + 1) / 2);
      return tf.mean(tf.add(tf.log(sigma), body)) as tf.Scalar;
    });
}

/** The pinball loss of the monotone quantiles made from the logits. */
export function monotonePinball(pinball: Loss): Loss {
  return (yTrue, yPred) => tf.tidy(() => pinball(yTrue, monotone(yPred)));
}

/** pos⁻¹(v), for a starting bias whose pos is v > 0. */
export function inversePositive(v: number): number {
  return v >= 1 ? v - 1 : Math.log(v);
}

/** Monotone quantiles' starting logits from the targets' empirical quantiles: q₁, then the steps. */
export function monotoneBias(q: Float32Array): Float32Array {
  return Float32Array.from(q, (v, k) => (k === 0 ? v : inversePositive(Math.max(v - q[k - 1]!, 1e-3))));
}

/** A location-scale head's starting logits: the targets' mean and the scale that matches their deviation. */
export function locationScaleBias(y: Float32Array, likelihood: Likelihood, df: number): Float32Array {
  let m = 0;
  for (const v of y) m += v / y.length;
  let ss = 0;
  for (const v of y) ss += (v - m) ** 2;
  const sd = Math.sqrt(ss / y.length) || 1;
  // A Student-t of scale s has deviation s·√(df / (df − 2)).
  const scale = likelihood === 'gaussian' ? sd : sd * Math.sqrt((df - 2) / df);
  return Float32Array.from([m, inversePositive(Math.max(scale - MIN_SCALE, 1e-3))]);
}

/** A head with a layer in place of the Activation: `units` logits, the layer named `outputName`. */
export function layerHead(base: Omit<Head, 'activation' | 'outputLayer'>, layer: () => tf.layers.Layer): Head {
  return { ...base, activation: 'linear', outputLayer: layer };
}
