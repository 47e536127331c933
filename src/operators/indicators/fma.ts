/**
 * Fused multiply-add, a·b + c with a single rounding. TA-Lib 0.8 computes its EMA, MACD and ATR
 * steps with C's fma(); JavaScript has no Math.fma, and a·b + c rounds twice, which drifts from
 * TA-Lib's values in the last bits (up to ~4e-13 relative in the MACD signal line). This is the
 * pure-double emulation of Boldo & Melquiond (2008, "Emulation of FMA and correctly-rounded sums:
 * proved algorithms using rounding to odd"): exact error-free transforms for the product and the
 * sum, then one addition rounded to odd. Valid while nothing overflows or underflows, which holds
 * for prices and their averages by a wide margin.
 */

const SPLIT = 134_217_729; // 2^27 + 1 (Veltkamp splitting)
const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer); // little-endian: words[0] is the low mantissa word

/**
 * Steps the double in `bits` by one ulp, away from zero or toward it, on its bit pattern. It takes
 * and returns no doubles, so it allocates nothing when V8 does not inline it (a double argument or
 * result of a call that is not inlined is boxed).
 */
function stepBits(awayFromZero: boolean): void {
  if (awayFromZero) {
    if (words[0] === 0xffffffff) {
      words[0] = 0;
      words[1] = words[1]! + 1;
    } else words[0] = words[0]! + 1;
  } else if (words[0] === 0) {
    words[0] = 0xffffffff;
    words[1] = words[1]! - 1;
  } else words[0] = words[0]! - 1;
}

// Written as one function with the error-free transforms inlined: it runs several times per bar.
export function fma(a: number, b: number, c: number): number {
  // (uh, ul) = twoProd(a, b): uh + ul == a·b exactly
  const uh = a * b;
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  const ul = ah * bh - uh + ah * bl + al * bh + al * bl;
  // (th, tl) = twoSum(c, uh)
  const th = c + uh;
  let bb = th - c;
  const tl = c - (th - bb) + (uh - bb);
  // v = tl + ul rounded to odd
  const s = tl + ul;
  bb = s - tl;
  const err = tl - (s - bb) + (ul - bb);
  let v = s;
  if (err !== 0) {
    bits[0] = s;
    if ((words[0]! & 1) === 0) {
      // Round to odd: one ulp from s toward the sign of err.
      stepBits(err > 0 === s > 0);
      v = bits[0]!;
    }
  }
  return th + v;
}
