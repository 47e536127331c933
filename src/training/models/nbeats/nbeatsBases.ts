/**
 * The fixed linear maps of N-BEATS' interpretable blocks and N-HiTS' forecasts, as Dense kernels
 * [in, out] (row-major): y_j = Σᵢ θᵢ · K[i][j].
 */

/** Trend (N-BEATS eq. 3): polynomial tᵏ of degree `degree` on t = j / n. */
export function trendBasis(degree: number, n: number): { shape: [number, number]; values: Float32Array } {
  const values = new Float32Array((degree + 1) * n);
  for (let k = 0; k <= degree; k++) for (let j = 0; j < n; j++) values[k * n + j] = (j / n) ** k;
  return { shape: [degree + 1, n], values };
}

/** Seasonality (N-BEATS eq. 4): cos(2π i t) and sin(2π i t), i = 0 … ⌊n/2⌋ − 1, on t = j / n. */
export function seasonalityBasis(n: number): { shape: [number, number]; values: Float32Array } {
  const harmonics = Math.max(1, Math.floor(n / 2));
  const values = new Float32Array(2 * harmonics * n);
  for (let i = 0; i < harmonics; i++) {
    for (let j = 0; j < n; j++) {
      values[i * n + j] = Math.cos((2 * Math.PI * i * j) / n);
      values[(harmonics + i) * n + j] = Math.sin((2 * Math.PI * i * j) / n);
    }
  }
  return { shape: [2 * harmonics, n], values };
}

/**
 * N-HiTS' hierarchical interpolation: m knots to n steps, linearly, as PyTorch's
 * `F.interpolate(mode='linear', align_corners=False)` (NeuralForecast's choice): step j reads the
 * knots around (j + ½)·m/n − ½, clamped to the ends.
 */
export function interpolationBasis(m: number, n: number): { shape: [number, number]; values: Float32Array } {
  const values = new Float32Array(m * n);
  for (let j = 0; j < n; j++) {
    const src = Math.min(m - 1, Math.max(0, ((j + 0.5) * m) / n - 0.5));
    const i0 = Math.floor(src);
    const i1 = Math.min(i0 + 1, m - 1);
    const w = src - i0;
    values[i0 * n + j]! += 1 - w;
    values[i1 * n + j]! += w;
  }
  return { shape: [m, n], values };
}
