import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatTs } from '../../src/bars/bar.js';
import { type EpochUnit, type ParsedTimestamp, emptyTimestamp, guessEpochUnit, parseEpoch, parseIsoTimestamp } from '../../src/time/timestamps.js';

const parse = (text: string): ParsedTimestamp | null => {
  const out = emptyTimestamp();
  return parseIsoTimestamp(text, out) ? out : null;
};
const epoch = (text: string, unit: EpochUnit): ParsedTimestamp | null => {
  const out = emptyTimestamp();
  return parseEpoch(text, unit, out) ? out : null;
};

describe('parseIsoTimestamp', () => {
  const march1 = Date.UTC(2023, 2, 1);
  it.each([
    ['2023-03-01T00:00:00Z', march1, false],
    ['2023-03-01T00:00:00.000Z', march1, false],
    ['2023-03-01T00:00:00.000000Z', march1, false],
    ['2023-03-01 00:00:00+00:00', march1, false],
    ['2023-03-01T05:00:00+05:00', march1, false],
    ['2023-02-28T19:00:00-0500', march1, false],
    ['2023-03-01T01:00:00+01', march1, false],
    ['2023-03-01T00:00Z', march1, false],
    ['2023-03-01 00:00:00 UTC', march1, false],
    ['2023-03-01', march1, true],
    ['2023-03-01 00:00:00', march1, true],
  ])('%s', (text, ms, naive) => {
    expect(parse(text)).toEqual({ ms, naive, subMs: false });
  });

  it.each([
    '2023-02-30T00:00:00Z',
    '2023-13-01T00:00:00Z',
    '2023-03-01T24:00:00Z',
    '2023-03-01T00:60:00Z',
    '2023-03-01T00:00:60Z',
    '2023/03/01 00:00:00',
    '03/01/2023 00:00',
    'yesterday',
    '',
    '2023-03-01T00:00:00+25:00',
  ])('refuses %j', (text) => {
    expect(parse(text)).toBeNull();
  });

  it('reports digits below the millisecond instead of dropping them', () => {
    expect(parse('2023-03-01T00:00:00.000001Z')).toEqual({ ms: Date.UTC(2023, 2, 1), naive: false, subMs: true });
    expect(parse('2023-03-01T00:00:00.123000Z')).toEqual({ ms: Date.UTC(2023, 2, 1) + 123, naive: false, subMs: false });
    expect(parse('2023-03-01T00:00:30Z')!.ms % 60_000).not.toBe(0);
  });

  it('agrees with Date.UTC on any valid date-time, years 0–9999, in every accepted spelling', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
        fc.constantFrom('T', ' '),
        (date, sep) => {
          const ms = Math.floor(date.getTime() / 1000) * 1000;
          const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
          expect(parse(iso)?.ms).toBe(ms);
          expect(parse(`${iso.slice(0, 19)}Z`)?.ms).toBe(ms);
          expect(parse(`${iso.slice(0, 10)}${sep}${iso.slice(11, 19)}+00:00`)?.ms).toBe(ms);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('reads back every minute it formats (1970–2100)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 68_000_000 }), (minutes) => {
        const ms = minutes * 60_000;
        expect(parse(formatTs(ms))).toEqual({ ms, naive: false, subMs: false });
        expect(parse(new Date(ms).toISOString())).toEqual({ ms, naive: false, subMs: false });
      }),
    );
  });
});

describe('epoch timestamps', () => {
  it.each([
    ['1677628800', 's'],
    ['1677628800000', 'ms'],
    ['1677628800000000', 'us'],
    ['1677628800000000000', 'ns'],
  ] as const)('%s is %s', (text, unit) => {
    expect(guessEpochUnit(text)).toBe(unit);
    expect(epoch(text, unit)).toEqual({ ms: Date.UTC(2023, 2, 1), naive: false, subMs: false });
  });

  it('reports a non-zero sub-millisecond remainder, even past 2^53 nanoseconds', () => {
    expect(epoch('1677628800000000001', 'ns')).toEqual({ ms: Date.UTC(2023, 2, 1), naive: false, subMs: true });
    expect(epoch('1677628800000001', 'us')?.subMs).toBe(true);
    expect(epoch('-1500', 'us')).toEqual({ ms: -2, naive: false, subMs: true });
    expect(epoch('12.5x', 'ms')).toBeNull();
    expect(epoch('1e9', 's')).toBeNull();
  });

  it('reads decimal epochs (pandas float seconds) exactly, by moving the point in the text', () => {
    expect(guessEpochUnit('1677628800.0')).toBe('s');
    expect(epoch('1677628800.0', 's')).toEqual({ ms: Date.UTC(2023, 2, 1), naive: false, subMs: false });
    expect(epoch('1677628800.1', 's')).toEqual({ ms: Date.UTC(2023, 2, 1) + 100, naive: false, subMs: false });
    expect(epoch('1677628800.0001', 's')).toEqual({ ms: Date.UTC(2023, 2, 1), naive: false, subMs: true });
    expect(epoch('1677628800000.000', 'ms')).toEqual({ ms: Date.UTC(2023, 2, 1), naive: false, subMs: false });
    expect(epoch('0.5', 'ns')).toEqual({ ms: 0, naive: false, subMs: true });
    expect(epoch('5', 'ns')).toEqual({ ms: 0, naive: false, subMs: true });
  });

  it('converts every unit exactly for minute timestamps', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 68_000_000 }), (minutes) => {
        const ms = minutes * 60_000;
        for (const [text, unit] of [[String(ms / 1000), 's'], [`${ms / 1000}.000`, 's'], [String(ms), 'ms'], [`${ms}000`, 'us'], [`${ms}000000`, 'ns']] as const) {
          expect(epoch(text, unit)).toEqual({ ms, naive: false, subMs: false });
        }
      }),
    );
  });
});
