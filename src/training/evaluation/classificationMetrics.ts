/**
 * Metrics of probabilities against 0/1 outcomes: log loss, Brier score, ROC AUC (Mann–Whitney, ties
 * counted half), accuracy at 0.5, the base rate; and the reliability table (mean predicted vs
 * observed frequency per probability bin) behind a reliability diagram.
 */
export interface ClassificationMetrics {
  n: number;
  logLoss: number;
  brier: number;
  auc: number;
  accuracy: number;
  baseRate: number;
}

const EPS = 1e-15;

export function classificationMetrics(p: ArrayLike<number>, y: ArrayLike<number>): ClassificationMetrics {
  const n = p.length;
  let ll = 0;
  let brier = 0;
  let correct = 0;
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const q = Math.min(1 - EPS, Math.max(EPS, p[i]!));
    const t = y[i]!;
    ll -= t > 0.5 ? Math.log(q) : Math.log(1 - q);
    brier += (p[i]! - t) ** 2;
    if ((p[i]! >= 0.5 ? 1 : 0) === t) correct++;
    pos += t;
  }
  return { n, logLoss: n > 0 ? ll / n : Number.NaN, brier: n > 0 ? brier / n : Number.NaN, auc: rocAuc(p, y), accuracy: n > 0 ? correct / n : Number.NaN, baseRate: n > 0 ? pos / n : Number.NaN };
}

export function rocAuc(p: ArrayLike<number>, y: ArrayLike<number>): number {
  const idx = Array.from({ length: p.length }, (_, i) => i).sort((a, b) => p[a]! - p[b]! || a - b);
  let rankSumPos = 0;
  let pos = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && p[idx[j + 1]!] === p[idx[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (y[idx[k]!]! > 0.5) {
        rankSumPos += rank;
        pos++;
      }
    }
    i = j + 1;
  }
  const neg = idx.length - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

export interface ReliabilityBin {
  lo: number;
  hi: number;
  count: number;
  meanPredicted: number;
  observed: number;
}

export function reliabilityTable(p: ArrayLike<number>, y: ArrayLike<number>, bins = 10): ReliabilityBin[] {
  const out = Array.from({ length: bins }, (_, b) => ({ lo: b / bins, hi: (b + 1) / bins, count: 0, meanPredicted: 0, observed: 0 }));
  for (let i = 0; i < p.length; i++) {
    const b = out[Math.min(bins - 1, Math.max(0, Math.floor(p[i]! * bins)))]!;
    b.count++;
    b.meanPredicted += p[i]!;
    b.observed += y[i]!;
  }
  for (const b of out) {
    b.meanPredicted = b.count > 0 ? b.meanPredicted / b.count : Number.NaN;
    b.observed = b.count > 0 ? b.observed / b.count : Number.NaN;
  }
  return out;
}
