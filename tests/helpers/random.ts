/**
 * Seeded random numbers for tests, so synthetic data and random choices are the same on every
 * machine and a failing run can be replayed from its seed (tests never use Math.random).
 */

/** mulberry32: a small 32-bit generator with a full period of 2^32; uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box-Muller) from a uniform generator. */
export function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** A seeded Fisher–Yates shuffle of the labels (the leak canary's targets), the input untouched. */
export function shuffledLabels(y: Float32Array, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const out = y.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
