import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyBadNumber, formatNumber, parseDecimal } from '../../src/bars/numbers.js';

describe('parseDecimal', () => {
  it.each([
    ['23150.77', 23150.77],
    ['23150.8', 23150.8],
    ['4365.00', 4365],
    ['9e-05', 9e-5],
    ['1.5E+3', 1500],
    ['+2', 2],
    ['-0.5', -0.5],
    ['.5', 0.5],
    ['5.', 5],
    ['0', 0],
    ['0.1', 0.1],
  ])('reads %s as the nearest float64', (text, value) => {
    expect(Object.is(parseDecimal(text), value)).toBe(true);
  });

  it.each(['', ' ', 'abc', '0x1F', '1,5', '1.2.3', 'e5', '1e', '--1', '1_000', 'NaN', 'Infinity', '∞'])('refuses %j', (text) => {
    expect(Number.isNaN(parseDecimal(text))).toBe(true);
  });

  it('keeps the sign of negative zero through format and parse', () => {
    expect(Object.is(parseDecimal(formatNumber(-0)), -0)).toBe(true);
  });

  it('round-trips every finite double through formatNumber, toPrecision(17) and toExponential', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        expect(Object.is(parseDecimal(formatNumber(x)), x)).toBe(true);
        // toPrecision and toExponential drop the sign of -0 themselves; compare values there.
        expect(parseDecimal(x.toPrecision(17)) === x).toBe(true);
        expect(parseDecimal(x.toExponential()) === x).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with Number() on everything it accepts and never throws', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[+-]?\d{0,5}\.?\d{0,5}(e[+-]?\d{1,3})?$/)), (text) => {
        const v = parseDecimal(text);
        if (!Number.isNaN(v)) expect(v).toBe(Number(text));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('classifyBadNumber', () => {
  it.each([
    ['', 'unparsable_field'],
    ['abc', 'unparsable_field'],
    ['1,5', 'unparsable_field'],
    ['NaN', 'non_finite'],
    ['nan', 'non_finite'],
    ['-inf', 'non_finite'],
    ['Infinity', 'non_finite'],
    ['1e999', 'non_finite'],
    ['-1e400', 'non_finite'],
  ])('%j → %s', (text, reason) => {
    expect(classifyBadNumber(text).reason).toBe(reason);
  });
});
