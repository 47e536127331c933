import type { RejectReason, Violation } from './rejects.js';

/**
 * Decimal text as vendors write it: optional sign, digits with an optional point, optional
 * exponent (`9e-05`, `1.5E+3`), i.e. /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/. `Number()` alone
 * is too lenient for input validation (it accepts '', ' ', '0x1F', '0b1', 'Infinity'), so the
 * grammar is checked first and the conversion is left to `Number()`, which rounds correctly to the
 * nearest float64. The check is a char-code scan rather than the regex because it runs five times
 * per row on the ingestion hot path.
 */
export function isDecimal(text: string): boolean {
  const n = text.length;
  let i = 0;
  let c = text.charCodeAt(0);
  if (c === 43 || c === 45) c = text.charCodeAt(++i); // + -
  let digits = 0;
  while (c >= 48 && c <= 57) {
    digits++;
    c = text.charCodeAt(++i);
  }
  if (c === 46) {
    // .
    c = text.charCodeAt(++i);
    while (c >= 48 && c <= 57) {
      digits++;
      c = text.charCodeAt(++i);
    }
  }
  if (digits === 0) return false;
  if (c === 101 || c === 69) {
    // e E
    c = text.charCodeAt(++i);
    if (c === 43 || c === 45) c = text.charCodeAt(++i);
    let exponent = 0;
    while (c >= 48 && c <= 57) {
      exponent++;
      c = text.charCodeAt(++i);
    }
    if (exponent === 0) return false;
  }
  return i === n;
}

const NON_FINITE_WORD = /^[+-]?(?:nan|inf|infinity)$/i;

/** Parses decimal text to float64; NaN when the text is not a decimal (see `classifyBadNumber`). */
export function parseDecimal(text: string): number {
  return isDecimal(text) ? Number(text) : Number.NaN;
}

/** The reject code for text that `parseDecimal` did not turn into a finite number. */
export function classifyBadNumber(text: string): { reason: RejectReason; detail: string } {
  if (text === '') return { reason: 'unparsable_field', detail: 'empty' };
  if (NON_FINITE_WORD.test(text)) return { reason: 'non_finite', detail: `${JSON.stringify(text)} is not finite` };
  if (isDecimal(text)) return { reason: 'non_finite', detail: `${JSON.stringify(text)} overflows float64` };
  return { reason: 'unparsable_field', detail: `${JSON.stringify(text)} is not a number` };
}

/**
 * A numeric field's value, or the violation naming the field, for parsers of files and messages.
 * Allocates only when the text is bad.
 */
export function decimalOrViolation(text: string, field: string): number | Violation {
  const value = parseDecimal(text);
  if (Number.isFinite(value)) return value;
  const bad = classifyBadNumber(text);
  return { reason: bad.reason, detail: `${field}: ${bad.detail}` };
}

/**
 * Shortest text that reads back to the same float64 (JavaScript's own number formatting), so
 * writing and re-reading a value never changes it. `String(-0)` is "0", which would lose the sign
 * bit and break bit-for-bit comparisons, hence the special case.
 */
export function formatNumber(value: number): string {
  return Object.is(value, -0) ? '-0' : String(value);
}
