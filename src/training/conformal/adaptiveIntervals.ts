import type { FeatureTable } from '../featureTable.js';
import type { ContractParams } from '../objectives/outputContract.js';
import { intervalFields } from '../objectives/objective.js';
import { AdaptiveConformal } from './adaptiveConformal.js';

/**
 * Adaptive conformal inference (Gibbs and Candès 2021) over a predicted table: per symbol, in time
 * order, the interval of each row is issued at the current level 1 − α_t, and α_t moves with the
 * realised misses, each observed only once its label has ended (its t1 ≤ the row being predicted),
 * so coverage tracks drift instead of assuming the calibration slice's exchangeability. Causal: a
 * row's interval depends on the outcomes of labels that ended before it, never on its own or later
 * ones. Regression intervals are e_r ± the level's quantile of the calibration slice's |y − ŷ|;
 * quantile models' are the CQR interval (width-scaled scores) at that level.
 */
export interface Outcomes {
  /** Per table row: the realised target the interval is for (the return), NaN when unlabelled. */
  y: Float64Array;
  /** Per table row: when that outcome is known (the label's end), NaN when unlabelled. */
  t1: Float64Array;
}

export function adaptIntervals(params: ContractParams, coverage: number, gamma: number, table: FeatureTable, rows: ArrayLike<number>, fields: Record<string, Float64Array>, outcomes: Outcomes): { observed: number; missed: number } {
  const [loName, hiName] = intervalFields(coverage);
  const lo = fields[loName]!;
  const hi = fields[hiName]!;
  const unc = fields.uncertainty!;
  const position = new Int32Array(table.n).fill(-1);
  for (let i = 0; i < rows.length; i++) position[rows[i]!] = i;
  const regression = params.objective === 'regression';
  const scores = regression ? (params.interval as { scores: number[] }).scores : (params as { scores?: number[] }).scores;
  if (scores === undefined) throw new Error('adaptive conformal: the bundle keeps no calibration scores');
  const shift = regression ? 0 : (params as { conformal: { shift: number }[] }).conformal[0]!.shift;
  let observed = 0;
  let missed = 0;
  for (let k = 0; k < table.symbols.length; k++) {
    const aci = new AdaptiveConformal({ coverage, gamma, scores, emptyQuantile: regression ? 0 : Number.NEGATIVE_INFINITY });
    for (let r = table.symbolStart[k]!; r < table.symbolStart[k + 1]!; r++) {
      aci.advance(table.ts[r]!, (id) => outcomes.y[id]);
      const i = position[r]!;
      if (i < 0 || Number.isNaN(lo[i]!)) continue;
      const q = aci.quantile();
      let a: number;
      let b: number;
      if (regression) {
        const e = fields.e_r![i]!;
        a = e - q;
        b = e + q;
      } else {
        // Undo the stored CQR shift (both ends moved by shift × width), then apply the level's.
        const w = (hi[i]! - lo[i]!) / (1 + 2 * shift);
        const rawLo = lo[i]! + shift * w;
        const rawHi = hi[i]! - shift * w;
        a = rawLo - q * w;
        b = rawHi + q * w;
      }
      if (!(a <= b)) b = a;
      lo[i] = a;
      hi[i] = b;
      if (regression || unc !== undefined) unc[i] = b - a;
      if (!Number.isNaN(outcomes.t1[r]!) && !Number.isNaN(outcomes.y[r]!)) aci.predict(r, table.ts[r]!, outcomes.t1[r]!, a, b);
    }
    observed += aci.observed;
    missed += aci.missed;
  }
  return { observed, missed };
}
