import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DEFAULT_QUANTILES, OBJECTIVES, QuantileLevels } from '../objectives/objective.js';

/**
 * `barflow train --config C.yaml`: validated before any work, an error names the field. Model
 * parameters are validated by the model's own schema (models/index.ts) at the same point.
 */
const Embargo = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+(?:\.\d+)?\s*(ms|s|m|min|h|d)$/, 'bars (60) or a duration (30m, 2h)')]);

export const TrainConfigSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/).describe('bundle and model name'),
    version: z.string().regex(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/, 'a semantic version, e.g. 1.0.0').default('1.0.0'),
    seed: z.number().int().nonnegative().default(7),
    dataset: z.string().describe('dataset folder (barflow replay) with labels (barflow label)'),
    labels: z.object({ set: z.string().optional(), target: z.string().default('tb') }).strict().default({ target: 'tb' }).describe('the label set and target (objective binary: y = 1 when the target is > 0)'),
    objective: z
      .enum(OBJECTIVES)
      .default('binary')
      .describe('binary: P(target > 0); multiclass: the triple barrier\'s classes (down, time-out, up); regression: the return (the target\'s <target>_ret when labelled, else the target); quantile: the return\'s quantiles'),
    quantiles: QuantileLevels.default([...DEFAULT_QUANTILES]).describe('quantile levels of objective quantile, ascending (fields q05, q50, q95…)'),
    // Levels (prices, volumes, ATR in price units…) tell a model which instrument and which year it
    // is looking at rather than what the market does, so only an explicit choice brings them in.
    features: z
      .union([z.literal('stationary'), z.literal('all'), z.array(z.string()).min(1), z.object({ exclude: z.array(z.string()) }).strict()])
      .default('stationary')
      .describe('feature subset of this model: stationary (the default: the columns whose role is stationary), all (levels too), a list of columns (may name levels), or { exclude: [...] } (from the stationary ones)'),
    view: z.object({ seqLen: z.number().int().min(2).max(4096).default(32) }).strict().default({ seqLen: 32 }).describe('window view parameters (window models)'),
    cv: z
      .object({
        method: z.enum(['purged_kfold', 'walk_forward', 'cpcv']).default('purged_kfold'),
        k: z.number().int().min(2).max(50).default(5),
        groups: z.number().int().min(2).max(20).default(6),
        testGroups: z.number().int().min(1).max(19).default(2),
        embargo: Embargo.default('30m'),
      })
      .strict()
      .default({ method: 'purged_kfold', k: 5, groups: 6, testGroups: 2, embargo: '30m' })
      .describe('cross-validation: out-of-fold predictions and metrics'),
    calibration: z
      .object({ method: z.enum(['temperature', 'isotonic', 'none']).default('temperature'), fraction: z.number().gt(0).lt(0.5).default(0.2) })
      .strict()
      .default({ method: 'temperature', fraction: 0.2 })
      .describe('fitted on the last `fraction` (by time) of each training set, purged from the rows fitted'),
    model: z.object({ kind: z.string(), params: z.record(z.string(), z.unknown()).default({}) }).strict(),
    out: z.string().describe('bundle folder to write'),
  })
  .strict();

export type TrainConfig = z.infer<typeof TrainConfigSchema>;

export function parseTrainConfig(doc: unknown, source: string): TrainConfig {
  const parsed = TrainConfigSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

export function readTrainConfig(path: string): { config: TrainConfig; text: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the training config ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new Error(`${path}: not valid YAML: ${(err as Error).message}`);
  }
  return { config: parseTrainConfig(doc, path), text };
}
