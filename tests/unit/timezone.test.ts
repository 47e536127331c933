import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimeZone } from '../../src/time/timezone.js';

const local = (y: number, mo: number, d: number, h: number, mi: number) => Date.UTC(y, mo - 1, d, h, mi);

describe('TimeZone', () => {
  const ny = TimeZone.of('America/New_York');

  it('maps an ordinary local time to one instant', () => {
    expect(ny.fromLocal(local(2023, 9, 24, 18, 0))).toEqual([Date.UTC(2023, 8, 24, 22, 0)]);
    expect(ny.fromLocal(local(2023, 12, 1, 9, 30))).toEqual([Date.UTC(2023, 11, 1, 14, 30)]);
  });

  it('gives both instants of a fall-back overlap, earlier first', () => {
    expect(ny.fromLocal(local(2023, 11, 5, 1, 30))).toEqual([Date.UTC(2023, 10, 5, 5, 30), Date.UTC(2023, 10, 5, 6, 30)]);
  });

  it('gives no instant for a spring-forward gap', () => {
    expect(ny.fromLocal(local(2024, 3, 10, 2, 30))).toEqual([]);
    expect(ny.fromLocal(local(2024, 3, 10, 3, 0))).toEqual([Date.UTC(2024, 2, 10, 7, 0)]);
  });

  it('handles half-hour zones and UTC', () => {
    expect(TimeZone.of('Asia/Kolkata').offsetAt(0)).toBe(5.5 * 3_600_000);
    expect(TimeZone.of('UTC').fromLocal(123_000)).toEqual([123_000]);
    expect(TimeZone.of('utc')).toBe(TimeZone.of('UTC'));
  });

  it('refuses unknown zones with a message naming them', () => {
    expect(() => TimeZone.of('Mars/Olympus')).toThrow(/unknown time zone "Mars\/Olympus"/);
  });

  it('agrees with Intl on offsets and round-trips UTC → local → UTC for every minute', () => {
    const zones = ['America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'America/Chicago', 'Asia/Tokyo', 'Europe/Berlin'];
    fc.assert(
      fc.property(fc.constantFrom(...zones), fc.integer({ min: 0, max: 68_000_000 }), (name, minutes) => {
        const zone = TimeZone.of(name);
        const utc = minutes * 60_000;
        const text = new Intl.DateTimeFormat('en-CA', {
          timeZone: name,
          hourCycle: 'h23',
          year: 'numeric',
          month: '2-digit',
          day: '2-digit',
          hour: '2-digit',
          minute: '2-digit',
        }).format(new Date(utc));
        const [date, time] = text.split(', ');
        const [y, mo, d] = date!.split('-').map(Number);
        const [h, mi] = time!.split(':').map(Number);
        expect(zone.toLocal(utc)).toBe(Date.UTC(y!, mo! - 1, d!, h!, mi!));
        expect(zone.fromLocal(zone.toLocal(utc))).toContain(utc);
      }),
      { numRuns: 3000 },
    );
  });
});
