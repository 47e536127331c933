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

// Results of the error-free transforms, kept in module scope so nothing is allocated per call.
let hi = 0;
let lo = 0;

function twoProd(a: number, b: number): void {
  const p = a * b;
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  hi = p;
  lo = ah * bh - p + ah * bl + al * bh + al * bl;
}

function twoSum(a: number, b: number): void {
  const s = a + b;
  const bb = s - a;
  hi = s;
  lo = a - (s - bb) + (b - bb);
}

/** a + b rounded to odd: when inexact and the nearest result's last bit is even, step one ulp toward the error. */
function addRoundToOdd(a: number, b: number): number {
  twoSum(a, b);
  const s = hi;
  const e = lo;
  if (e === 0) return s;
  bits[0] = s;
  if ((words[0]! & 1) !== 0) return s;
  // Moving away from zero adds one to the bit pattern, toward zero subtracts one.
  const away = (e > 0) === (s > 0);
  if (away) {
    if (words[0] === 0xffffffff) {
      words[0] = 0;
      words[1] = words[1]! + 1;
    } else words[0] = words[0]! + 1;
  } else if (words[0] === 0) {
    words[0] = 0xffffffff;
    words[1] = words[1]! - 1;
  } else words[0] = words[0]! - 1;
  return bits[0]!;
}

export function fma(a: number, b: number, c: number): number {
  twoProd(a, b);
  const uh = hi;
  const ul = lo;
  twoSum(c, uh);
  const th = hi;
  const tl = lo;
  return th + addRoundToOdd(tl, ul);
}
