import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { FeatureSet } from '../operators/featureSet.js';

/**
 * The prediction contract every model honours (BRIEF: p_up, e_r, q05/q50/q95, uncertainty,
 * regime_score). Values are float64; NaN when the model cannot say (for example while the
 * features it reads are still warming up).
 */
export const PREDICTION_FIELDS = ['p_up', 'e_r', 'q05', 'q50', 'q95', 'uncertainty', 'regime_score'] as const;
export type PredictionField = (typeof PREDICTION_FIELDS)[number];

/**
 * A model as the live topology sees it: feature values in, the contract's values out, in
 * PREDICTION_FIELDS order. `predict` must be a pure function of its input (no clock, no random),
 * so that a row re-processed after a restart predicts the same bits. Bundles (a later issue)
 * implement this same interface.
 */
export interface Predictor {
  readonly name: string;
  readonly version: string;
  /** Writes the prediction for one feature row into `out` (length PREDICTION_FIELDS.length). */
  predict(values: Float64Array, out: Float64Array): void;
}

export const DriftModelSchema = z
  .object({
    builtin: z.literal('drift').describe('the built-in baseline: a normal distribution of the next return'),
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('drift-baseline').describe('model name written with each prediction'),
    mean: z.string().default('retmean20_1m').describe('feature column taken as the expected next log return'),
    std: z.string().default('retstd20_1m').describe('feature column taken as the standard deviation of the next log return'),
  })
  .strict();
export type DriftModelConfig = z.infer<typeof DriftModelSchema>;

/**
 * The trivial built-in model, so the prediction path is exercised end to end before trained
 * bundles exist: the next 1-minute log return is taken as Normal(mean, std) of two feature
 * columns (by default the 20-bar mean and standard deviation of 1m log returns). p_up = Φ(mean/std),
 * quantiles from the normal, uncertainty = std, regime_score = mean/std (a signal-to-noise ratio).
 */
export class DriftPredictor implements Predictor {
  readonly name: string;
  readonly version = '1';
  private readonly mean: number;
  private readonly std: number;

  constructor(featureSet: FeatureSet, config: DriftModelConfig) {
    this.name = config.name;
    const index = (column: string) => {
      const i = featureSet.columns.findIndex((c) => c.name === column);
      if (i < 0) throw new Error(`model ${config.name}: feature set ${featureSet.name} has no column ${column}`);
      return i;
    };
    this.mean = index(config.mean);
    this.std = index(config.std);
  }

  predict(values: Float64Array, out: Float64Array): void {
    const mu = values[this.mean]!;
    const sigma = values[this.std]!;
    if (!(sigma > 0) || Number.isNaN(mu)) {
      out.fill(Number.NaN);
      return;
    }
    const z = mu / sigma;
    out[0] = normalCdf(z);
    out[1] = mu;
    out[2] = mu - Z95 * sigma;
    out[3] = mu;
    out[4] = mu + Z95 * sigma;
    out[5] = sigma;
    out[6] = z;
  }
}

const Z95 = 1.6448536269514722;

/**
 * Φ(z) via erfc, with the Chebyshev fit known as Numerical Recipes' erfcc (relative error below
 * 1.2e-7: plenty for a baseline). Written out because JS has no erf.
 */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const erfc =
    t *
    Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return z >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/**
 * The layout of a predictions table: the model's fields as DOUBLE columns, keyed by (ts, symbol).
 * `fields` defaults to the contract's (a bundle adds its own after them: class probabilities,
 * other quantile levels); the hash of a model with only the contract's fields is what it was.
 */
export function predictionSchema(model: Pick<Predictor, 'name' | 'version'> & { fields?: readonly string[] }): { name: string; version: number; schemaHash: string; columns: { name: string }[] } {
  const fields = model.fields ?? PREDICTION_FIELDS;
  const columns = fields.map((name) => ({ name }));
  const schemaHash = createHash('sha256').update(`predictions\n${model.name}\n${model.version}\n${fields.join(',')}`).digest('hex');
  return { name: `predictions:${model.name}`, version: 1, schemaHash, columns };
}
