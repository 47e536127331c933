import { expect } from 'vitest';

/** |a − b| ≤ max(rel·max(|a|, |b|), abs): equal within a relative tolerance, with a floor near 0. */
export function isClose(a: number, b: number, rel = 1e-12, abs = 1e-15): boolean {
  return a === b || Math.abs(a - b) <= Math.max(rel * Math.max(Math.abs(a), Math.abs(b)), abs);
}

/** Asserts |actual − expected| ≤ max(rel·|expected|, abs), naming the value when it fails. */
export function expectClose(actual: number, expected: number, what: string, rel = 1e-12, abs = 1e-15): void {
  if (actual === expected) return;
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(Math.max(rel * Math.abs(expected), abs));
}

/** `expectClose` element by element, after checking the lengths. */
export function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rel = 1e-12, abs = 1e-15): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expectClose(actual[i]!, expected[i]!, `${what}[${i}]`, rel, abs);
}

/** The largest |a[i] − b[i]| over the rows `keep` accepts (all by default); the lengths must agree. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, keep?: (i: number) => boolean): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) if (!keep || keep(i)) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}
