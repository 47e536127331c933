/**
 * Solves A·s = g for a symmetric positive-definite A (d × d, row-major; only the lower triangle is
 * read) by Cholesky. A is overwritten with its factor. `what` names the model in the error, which
 * is raised when A is not positive definite (in practice: no penalty on a degenerate design).
 */
export function choleskySolve(a: Float64Array, g: ArrayLike<number>, d: number, what: string): Float64Array {
  for (let j = 0; j < d; j++) {
    let s = a[j * d + j]!;
    for (let k = 0; k < j; k++) s -= a[j * d + k]! ** 2;
    if (!(s > 0)) throw new Error(what);
    const l = Math.sqrt(s);
    a[j * d + j] = l;
    for (let i = j + 1; i < d; i++) {
      let t = a[i * d + j]!;
      for (let k = 0; k < j; k++) t -= a[i * d + k]! * a[j * d + k]!;
      a[i * d + j] = t / l;
    }
  }
  const z = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let t = g[i]!;
    for (let k = 0; k < i; k++) t -= a[i * d + k]! * z[k]!;
    z[i] = t / a[i * d + i]!;
  }
  const s = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let t = z[i]!;
    for (let k = i + 1; k < d; k++) t -= a[k * d + i]! * s[k]!;
    s[i] = t / a[i * d + i]!;
  }
  return s;
}
