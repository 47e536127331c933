/**
 * The objectives' heads and losses for the neural nets. Every loss is a function of (yTrue, yPred):
 * yTrue is the [b, 1] target column as TrainInput gives it (0/1, the class index, the return), and
 * yPred the head's output *before* its activation, [b, units] — logits for the classifiers, so
 * training uses the numerically stable cross-entropies on logits while the saved model ends in the
 * activation and outputs probabilities. Each returns the mean loss over the batch as a scalar.
 */
import * as tf from '@tensorflow/tfjs';
import { MULTICLASS_CLASSES, type ObjectiveSpec, rawOutputs } from '../../objectives/objective.js';

export type Loss = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar;

/** Binary cross-entropy on the logit of P(up) (sigmoid head). */
export const binaryCrossEntropy: Loss = (yTrue, yPred) => tf.losses.sigmoidCrossEntropy(yTrue, yPred) as tf.Scalar;

/** Categorical cross-entropy on the class logits (softmax head); yTrue holds the class index. */
export const categoricalCrossEntropy: Loss = (yTrue, yPred) =>
  tf.tidy(() => {
    const classes = yPred.shape[1]!;
    const oneHot = tf.oneHot(tf.reshape(tf.cast(yTrue, 'int32'), [-1]), classes).toFloat();
    return tf.losses.softmaxCrossEntropy(oneHot, yPred) as tf.Scalar;
  });

/** Mean squared error (linear head, one unit). */
export const meanSquaredError: Loss = (yTrue, yPred) => tf.losses.meanSquaredError(yTrue, yPred) as tf.Scalar;

/**
 * Pinball loss summed over the levels, averaged over rows (linear head, one unit per level): for
 * d = y − q_k, τ_k·d when d ≥ 0 and (τ_k − 1)·d otherwise, i.e. max(τ_k·d, (τ_k − 1)·d).
 */
export function pinballLoss(levels: readonly number[]): Loss {
  return (yTrue, yPred) =>
    tf.tidy(() => {
      if (yPred.shape[1] !== levels.length) throw new Error(`pinball loss: ${yPred.shape[1]} outputs for ${levels.length} quantile levels`);
      const tau = tf.tensor2d(Float32Array.from(levels), [1, levels.length]);
      const d = tf.sub(yTrue, yPred); // [b, 1] − [b, K] → [b, K]
      const perLevel = tf.maximum(tf.mul(tau, d), tf.mul(tf.sub(tau, 1), d));
      return tf.mean(tf.sum(perLevel, 1)) as tf.Scalar;
    });
}

export interface Head {
  units: number;
  activation: 'sigmoid' | 'softmax' | 'linear';
  /** Name of the final Activation layer (binary keeps 'p_up', the name LSTM models always had). */
  outputName: string;
  loss: Loss;
  /** Throws, naming the row, when a target is not what the objective expects. */
  checkTarget(y: Float32Array, what: string): void;
  /**
   * A layer in place of the final Activation (layers/outputHeads.ts), named `outputName`: the model
   * outputs what it makes of the logits, and training passes the logits to `loss` as for any head.
   */
  outputLayer?: () => tf.layers.Layer;
  /**
   * Start the logit layer at zero (the standardised target's mean, unit scale) instead of a random
   * kernel: a likelihood's location otherwise starts as a random projection of the inputs, which
   * the scale's gradient (1/σ² on the location) leaves nearly untouched for the first epochs.
   */
  zeroLogits?: boolean;
  /**
   * The logit layer's starting bias from the training targets (as the loop sees them: standardised
   * for returns). A quantile head starts at the targets' empirical quantiles: from zero, Adam moves
   * a bias by about the learning rate per step, so the outer levels of a few-epoch fit stayed near
   * the median and its intervals covered a fraction of the rows.
   */
  initBias?(y: Float32Array): Float32Array;
}

/** The empirical quantiles of y at the levels (linear interpolation between order statistics, type 7). */
export function empiricalQuantiles(y: Float32Array, levels: readonly number[]): Float32Array {
  const sorted = Float64Array.from(y).sort();
  return Float32Array.from(levels, (p) => {
    const h = (sorted.length - 1) * p;
    const lo = Math.floor(h);
    const hi = Math.min(lo + 1, sorted.length - 1);
    return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
  });
}

/** The head (output units, activation, loss) an objective puts on top of a net's body. */
export function objectiveHead(spec: ObjectiveSpec): Head {
  switch (spec.objective) {
    case 'binary':
      return { units: 1, activation: 'sigmoid', outputName: 'p_up', loss: binaryCrossEntropy, checkTarget: (y, what) => checkEach(y, what, (v) => v === 0 || v === 1, 'labels must be 0 or 1') };
    case 'multiclass': {
      const k = MULTICLASS_CLASSES.length;
      return {
        units: k,
        activation: 'softmax',
        outputName: 'class_probabilities',
        loss: categoricalCrossEntropy,
        checkTarget: (y, what) => checkEach(y, what, (v) => Number.isInteger(v) && v >= 0 && v < k, `labels must be a class index 0…${k - 1}`),
      };
    }
    case 'regression':
      return { units: 1, activation: 'linear', outputName: 'e_r', loss: meanSquaredError, checkTarget: (y, what) => checkEach(y, what, Number.isFinite, 'targets must be finite') };
    case 'quantile':
      if (spec.quantiles.length === 0) throw new Error('quantile objective: no quantile levels');
      return {
        units: rawOutputs(spec).length,
        activation: 'linear',
        outputName: 'quantiles',
        loss: pinballLoss(spec.quantiles),
        checkTarget: (y, what) => checkEach(y, what, Number.isFinite, 'targets must be finite'),
        initBias: (y) => empiricalQuantiles(y, spec.quantiles),
      };
  }
}

function checkEach(y: Float32Array, what: string, ok: (v: number) => boolean, rule: string): void {
  for (let i = 0; i < y.length; i++) if (!ok(y[i]!)) throw new Error(`${what} y[${i}] is ${y[i]}, ${rule}`);
}
