import type { RejectReason } from './rejects.js';

/**
 * Decimal text as vendors write it: optional sign, digits with an optional point, optional
 * exponent (`9e-05`, `1.5E+3`). `Number()` alone is too lenient for input validation (it accepts
 * '', ' ', '0x1F', '1_000' is rejected but '0b1' is not), so the grammar is checked first and the
 * conversion is then left to `Number()`, which rounds correctly to the nearest float64.
 */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NON_FINITE_WORD = /^[+-]?(?:nan|inf|infinity)$/i;

/** Parses decimal text to float64; NaN when the text is not a decimal (see `classifyBadNumber`). */
export function parseDecimal(text: string): number {
  return DECIMAL.test(text) ? Number(text) : Number.NaN;
}

/** The reject code for text that `parseDecimal` did not turn into a finite number. */
export function classifyBadNumber(text: string): { reason: RejectReason; detail: string } {
  if (text === '') return { reason: 'unparsable_field', detail: 'empty' };
  if (NON_FINITE_WORD.test(text)) return { reason: 'non_finite', detail: `${JSON.stringify(text)} is not finite` };
  if (DECIMAL.test(text)) return { reason: 'non_finite', detail: `${JSON.stringify(text)} overflows float64` };
  return { reason: 'unparsable_field', detail: `${JSON.stringify(text)} is not a number` };
}

/**
 * Shortest text that reads back to the same float64 (JavaScript's own number formatting), so
 * writing and re-reading a value never changes it. `String(-0)` is "0", which would lose the sign
 * bit and break bit-for-bit comparisons, hence the special case.
 */
export function formatNumber(value: number): string {
  return Object.is(value, -0) ? '-0' : String(value);
}
