/**
 * The sufficient statistics of a least-squares fit with an unpenalised intercept: column means,
 * the centred Gram matrix Xcᵀ·Xc and Xcᵀ·yc (Xc, yc: x and y minus their means). Centring removes
 * the intercept from the problem exactly (it is ȳ − x̄·w afterwards), which is how sklearn's Ridge
 * and ElasticNet fit it too. Two passes (means, then centred products) keep the sums accurate for
 * features far from zero; after them every solver works in f × f, whatever n.
 */
export interface CentredGram {
  n: number;
  f: number;
  xMean: Float64Array;
  yMean: number;
  /** f × f, row-major, symmetric. */
  gram: Float64Array;
  /** Xcᵀ·yc, length f. */
  xty: Float64Array;
}

/** x: row-major n × f, no NaN; y: the target. */
export function centredGram(x: ArrayLike<number>, n: number, f: number, y: ArrayLike<number>): CentredGram {
  if (n < 1) throw new Error('linear regression: no training rows');
  const xMean = new Float64Array(f);
  let yMean = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) xMean[j]! += x[i * f + j]!;
    yMean += y[i]!;
  }
  for (let j = 0; j < f; j++) xMean[j]! /= n;
  yMean /= n;
  const gram = new Float64Array(f * f);
  const xty = new Float64Array(f);
  const row = new Float64Array(f);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) row[j] = x[i * f + j]! - xMean[j]!;
    const yc = y[i]! - yMean;
    for (let a = 0; a < f; a++) {
      const ra = row[a]!;
      xty[a]! += ra * yc;
      for (let b = 0; b <= a; b++) gram[a * f + b]! += ra * row[b]!;
    }
  }
  for (let a = 0; a < f; a++) for (let b = 0; b < a; b++) gram[b * f + a] = gram[a * f + b]!;
  return { n, f, xMean, yMean, gram, xty };
}

/** The intercept that goes with weights fitted on centred data. */
export function interceptFor(g: CentredGram, weights: Float64Array): number {
  let b = g.yMean;
  for (let j = 0; j < g.f; j++) b -= g.xMean[j]! * weights[j]!;
  return b;
}
