/** A fitted linear regression: e_r = x · weights + intercept, on scaled features. */
export interface LinearModel {
  weights: Float64Array;
  intercept: number;
  /** Solver passes (1 for the closed form; coordinate-descent sweeps for elastic net). */
  iterations: number;
  /** false when an iterative solver stopped at its iteration limit before its tolerance. */
  converged: boolean;
}

/** Predictions for scaled rows (row-major n × f), in float64. */
export function predictLinear(m: LinearModel, x: ArrayLike<number>, n: number, out = new Float64Array(n)): Float64Array {
  const f = m.weights.length;
  for (let i = 0; i < n; i++) {
    let s = m.intercept;
    for (let j = 0; j < f; j++) s += x[i * f + j]! * m.weights[j]!;
    out[i] = s;
  }
  return out;
}
