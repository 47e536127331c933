import { rocAuc } from './classificationMetrics.js';

/**
 * Metrics of class probabilities (row-major n × k, column c = P(class c)) against class indices
 * 0..k−1: log loss, multiclass Brier, macro one-vs-rest ROC AUC, accuracy and macro F1 of the
 * arg-max class, and the share of each class. Every class 0..k−1 counts, whether or not it occurs
 * in this sample, so folds are averaged over the same classes.
 *
 * Rows with a NaN probability or a NaN target are left out of every metric and counted in `skipped`.
 */
export interface MulticlassMetrics {
  /** Rows the metrics are computed on. */
  n: number;
  /** Rows left out because a probability or the target is NaN. */
  skipped: number;
  /**
   * Mean −log p_y, p clipped to [ε, 1 − ε] with ε = 2⁻⁵² (Number.EPSILON), as scikit-learn 1.7
   * log_loss for float64 input; rows are not renormalised.
   */
  logLoss: number;
  /**
   * Mean over rows of Σ_c (p_c − 1[y = c])², the original (Brier 1950) multiclass score, range [0, 2];
   * scikit-learn brier_score_loss(scale_by_half=False). For k = 2 it is twice the binary Brier score.
   */
  brier: number;
  /**
   * Unweighted mean over classes of the ROC AUC of class c against the rest, scored by p_c (ties
   * count half), as roc_auc_score(multi_class='ovr', average='macro'); NaN when some class is
   * absent from, or the only class in, the sample.
   */
  auc: number;
  /** Share of rows whose arg-max class (the first on ties) is y. */
  accuracy: number;
  /** f1_score(y, argmax, labels=0..k−1, average='macro', zero_division=0). */
  macroF1: number;
  /** Share of the rows in each class, index = class. */
  classShares: number[];
}

const EPS = Number.EPSILON;

export function multiclassMetrics(probs: ArrayLike<number>, y: ArrayLike<number>, k: number): MulticlassMetrics {
  if (!Number.isInteger(k) || k < 2) throw new Error(`multiclassMetrics: k must be an integer ≥ 2, got ${k}`);
  if (probs.length !== y.length * k) throw new Error(`multiclassMetrics: ${probs.length} probabilities for ${y.length} rows × ${k} classes (want ${y.length * k})`);
  const rows: number[] = [];
  for (let i = 0; i < y.length; i++) {
    const t = y[i]!;
    if (Number.isNaN(t) || rowHasNaN(probs, i, k)) continue;
    if (!Number.isInteger(t) || t < 0 || t >= k) throw new Error(`multiclassMetrics: row ${i} has class ${t}, not an integer in 0..${k - 1}`);
    rows.push(i);
  }
  const n = rows.length;
  const skipped = y.length - n;
  if (n === 0) return { n, skipped, logLoss: Number.NaN, brier: Number.NaN, auc: Number.NaN, accuracy: Number.NaN, macroF1: Number.NaN, classShares: new Array<number>(k).fill(Number.NaN) };
  let ll = 0;
  let brier = 0;
  let correct = 0;
  const truth = new Int32Array(n);
  const predicted = new Int32Array(n);
  const counts = new Array<number>(k).fill(0);
  rows.forEach((i, r) => {
    const t = y[i]!;
    truth[r] = t;
    counts[t]!++;
    let best = 0;
    for (let c = 0; c < k; c++) {
      const pc = probs[i * k + c]!;
      brier += (pc - (c === t ? 1 : 0)) ** 2;
      if (pc > probs[i * k + best]!) best = c;
    }
    ll -= Math.log(Math.min(1 - EPS, Math.max(EPS, probs[i * k + t]!)));
    predicted[r] = best;
    if (best === t) correct++;
  });
  return {
    n,
    skipped,
    logLoss: ll / n,
    brier: brier / n,
    auc: macroOvrAuc(probs, rows, truth, k),
    accuracy: correct / n,
    macroF1: macroF1(predicted, truth, k),
    classShares: counts.map((c) => c / n),
  };
}

/**
 * Macro F1 of predicted against true class indices 0..k−1: the unweighted mean over every class of
 * 2·TP / (2·TP + FP + FN), 0 for a class neither predicted nor present (zero_division=0).
 */
export function macroF1(predicted: ArrayLike<number>, y: ArrayLike<number>, k: number): number {
  if (predicted.length !== y.length) throw new Error(`macroF1: ${predicted.length} predictions for ${y.length} targets`);
  if (y.length === 0) return Number.NaN;
  const tp = new Array<number>(k).fill(0);
  const fp = new Array<number>(k).fill(0);
  const fn = new Array<number>(k).fill(0);
  for (let i = 0; i < y.length; i++) {
    const p = predicted[i]!;
    const t = y[i]!;
    if (!Number.isInteger(p) || p < 0 || p >= k || !Number.isInteger(t) || t < 0 || t >= k) throw new Error(`macroF1: row ${i} has predicted ${p}, true ${t}; both must be integers in 0..${k - 1}`);
    if (p === t) tp[t]!++;
    else {
      fp[p]!++;
      fn[t]!++;
    }
  }
  let sum = 0;
  for (let c = 0; c < k; c++) {
    const d = 2 * tp[c]! + fp[c]! + fn[c]!;
    sum += d > 0 ? (2 * tp[c]!) / d : 0;
  }
  return sum / k;
}

/** Macro F1 of P(up) against 0/1 outcomes, predicting up at p ≥ 0.5 (the accuracy rule of classificationMetrics). */
export function binaryMacroF1(p: ArrayLike<number>, y: ArrayLike<number>): number {
  return macroF1(Array.from(p, (v) => (v >= 0.5 ? 1 : 0)), y, 2);
}

function macroOvrAuc(probs: ArrayLike<number>, rows: number[], truth: Int32Array, k: number): number {
  let sum = 0;
  const score = new Float64Array(rows.length);
  const isClass = new Float64Array(rows.length);
  for (let c = 0; c < k; c++) {
    rows.forEach((i, r) => {
      score[r] = probs[i * k + c]!;
      isClass[r] = truth[r] === c ? 1 : 0;
    });
    sum += rocAuc(score, isClass); // NaN when class c is absent or alone, and then so is the mean
  }
  return sum / k;
}

function rowHasNaN(m: ArrayLike<number>, i: number, k: number): boolean {
  for (let c = 0; c < k; c++) if (Number.isNaN(m[i * k + c]!)) return true;
  return false;
}
