import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DEFAULT_QUANTILES, OBJECTIVES, QuantileLevels } from '../objectives/objective.js';

const Params = z.record(z.string(), z.unknown()).default({});

export const SingleModelSchema = z.object({ kind: z.string(), params: Params }).strict();

/** A base model of an ensemble: any kind, with its own window when it reads one. */
const BaseModelSchema = z
  .object({ kind: z.string(), params: Params, view: z.object({ seqLen: z.number().int().min(2).max(4096) }).strict().optional().describe('its window (window kinds) [the config\'s view]') })
  .strict();

/** Meta-learners of a stack (training/ensembles/metaLearner.ts). */
export const META_KINDS = ['ridge', 'elastic_net', 'logistic', 'lightgbm', 'blender'] as const;

export const StackingSchema = z
  .object({
    kind: z.literal('stacking'),
    base: z.array(BaseModelSchema).min(2).max(8),
    meta: z.object({ kind: z.enum(META_KINDS), params: Params }).strict(),
    innerFolds: z.number().int().min(2).max(10).default(3).describe('purged folds inside each outer training set (nested CV): the meta-learner of an outer fold learns from these out-of-fold rows only'),
    regimeInputs: z.boolean().default(false).describe('the regime filter\'s state probabilities as extra meta inputs'),
  })
  .strict();

export const VotingSchema = z
  .object({
    kind: z.literal('voting'),
    base: z.array(BaseModelSchema).min(2).max(8),
    weights: z
      .union([z.array(z.number().nonnegative()).min(2), z.enum(['equal', 'fitted', 'gated'])])
      .default('equal')
      .describe('fixed weights, equal, fitted (on out-of-fold rows only), or gated (per filtered regime state, fitted on out-of-fold rows)'),
    space: z.enum(['probability', 'logit']).default('probability').describe('binary: average probabilities or their logits'),
  })
  .strict();

export type SingleModelConfig = z.infer<typeof SingleModelSchema>;
export type BaseModelConfig = z.infer<typeof BaseModelSchema>;
export type StackingConfig = z.infer<typeof StackingSchema>;
export type VotingConfig = z.infer<typeof VotingSchema>;
export type ModelSection = SingleModelConfig | StackingConfig | VotingConfig;

export const RegimeSchema = z
  .object({
    method: z.literal('hmm'),
    states: z.number().int().min(2).max(4).default(2),
    features: z.array(z.string()).min(1).max(8).default(['ret1_1m', 'retstd20_1m']).describe('the observation columns (the first is the one whose variance orders the states)'),
    maxIterations: z.number().int().min(1).max(1000).default(100),
  })
  .strict();
export type RegimeConfig = z.infer<typeof RegimeSchema>;

export const CONFORMAL_METHODS = ['split', 'cqr', 'jackknife_plus', 'adaptive'] as const;
export const ConformalSchema = z
  .object({
    method: z.enum(CONFORMAL_METHODS),
    coverage: z.number().gt(0).lt(1).default(0.9),
    gamma: z.number().gt(0).lt(1).default(0.005).describe('adaptive: the step of the level update (Gibbs and Candès 2021)'),
  })
  .strict();
export type ConformalConfig = z.infer<typeof ConformalSchema>;

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
      .object({ method: z.enum(['temperature', 'isotonic', 'isotonic_temperature', 'none']).default('temperature'), fraction: z.number().gt(0).lt(0.5).default(0.2) })
      .strict()
      .default({ method: 'temperature', fraction: 0.2 })
      .describe('fitted on the last `fraction` (by time) of each training set, purged from the rows fitted; isotonic_temperature: isotonic, then a temperature on its output (double calibration)'),
    regime: RegimeSchema.optional().describe('a causal regime filter: regime_score in every prediction'),
    conformal: ConformalSchema.optional().describe('conformal intervals: the served outer quantile fields become the interval for `coverage`'),
    model: z.object({ kind: z.string() }).passthrough().describe('{ kind, params } or an ensemble: { kind: stacking, base, meta } / { kind: voting, base, weights }'),
    out: z.string().describe('bundle folder to write'),
  })
  .strict();

export type TrainConfig = Omit<z.infer<typeof TrainConfigSchema>, 'model'> & { model: ModelSection };

export function parseTrainConfig(doc: unknown, source: string): TrainConfig {
  const parsed = TrainConfigSchema.safeParse(doc);
  if (!parsed.success) throw new Error(`${source}: ${firstIssue(parsed.error)}`);
  // The model section's schema depends on its kind: one schema per form, so that an error names
  // the field of the form it is in rather than a union's alternatives.
  const kind = parsed.data.model.kind;
  const schema = kind === 'stacking' ? StackingSchema : kind === 'voting' ? VotingSchema : SingleModelSchema;
  const model = schema.safeParse(parsed.data.model);
  if (!model.success) throw new Error(`${source}: model.${firstIssue(model.error)}`.replace('model.(root)', 'model'));
  const config = { ...parsed.data, model: model.data as ModelSection };
  checkEnsembleConfig(config, source);
  return config;
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `${issue.path.join('.') || '(root)'}: ${issue.message}`;
}

export const isStacking = (m: ModelSection): m is StackingConfig => m.kind === 'stacking';
export const isVoting = (m: ModelSection): m is VotingConfig => m.kind === 'voting';
export const isEnsemble = (m: ModelSection): m is StackingConfig | VotingConfig => isStacking(m) || isVoting(m);

function checkEnsembleConfig(config: TrainConfig, source: string): void {
  const m = config.model;
  if (isVoting(m) && m.weights === 'gated' && config.regime === undefined) throw new Error(`${source}: model.weights: gated weights are conditional on the regime: add regime: { method: hmm, states: 2 }`);
  if (isVoting(m) && Array.isArray(m.weights) && m.weights.length !== m.base.length) throw new Error(`${source}: model.weights: ${m.weights.length} weights for ${m.base.length} base models`);
  if (isStacking(m) && m.regimeInputs && config.regime === undefined) throw new Error(`${source}: model.regimeInputs: the regime's probabilities as meta inputs need regime: { method: hmm, states: 2 }`);
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
