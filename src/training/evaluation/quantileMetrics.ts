import { pinball } from '../objectives/objective.js';

/**
 * Metrics of predicted quantiles (row-major n × levels, column j = the quantile at levels[j])
 * against the realised value: mean pinball loss per level, the empirical coverage and mean width
 * of the outermost interval, and how often the raw quantiles cross.
 *
 * The interval of a row is [min, max] of its quantiles: the outermost quantiles after the sort the
 * output contract applies, so coverage and width describe what is served even when raw columns
 * cross. Pinball loss is of each column as given.
 * Rows with a NaN quantile or a NaN target are left out of every metric and counted in `skipped`.
 */
export interface QuantileMetrics {
  /** Rows the metrics are computed on. */
  n: number;
  /** Rows left out because a quantile or the target is NaN. */
  skipped: number;
  /** Mean pinball loss per level, index = index in levels; scikit-learn mean_pinball_loss(alpha=level). */
  pinball: number[];
  /** Mean of `pinball` over the levels: one number to rank quantile models by. */
  meanPinball: number;
  /** Share of rows with min(q) ≤ y ≤ max(q). */
  coverage: number;
  /** The coverage a calibrated model has: highest level − lowest level. */
  nominalCoverage: number;
  /** Mean of max(q) − min(q). */
  meanWidth: number;
  /** Share of rows whose raw quantiles decrease somewhere along ascending levels. */
  crossingShare: number;
}

export function quantileMetrics(q: ArrayLike<number>, levels: readonly number[], y: ArrayLike<number>): QuantileMetrics {
  const m = levels.length;
  if (m === 0) throw new Error('quantileMetrics: no quantile levels');
  if (!levels.every((v, j) => v > 0 && v < 1 && (j === 0 || v > levels[j - 1]!))) throw new Error(`quantileMetrics: levels must be strictly ascending inside (0, 1), got [${levels.join(', ')}]`);
  if (q.length !== y.length * m) throw new Error(`quantileMetrics: ${q.length} quantiles for ${y.length} rows × ${m} levels (want ${y.length * m})`);
  const loss = new Array<number>(m).fill(0);
  let n = 0;
  let covered = 0;
  let width = 0;
  let crossed = 0;
  for (let i = 0; i < y.length; i++) {
    const t = y[i]!;
    if (Number.isNaN(t) || rowHasNaN(q, i, m)) continue;
    n++;
    let lo = Infinity;
    let hi = -Infinity;
    let crosses = false;
    for (let j = 0; j < m; j++) {
      const v = q[i * m + j]!;
      loss[j]! += pinball(levels[j]!, t, v);
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      if (j > 0 && v < q[i * m + j - 1]!) crosses = true;
    }
    if (t >= lo && t <= hi) covered++;
    width += hi - lo;
    if (crosses) crossed++;
  }
  const skipped = y.length - n;
  const nominalCoverage = levels[m - 1]! - levels[0]!;
  if (n === 0) return { n, skipped, pinball: loss.map(() => Number.NaN), meanPinball: Number.NaN, coverage: Number.NaN, nominalCoverage, meanWidth: Number.NaN, crossingShare: Number.NaN };
  const perLevel = loss.map((l) => l / n);
  return { n, skipped, pinball: perLevel, meanPinball: perLevel.reduce((a, b) => a + b, 0) / m, coverage: covered / n, nominalCoverage, meanWidth: width / n, crossingShare: crossed / n };
}

function rowHasNaN(m: ArrayLike<number>, i: number, k: number): boolean {
  for (let c = 0; c < k; c++) if (Number.isNaN(m[i * k + c]!)) return true;
  return false;
}
