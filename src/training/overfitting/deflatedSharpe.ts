// Probabilistic and deflated Sharpe ratios: Bailey & López de Prado (2012), "The Sharpe ratio
// efficient frontier", and (2014), "The deflated Sharpe ratio: correcting for selection bias,
// backtest overfitting and non-normality", Journal of Portfolio Management 40(5).
//
// Units: every Sharpe ratio here is per period (mean / sd of the per-period returns), never
// annualised, because the PSR's standard error √(T−1) counts periods. To use annualised figures,
// divide the Sharpe ratio by √(periods per year) and its variance across trials by that number.
//
// Conventions follow the reference implementation the tests check against (pypbo, pypbo/pbo.py):
// sample standard deviation (ddof 1); skewness and kurtosis are the bias-corrected sample estimators
// (pandas Series.skew / Series.kurtosis); the PSR takes raw kurtosis (3 for a normal distribution),
// not excess kurtosis; the variance of the trial Sharpe ratios is the sample variance (ddof 1).
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { type ReturnsInput, toReturnsMatrix } from './pbo.js';

/** γ, the Euler–Mascheroni constant. */
export const EULER_MASCHERONI = 0.5772156649015329;

export interface ReturnMoments {
  periods: number;
  /** Mean of returns − riskFree. */
  mean: number;
  /** Sample standard deviation (ddof 1). */
  std: number;
  /** Per-period Sharpe ratio mean / std. */
  sharpe: number;
  /** Bias-corrected sample skewness G1. */
  skewness: number;
  /** Raw (non-excess) kurtosis: bias-corrected excess kurtosis G2 + 3. */
  kurtosis: number;
  excessKurtosis: number;
}

/** Moments of one return series (at least 4 periods, not constant). */
export function returnMoments(returns: ArrayLike<number>, riskFree = 0): ReturnMoments {
  const n = returns.length;
  if (n < 4) throw new Error(`skewness and kurtosis need at least 4 returns, got ${n}`);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = returns[i]!;
    if (!Number.isFinite(v)) throw new Error(`return ${i + 1} is ${v}, not a finite number`);
    sum += v - riskFree;
  }
  const mean = sum / n;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = returns[i]! - riskFree - mean;
    const d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  if (m2 === 0) throw new Error('the returns are constant: the Sharpe ratio, skewness and kurtosis are undefined');
  const std = Math.sqrt(m2 / (n - 1));
  // The sums (not the means) enter as in pandas' nanskew / nankurt, so the rounding matches too.
  const skewness = ((n * Math.sqrt(n - 1)) / (n - 2)) * (m3 / m2 ** 1.5);
  const excessKurtosis = (n * (n + 1) * (n - 1) * m4) / ((n - 2) * (n - 3) * m2 * m2) - (3 * (n - 1) ** 2) / ((n - 2) * (n - 3));
  return { periods: n, mean, std, sharpe: mean / std, skewness, kurtosis: excessKurtosis + 3, excessKurtosis };
}

export interface PsrInput {
  /** Observed per-period Sharpe ratio. */
  sharpe: number;
  /** T, the number of return observations behind it. */
  periods: number;
  skewness: number;
  /** Raw kurtosis (normal = 3), not excess kurtosis. */
  kurtosis: number;
  /** SR*, the per-period Sharpe ratio to beat. Default 0. */
  benchmark?: number;
}

/** The PSR's z statistic: (SR − SR*) √(T−1) / √(1 − γ3·SR + (γ4 − 1)/4 · SR²). */
export function psrStatistic(p: PsrInput): number {
  for (const [k, v] of Object.entries(p)) if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`PSR: ${k} must be finite (got ${v})`);
  if (!Number.isInteger(p.periods) || p.periods < 2) throw new Error(`PSR: periods must be a whole number ≥ 2 (got ${p.periods})`);
  const sr = p.sharpe;
  const variance = 1 - p.skewness * sr + ((p.kurtosis - 1) / 4) * sr * sr;
  if (!(variance > 0)) {
    throw new Error(`PSR: 1 − skewness·SR + (kurtosis − 1)/4·SR² = ${variance} is not positive (SR ${sr}, skewness ${p.skewness}, kurtosis ${p.kurtosis}); is kurtosis raw (normal = 3)?`);
  }
  return ((sr - (p.benchmark ?? 0)) * Math.sqrt(p.periods - 1)) / Math.sqrt(variance);
}

/** Probabilistic Sharpe ratio: P(true SR > benchmark) given the observed SR and the return moments. */
export function probabilisticSharpe(p: PsrInput): number {
  return normalCdf(psrStatistic(p), 0, 1);
}

/**
 * E[max of N independent standard normals], the approximation of the DSR paper:
 * (1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e)).
 */
