import { type ObjectiveSpec, quantileName } from '../objectives/objective.js';
import { classificationMetrics } from './classificationMetrics.js';
import { meanOf } from './metricMean.js';
import { binaryMacroF1, multiclassMetrics } from './multiclassMetrics.js';
import { quantileMetrics } from './quantileMetrics.js';
import { regressionMetrics } from './regressionMetrics.js';

/**
 * The metrics of an objective as one flat record of numbers (per fold, overall, in metrics.json
 * and the fold checkpoints): classification log loss, Brier, AUC, accuracy, macro-F1; regression
 * RMSE, MAE, R², directional accuracy, information coefficient; quantile pinball loss per level
 * (`pinball_q05`…) and the coverage of the outer interval. `n` counts the rows scored.
 */
export type ObjectiveMetrics = Record<string, number>;

/** `out`: the declared outputs (`fields`) of each row, row-major; `y`: the objective's target. */
export function objectiveMetrics(spec: ObjectiveSpec, fields: readonly string[], out: Float64Array, y: ArrayLike<number>): ObjectiveMetrics {
  const n = y.length;
  const w = fields.length;
  const column = (name: string) => {
    const j = fields.indexOf(name);
    if (j < 0) throw new Error(`objective ${spec.objective}: no field ${name} among ${fields.join(', ')}`);
    return Float64Array.from({ length: n }, (_, i) => out[i * w + j]!);
  };
  switch (spec.objective) {
    case 'binary': {
      const p = column('p_up');
      return flat({ ...classificationMetrics(p, y), macroF1: binaryMacroF1(p, y) });
    }
    case 'multiclass': {
      const names = ['p_down', 'p_timeout', 'p_up'];
      const cols = names.map(column);
      const probs = new Float64Array(n * 3);
      for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) probs[i * 3 + k] = cols[k]![i]!;
      return flat(multiclassMetrics(probs, y, 3));
    }
    case 'regression':
      return flat(regressionMetrics(column('e_r'), y));
    case 'quantile': {
      const k = spec.quantiles.length;
      const cols = spec.quantiles.map((q) => column(quantileName(q)));
      const q = new Float64Array(n * k);
      for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) q[i * k + j] = cols[j]![i]!;
      const { pinball, ...rest } = quantileMetrics(q, spec.quantiles, y);
      return { ...flat(rest), ...Object.fromEntries(pinball.map((v, j) => [`pinball_${quantileName(spec.quantiles[j]!)}`, v])) };
    }
  }
}

/** Numbers kept; per-level arrays named after their level or class. */
function flat(m: object): ObjectiveMetrics {
  const out: ObjectiveMetrics = {};
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === 'number') out[k] = v;
    else if (Array.isArray(v)) v.forEach((x, i) => typeof x === 'number' && (out[`${k}_${i}`] = x));
    else if (v !== null && typeof v === 'object') for (const [kk, vv] of Object.entries(v)) if (typeof vv === 'number') out[`${k}_${kk}`] = vv;
  }
  return out;
}

/** JSON has no NaN (an AUC of a one-class fold): null is NaN again, as in a straight run. */
export function metricsFromJson(m: Record<string, number | null>): ObjectiveMetrics {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v === null ? Number.NaN : v]));
}

/** The mean of each metric over folds (rows counts are not averaged). */
export function meanOfMetrics(ms: readonly ObjectiveMetrics[]): ObjectiveMetrics {
  const { n: _n, skipped: _skipped, ...mean } = meanOf(ms);
  return mean;
}
