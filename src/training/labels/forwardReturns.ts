/**
 * Forward-return regression targets: for horizon h bars, close[i + h] / close[i] − 1 (or the log of
 * the ratio), with t1 = ts[i + h]. Horizons count bars of the symbol, not clock minutes, so a
 * session gap inside the window is spanned (t1 says how far it reached). Rows within h bars of the
 * data end get NaN, not a shorter horizon.
 */
export function labelForwardReturns(ts: Float64Array, close: Float64Array, horizon: number, log: boolean, value: Float64Array, t1: Float64Array, at: number): void {
  const n = ts.length;
  for (let i = 0; i < n; i++) {
    const j = i + horizon;
    if (j >= n) {
      value[at + i] = Number.NaN;
      t1[at + i] = Number.NaN;
      continue;
    }
    const ratio = close[j]! / close[i]!;
    value[at + i] = log ? Math.log(ratio) : ratio - 1;
    t1[at + i] = ts[j]!;
  }
}
