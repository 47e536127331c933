/**
 * Standardisation fitted on training rows only (BRIEF invariant 5) and shipped in the bundle, so
 * serving scales exactly as training did. Missing values (NaN) become 0 after scaling, i.e. the
 * training mean.
 */
export interface ScalerParams {
  kind: 'standard';
  columns: string[];
  mean: number[];
  std: number[];
}

/** Fits on the given rows of a row-major matrix (n × f), ignoring NaN; a constant column gets std 1. */
export function fitStandardScaler(x: ArrayLike<number>, n: number, columns: string[]): ScalerParams {
  const f = columns.length;
  const sum = new Float64Array(f);
  const count = new Float64Array(f);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) {
      const v = x[i * f + j]!;
      if (Number.isNaN(v)) continue;
      sum[j]! += v;
      count[j]! += 1;
    }
  }
  const mean = Array.from(sum, (s, j) => (count[j]! > 0 ? s / count[j]! : 0));
  const ss = new Float64Array(f);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) {
      const v = x[i * f + j]!;
      if (!Number.isNaN(v)) ss[j]! += (v - mean[j]!) ** 2;
    }
  }
  const std = Array.from(ss, (s, j) => {
    const sd = count[j]! > 1 ? Math.sqrt(s / (count[j]! - 1)) : 0;
    return sd > 0 && Number.isFinite(sd) ? sd : 1;
  });
  return { kind: 'standard', columns: [...columns], mean, std };
}

/** Scales rows in place: (v − mean) / std, NaN → 0. */
/**
 * Scales `rows` rows of raw float64 values from `src` into float32 `dst` at `at`: the same bits as
 * applyScaler in float64 then narrowing (the float64 result is rounded once, on the store), without
 * the float64 copy. Training, `barflow predict` and the live topology all scale this way.
 */
export function scaleInto(p: ScalerParams, src: Float64Array, rows: number, dst: Float32Array, at = 0): void {
  const f = p.columns.length;
  const n = rows * f;
  for (let k = 0; k < n; k++) {
    const j = k % f;
    const v = src[k]!;
    dst[at + k] = Number.isNaN(v) ? 0 : (v - p.mean[j]!) / p.std[j]!;
  }
}

export function applyScaler(p: ScalerParams, x: Float32Array | Float64Array, n: number): void {
  const f = p.columns.length;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) {
      const k = i * f + j;
      const v = x[k]!;
      x[k] = Number.isNaN(v) ? 0 : (v - p.mean[j]!) / p.std[j]!;
    }
  }
}
