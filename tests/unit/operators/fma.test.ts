import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fma } from '../../../src/operators/indicators/fma.js';

/** a·b + c rounded once, by exact rational arithmetic on the doubles' integer representations. */
function exactFma(a: number, b: number, c: number): number {
  const toFrac = (x: number): [bigint, bigint] => {
    // x = m · 2^e exactly, with m an integer
    if (x === 0) return [0n, 0n];
    let e = 0;
    let m = x;
    while (!Number.isInteger(m)) {
      m *= 2;
      e--;
    }
    return [BigInt(m), BigInt(e)];
  };
  const [ma, ea] = toFrac(a);
  const [mb, eb] = toFrac(b);
  const [mc, ec] = toFrac(c);
  const ep = ea + eb;
  const e = ep < ec ? ep : ec;
  const sum = ma * mb * 2n ** (ep - e) + mc * 2n ** (ec - e);
  // Number(bigint) rounds to nearest-even; scaling by a power of two is exact unless it under/overflows.
  return Number(sum) * 2 ** Number(e);
}

describe('fma emulation', () => {
  it('is correctly rounded, like a hardware fma, on price-like and near-cancellation triples', () => {
    const price = fc.double({ min: 1e-6, max: 1e7, noNaN: true });
    const k = fc.double({ min: 1e-4, max: 1, noNaN: true });
    fc.assert(
      fc.property(price, k, price, fc.boolean(), (x, kk, prev, cancel) => {
        const a = cancel ? x - prev : x;
        const c = cancel ? prev : -x * kk;
        expect(fma(a, kk, c)).toBe(exactFma(a, kk, c));
      }),
      { numRuns: 20_000 },
    );
  });

  it('differs from a·b + c where double rounding shows', () => {
    // 0.1·10 − 1: a·b rounds to exactly 1, so the unfused result is 0; the fused one is the error.
    expect(0.1 * 10 - 1).toBe(0);
    expect(fma(0.1, 10, -1)).toBe(exactFma(0.1, 10, -1));
    expect(fma(0.1, 10, -1)).not.toBe(0);
  });
});
