import { z } from 'zod';

/**
 * What a model learns to predict. binary: P(target > 0); multiclass: the triple barrier's three
 * classes (down, time-out, up); regression: the return itself; quantile: the return's quantiles
 * at the configured levels (pinball loss).
 */
export const OBJECTIVES = ['binary', 'multiclass', 'regression', 'quantile'] as const;
export type Objective = (typeof OBJECTIVES)[number];

export const MULTICLASS_CLASSES = ['down', 'timeout', 'up'] as const;

export interface ObjectiveSpec {
  objective: Objective;
  /** Quantile levels, ascending, strictly inside (0, 1); used by `quantile` only. */
  quantiles: readonly number[];
  /** A conformal interval at `coverage` (config `conformal`): its ends are the fields intervalFields names. */
  interval?: IntervalSpec;
}

export const INTERVAL_METHODS = ['split', 'cqr', 'jackknife_plus', 'adaptive'] as const;
export interface IntervalSpec {
  method: (typeof INTERVAL_METHODS)[number];
  coverage: number;
  /** jackknife_plus: the fold models whose predictions the raw row carries after the final model's. */
  folds?: number;
  /** adaptive: the step of the level update. */
  gamma?: number;
}

/** The quantile fields of a central interval at `coverage`: 0.9 → q05, q95. */
export function intervalFields(coverage: number): [string, string] {
  return [quantileName((1 - coverage) / 2), quantileName((1 + coverage) / 2)];
}

/** The two levels of a central interval at `coverage`, rounded as a config writes them (0.9 → 0.05, 0.95). */
export function intervalLevels(coverage: number): [number, number] {
  return [Number(((1 - coverage) / 2).toFixed(9)), Number(((1 + coverage) / 2).toFixed(9))];
}

export const DEFAULT_QUANTILES = [0.05, 0.5, 0.95] as const;

export const QuantileLevels = z
  .array(z.number().gt(0).lt(1))
  .min(1)
  .max(19)
  .refine((q) => q.every((v, i) => i === 0 || v > q[i - 1]!), 'quantile levels must be strictly ascending')
  .refine((q) => new Set(q.map(quantileName)).size === q.length, 'quantile levels must have distinct names (q05, q50…)');

/** q05 for 0.05, q50 for 0.5, q975 for 0.975: the level in percent, digits only. */
export function quantileName(level: number): string {
  const pct = Number((level * 100).toFixed(6));
  const [whole, frac = ''] = String(pct).split('.');
  return `q${whole!.padStart(2, '0')}${frac}`;
}

/**
 * The columns a model's scorer produces for an objective (before the output contract: calibration,
 * sorting of quantiles). binary: P(up) uncalibrated; multiclass: one probability per class.
 */
export function rawOutputs(spec: ObjectiveSpec): string[] {
  switch (spec.objective) {
    case 'binary':
      return ['p_up'];
    case 'multiclass':
      return MULTICLASS_CLASSES.map((c) => `p_${c}`);
    case 'regression':
      return ['e_r'];
    case 'quantile':
      return spec.quantiles.map(quantileName);
  }
}

/** Pinball (quantile) loss of one prediction: the loss quantile models minimise. */
export function pinball(level: number, y: number, q: number): number {
  const d = y - q;
  return d >= 0 ? level * d : (level - 1) * d;
}