export function expectedMaxStandardNormal(trials: number): number {
  // pypbo refuses N < 5 ("N >> 1"); the approximation is rough there but defined, so only N ≥ 2 is required.
  if (!Number.isInteger(trials) || trials < 2) throw new Error(`trials must be a whole number ≥ 2 (got ${trials})`);
  return (1 - EULER_MASCHERONI) * normalQuantile(1 - 1 / trials, 0, 1) + EULER_MASCHERONI * normalQuantile(1 - Math.exp(-1) / trials, 0, 1);
}

/** SR0: the Sharpe ratio the best of N skill-less trials reaches by luck, √V[SR_n] · E[max Z_N]. */
export function expectedMaxSharpe(trials: number, trialSharpeVariance: number): number {
  if (!Number.isFinite(trialSharpeVariance) || trialSharpeVariance < 0) throw new Error(`the variance of the trial Sharpe ratios must be finite and ≥ 0 (got ${trialSharpeVariance})`);
  return Math.sqrt(trialSharpeVariance) * expectedMaxStandardNormal(trials);
}

export interface DsrInput extends Omit<PsrInput, 'benchmark'> {
  /** N, the number of (independent) trials the reported strategy was selected from. */
  trials: number;
  /** V[SR_n], the variance of the per-period Sharpe ratios across the trials. */
  trialSharpeVariance: number;
}

export interface DeflatedSharpe {
  /** DSR = PSR(SR0). */
  dsr: number;
  /** SR0, the deflated benchmark. */
  benchmark: number;
  /** The PSR z statistic against SR0. */
  z: number;
}

/** Deflated Sharpe ratio: the PSR against the expected maximum Sharpe ratio of N skill-less trials. */
export function deflatedSharpe(input: DsrInput): DeflatedSharpe {
  const benchmark = expectedMaxSharpe(input.trials, input.trialSharpeVariance);
  const z = psrStatistic({ sharpe: input.sharpe, periods: input.periods, skewness: input.skewness, kurtosis: input.kurtosis, benchmark });
  return { dsr: normalCdf(z, 0, 1), benchmark, z };
}

export interface BestColumnDsr extends DeflatedSharpe {
  /** 0-based column with the highest full-sample Sharpe ratio (the first of ties). */
  column: number;
  name?: string;
  moments: ReturnMoments;
  trials: number;
  /** Per-period Sharpe ratio of every column. */
  sharpes: Float64Array;
  trialSharpeVariance: number;
  /** PSR of the best column against 0: what it would be with no selection. */
  psr: number;
}

/**
 * DSR of the best column of a returns matrix, its columns taken as the N trials (pypbo's
 * dsr_from_returns at the best column): SR and moments of that column, V[SR_n] the sample variance of
 * all columns' Sharpe ratios, T the number of rows.
 */
export function deflatedSharpeOfBest(input: ReturnsInput, options: { riskFree?: number; names?: readonly string[] } = {}): BestColumnDsr {
  const m = toReturnsMatrix(input, options.names);
  if (m.columns < 2) throw new Error(`the deflated Sharpe ratio of the best column needs at least 2 columns (trials), got ${m.columns}`);
  const column = new Float64Array(m.rows);
  const all: ReturnMoments[] = [];
  for (let c = 0; c < m.columns; c++) {
    for (let t = 0; t < m.rows; t++) column[t] = m.values[t * m.columns + c]!;
    try {
      all.push(returnMoments(column, options.riskFree ?? 0));
    } catch (err) {
      throw new Error(`column ${c + 1}${m.names ? ` (${m.names[c]})` : ''}: ${(err as Error).message}`);
    }
  }
  const sharpes = Float64Array.from(all, (x) => x.sharpe);
  let best = 0;
  for (let c = 1; c < sharpes.length; c++) if (sharpes[c]! > sharpes[best]!) best = c;
  let mean = 0;
  for (const s of sharpes) mean += s;
  mean /= sharpes.length;
  let ss = 0;
  for (const s of sharpes) ss += (s - mean) ** 2;
  const trialSharpeVariance = ss / (sharpes.length - 1);
  const moments = all[best]!;
  const d = deflatedSharpe({ sharpe: moments.sharpe, periods: m.rows, skewness: moments.skewness, kurtosis: moments.kurtosis, trials: m.columns, trialSharpeVariance });
  return {
    ...d,
    column: best,
    name: m.names?.[best],
    moments,
    trials: m.columns,
    sharpes,
    trialSharpeVariance,
    psr: probabilisticSharpe({ sharpe: moments.sharpe, periods: m.rows, skewness: moments.skewness, kurtosis: moments.kurtosis }),
  };
}
