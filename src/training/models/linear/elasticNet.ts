import { interceptFor, type CentredGram } from './centredGram.js';
import type { LinearModel } from './linearModel.js';

export interface ElasticNetParams {
  /** Overall penalty strength α (> 0), on sklearn's per-row scale. */
  alpha: number;
  /** Share ρ of the penalty that is L1, in [0, 1]. */
  l1Ratio: number;
  /** Stop after a sweep whose largest coefficient change is below this. */
  tolerance: number;
  /** Most coordinate-descent sweeps. */
  maxIterations: number;
}

/**
 * Elastic net by cyclic coordinate descent, minimising sklearn ElasticNet's objective
 *   1/(2n)·‖y − X·w − b‖² + α·ρ·‖w‖₁ + ½·α·(1 − ρ)·‖w‖²
 * (note the 1/(2n): α here is on a per-row scale, unlike ridge's λ). The intercept is not
 * penalised and drops out by centring. The sweeps run on the centred Gram matrix (sklearn's
 * precompute mode), so each costs f², whatever n. The objective is strictly convex for ρ < 1 and
 * convex at ρ = 1, so the sweep order (0 … f − 1, fixed) reaches the same optimum as sklearn's.
 */
export function fitElasticNet(g: CentredGram, p: ElasticNetParams): LinearModel {
  if (!(p.alpha > 0)) throw new Error(`elastic net: alpha must be > 0, got ${p.alpha}`);
  if (!(p.l1Ratio >= 0 && p.l1Ratio <= 1)) throw new Error(`elastic net: l1Ratio must be in [0, 1], got ${p.l1Ratio}`);
  const { f, n, gram, xty } = g;
  const l1 = n * p.alpha * p.l1Ratio;
  const l2 = n * p.alpha * (1 - p.l1Ratio);
  const w = new Float64Array(f);
  // gw = Gram · w, kept up to date so that a coordinate's partial residual correlation is O(1).
  const gw = new Float64Array(f);
  let sweeps = 0;
  let converged = false;
  while (sweeps < p.maxIterations) {
    sweeps++;
    let change = 0;
    for (let j = 0; j < f; j++) {
      const gjj = gram[j * f + j]!;
      if (gjj === 0 && l2 === 0) continue; // a constant column: its weight stays 0
      const old = w[j]!;
      const rho = xty[j]! - gw[j]! + gjj * old;
      const next = softThreshold(rho, l1) / (gjj + l2);
      const delta = next - old;
      if (delta !== 0) {
        w[j] = next;
        for (let a = 0; a < f; a++) gw[a]! += gram[a * f + j]! * delta;
        change = Math.max(change, Math.abs(delta));
      }
    }
    if (change < p.tolerance) {
      converged = true;
      break;
    }
  }
  return { weights: w, intercept: interceptFor(g, w), iterations: sweeps, converged };
}

function softThreshold(v: number, t: number): number {
  return v > t ? v - t : v < -t ? v + t : 0;
}
