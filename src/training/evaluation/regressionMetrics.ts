/**
 * Metrics of a return forecast against the realised return: RMSE, MAE, R², directional accuracy
 * and the information coefficient (Spearman rank correlation, average ranks for ties).
 *
 * Undefined stays undefined: r2 is NaN when y has no variance (scikit-learn would report 0 or 1),
 * ic is NaN when either side is constant (as scipy), directionalAccuracy is NaN when every y is 0.
 * Rows whose prediction or target is NaN are left out of every metric and counted in `skipped`.
 */
export interface RegressionMetrics {
  /** Rows the metrics are computed on. */
  n: number;
  /** Rows left out because the prediction or the target is NaN. */
  skipped: number;
  rmse: number;
  mae: number;
  /** 1 − SS_res / SS_tot, as scikit-learn r2_score; NaN when SS_tot is 0. */
  r2: number;
  /**
   * Share of rows with y ≠ 0 where sign(pred) = sign(y). Rows with y = 0 have no direction and are
   * excluded; a prediction of exactly 0 calls no direction and counts as wrong.
   */
  directionalAccuracy: number;
  /** Spearman rank correlation of pred and y (average ranks for ties), as scipy spearmanr. */
  ic: number;
}

export function regressionMetrics(pred: ArrayLike<number>, y: ArrayLike<number>): RegressionMetrics {
  if (pred.length !== y.length) throw new Error(`regressionMetrics: ${pred.length} predictions for ${y.length} targets`);
  const p: number[] = [];
  const t: number[] = [];
  for (let i = 0; i < y.length; i++) {
    if (Number.isNaN(pred[i]!) || Number.isNaN(y[i]!)) continue;
    p.push(pred[i]!);
    t.push(y[i]!);
  }
  const n = t.length;
  const skipped = y.length - n;
  if (n === 0) return { n, skipped, rmse: Number.NaN, mae: Number.NaN, r2: Number.NaN, directionalAccuracy: Number.NaN, ic: Number.NaN };
  let sq = 0;
  let abs = 0;
  let yMean = 0;
  let directed = 0;
  let rightWay = 0;
  for (let i = 0; i < n; i++) {
    const e = t[i]! - p[i]!;
    sq += e * e;
    abs += Math.abs(e);
    yMean += t[i]!;
    if (t[i] !== 0) {
      directed++;
      if (Math.sign(p[i]!) === Math.sign(t[i]!)) rightWay++;
    }
  }
  yMean /= n;
  let ssTot = 0;
  for (const v of t) ssTot += (v - yMean) ** 2;
  return {
    n,
    skipped,
    rmse: Math.sqrt(sq / n),
    mae: abs / n,
    r2: ssTot > 0 ? 1 - sq / ssTot : Number.NaN,
    directionalAccuracy: directed > 0 ? rightWay / directed : Number.NaN,
    ic: spearman(p, t),
  };
}

/** Spearman rank correlation: Pearson correlation of average ranks; NaN when either side is constant or n < 2. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`spearman: ${a.length} values against ${b.length}`);
  return pearson(averageRanks(a), averageRanks(b));
}

/** 1-based ranks, tied values sharing the mean of the ranks they span (scipy rankdata 'average'). */
export function averageRanks(v: ArrayLike<number>): Float64Array {
  const idx = Array.from({ length: v.length }, (_, i) => i).sort((i, j) => v[i]! - v[j]! || i - j);
  const ranks = new Float64Array(v.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && v[idx[j + 1]!] === v[idx[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[idx[k]!] = rank;
    i = j + 1;
  }
  return ranks;
}

function pearson(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  if (n < 2) return Number.NaN;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return Number.NaN;
  // Clamp: rounding can push a perfect correlation a hair past ±1.
  return Math.max(-1, Math.min(1, sab / Math.sqrt(saa * sbb)));
}
