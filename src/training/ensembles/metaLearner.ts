import { lightgbmKind } from '../models/lightgbm/lightgbmKind.js';
import { linearKind } from '../models/linear/linearKind.js';
import { logisticKind } from '../models/logistic/logisticKind.js';
import type { ModelKind, Scorer } from '../models/modelRegistry.js';
import { type ObjectiveSpec, rawOutputs } from '../objectives/objective.js';
import { poolKind } from './poolKind.js';

/**
 * How an ensemble turns its bases' outputs into one raw row, by its config: the kind fitted on the
 * out-of-fold rows, its params, the objective that kind learns (a ridge meta-learner regresses the
 * 0/1 target of a binary ensemble), whether its inputs are standardised, and how its scores become
 * the ensemble's raw row. Rebuilt from the bundle's ensemble section at load, so training and
 * serving read the same inputs the same way.
 */
export interface EnsembleSpec {
  /** `stacking` (a meta-learner on transformed base outputs) or `voting` (a pool of the raw outputs). */
  form: 'stacking' | 'voting';
  meta: { kind: string; params: Record<string, unknown> };
  bases: number;
  /** Regime states whose filtered probabilities follow the base values (gated voting, stacking with regimeInputs). */
  states: number;
}

export interface MetaChoice {
  kind: ModelKind;
  params: unknown;
  kindSpec: ObjectiveSpec;
  /** false: the pool reads the bases' values as they are. */
  standardise: boolean;
  /** The meta-inputs' names, in order. */
  columns: string[];
  /** Writes row i's meta-inputs from the bases' raw-like values (bases × width) and the state probabilities. */
  inputs(values: Float64Array, regime: Float64Array | null, out: Float64Array, at: number): void;
  /** The ensemble's raw scorer from the meta-learner's. */
  wrap(scorer: Scorer): Scorer;
}

const EPS = 1e-6;
const clipP = (v: number) => Math.min(1 - EPS, Math.max(EPS, v));

/** The fields of a base's declared outputs an ensemble reads: its raw-like values, in rawOutputs order. */
export function baseFields(spec: ObjectiveSpec): string[] {
  return rawOutputs({ objective: spec.objective, quantiles: spec.quantiles });
}

export function metaChoice(e: EnsembleSpec, spec: ObjectiveSpec): MetaChoice {
  const width = baseFields(spec).length;
  const stateNames = Array.from({ length: e.states }, (_, s) => `regime_p${s}`);
  const raw = baseFields(spec);
  const identity = (s: Scorer) => s;
  const plainInputs = (values: Float64Array, regime: Float64Array | null, out: Float64Array, at: number) => {
    out.set(values.subarray(0, e.bases * width), at);
    if (e.states > 0) out.set(regime!.subarray(0, e.states), at + e.bases * width);
  };
  if (e.form === 'voting' || e.meta.kind === 'blender') {
    const weights = e.form === 'voting' ? (e.meta.params.weights ?? 'equal') : 'fitted';
    return {
      kind: poolKind as ModelKind,
      params: poolKind.params.parse({ bases: e.bases, weights, space: e.meta.params.space ?? 'probability', states: e.states }),
      kindSpec: spec,
      standardise: false,
      columns: [...Array.from({ length: e.bases }, (_, b) => raw.map((f) => `base${b}_${f}`)).flat(), ...stateNames],
      inputs: plainInputs,
      wrap: identity,
    };
  }
  // Stacking: probabilities enter as logits (a linear meta-learner on logits is a log-linear pool),
  // returns and quantiles as they are.
  const transform = spec.objective === 'binary' ? (p: number) => Math.log(clipP(p) / (1 - clipP(p))) : spec.objective === 'multiclass' ? (p: number) => Math.log(Math.max(EPS, p)) : (v: number) => v;
  const names = spec.objective === 'binary' ? ['logit_p_up'] : spec.objective === 'multiclass' ? raw.map((f) => `log_${f}`) : raw;
  const columns = [...Array.from({ length: e.bases }, (_, b) => names.map((f) => `base${b}_${f}`)).flat(), ...stateNames];
  const inputs = (values: Float64Array, regime: Float64Array | null, out: Float64Array, at: number) => {
    for (let k = 0; k < e.bases * width; k++) out[at + k] = transform(values[k]!);
    if (e.states > 0) out.set(regime!.subarray(0, e.states), at + e.bases * width);
  };
  const params = e.meta.params;
  switch (e.meta.kind) {
    case 'ridge':
    case 'elastic_net': {
      if (spec.objective !== 'binary' && spec.objective !== 'regression') throw new Error(`meta ${e.meta.kind}: a linear regression meta-learner serves objectives binary and regression, not ${spec.objective} (use logistic or lightgbm)`);
      const kindParams = linearKind.params.parse({ penalty: e.meta.kind, ...params });
      // A binary stack regresses the 0/1 target: its score, clipped into (0, 1), is the raw P(up) the contract calibrates.
      const wrap = spec.objective === 'binary' ? (s: Scorer): Scorer => ({ outputs: ['p_up'], score: async (x, dims) => (await s.score(x, dims)).map(clipP) }) : identity;
      return { kind: linearKind as ModelKind, params: kindParams, kindSpec: { objective: 'regression', quantiles: [] }, standardise: true, columns, inputs, wrap };
    }
    case 'logistic':
      if (spec.objective !== 'binary' && spec.objective !== 'multiclass') throw new Error(`meta logistic serves objectives binary and multiclass, not ${spec.objective} (use ridge or lightgbm)`);
      return { kind: logisticKind as ModelKind, params: logisticKind.params.parse(params), kindSpec: spec, standardise: true, columns, inputs, wrap: identity };
    case 'lightgbm': {
      // A meta-learner on a handful of inputs overfits the out-of-fold rows quickly: shallow and few.
      const p = lightgbmKind.params.parse({ numRounds: 100, maxDepth: 3, numLeaves: 8, ...params });
      if (p.maxDepth < 1 || p.maxDepth > 3 || p.numRounds > 100) throw new Error(`meta lightgbm: maxDepth must be 1…3 and numRounds ≤ 100 (got ${p.maxDepth}, ${p.numRounds})`);
      return { kind: lightgbmKind as ModelKind, params: p, kindSpec: spec, standardise: true, columns, inputs, wrap: identity };
    }
    default:
      throw new Error(`unknown meta-learner ${e.meta.kind}`);
  }
}

