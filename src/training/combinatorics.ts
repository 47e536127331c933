// Counting and listing k-subsets: shared by CPCV (splits) and CSCV (PBO), which must agree with R's
// combn and Python's itertools.combinations on the order of the splits.

/** n choose k, exactly (throws past 2^53). */
export function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  const rounded = Math.round(r);
  if (!Number.isSafeInteger(rounded)) throw new Error(`C(${n}, ${k}) is too large`);
  return rounded;
}

/** The k-subsets of 0..n-1 in lexicographic order, the order of R's combn and Python's itertools.combinations. */
export function* combinationsOf(n: number, k: number): Generator<Int32Array> {
  const c = Int32Array.from({ length: k }, (_, i) => i);
  while (true) {
    yield c.slice();
    let i = k - 1;
    while (i >= 0 && c[i] === n - k + i) i--;
    if (i < 0) return;
    c[i]!++;
    for (let j = i + 1; j < k; j++) c[j] = c[j - 1]! + 1;
  }
}
