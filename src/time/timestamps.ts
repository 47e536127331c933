/**
 * Strict timestamp parsing for bar files. `Date.parse` is not used: it accepts many non-ISO forms
 * and reads zone-less date-times in the machine's local zone, which would silently shift bars.
 */

/** Result of parsing one timestamp; reused by callers to avoid an allocation per row. */
export interface ParsedTimestamp {
  /** Epoch milliseconds (whole; finer digits are reported by `subMs`). */
  ms: number;
  /** True when the text had no zone designator (a naive local time). */
  naive: boolean;
  /**
   * True when the text had non-zero digits below the millisecond. Bars are carried at millisecond
   * precision, so such a time can never be a minute boundary; callers reject it as such.
   */
  subMs: boolean;
}

export function emptyTimestamp(): ParsedTimestamp {
  return { ms: 0, naive: false, subMs: false };
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  if (month === 2 && (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return 29;
  return DAYS_IN_MONTH[month - 1]!;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function digit(text: string, i: number): number {
  const d = text.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : Number.NaN;
}

/**
 * The canonical form `YYYY-MM-DDTHH:MM:SSZ` (shared/data, barflow's own output) without a regex or
 * a Date: it is most of what the ingestion hot path sees. Returns NaN when the text is not exactly
 * that form or names an impossible date or time, and the general parser takes over.
 */
function parseCanonicalUtc(text: string): number {
  if (text.length !== 20 || text.charCodeAt(19) !== 90 || text.charCodeAt(10) !== 84) return Number.NaN; // Z, T
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return Number.NaN;
  const year = digit(text, 0) * 1000 + digit(text, 1) * 100 + digit(text, 2) * 10 + digit(text, 3);
  const month = digit(text, 5) * 10 + digit(text, 6);
  const day = digit(text, 8) * 10 + digit(text, 9);
  const hour = digit(text, 11) * 10 + digit(text, 12);
  const minute = digit(text, 14) * 10 + digit(text, 15);
  const second = digit(text, 17) * 10 + digit(text, 18);
  // NaN from a non-digit fails every comparison below.
  if (!(month >= 1 && month <= 12 && day >= 1 && hour <= 23 && minute <= 59 && second <= 59 && year >= 0)) return Number.NaN;
  if (day > daysInMonth(year, month)) return Number.NaN;
  return daysFromCivil(year, month, day) * 86_400_000 + ((hour * 60 + minute) * 60 + second) * 1000;
}

/**
 * Parses `YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]]][Z|UTC|±HH[:MM]]`. Returns false when the text is
 * not of that form or names an impossible date or time (Feb 30, 24:00, second 60).
 */
export function parseIsoTimestamp(text: string, out: ParsedTimestamp): boolean {
  const canonical = parseCanonicalUtc(text);
  if (!Number.isNaN(canonical)) {
    out.ms = canonical;
    out.naive = false;
    out.subMs = false;
    return true;
  }
  const m = ISO.exec(text);
  if (m === null) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  if (hour > 23 || minute > 59 || second > 59) return false;
  let ms = daysFromCivil(year, month, day) * 86_400_000 + ((hour * 60 + minute) * 60 + second) * 1000;
  const fraction = m[7];
  out.subMs = false;
  if (fraction !== undefined) {
    ms += Number(fraction.slice(0, 3).padEnd(3, '0'));
    out.subMs = /[1-9]/.test(fraction.slice(3));
  }
  const zone = m[8];
  if (zone === undefined) {
    out.ms = ms;
    out.naive = true;
    return true;
  }
  if (zone.length > 1 && zone !== 'UTC') {
    const sign = zone[0] === '-' ? -1 : 1;
    const offsetHours = Number(zone.slice(1, 3));
    const offsetMinutes = zone.length > 3 ? Number(zone.slice(-2)) : 0;
    if (offsetHours > 18 || offsetMinutes > 59) return false;
    ms -= sign * (offsetHours * 60 + offsetMinutes) * 60_000;
  }
  out.ms = ms;
  out.naive = false;
  return true;
}

export type EpochUnit = 's' | 'ms' | 'us' | 'ns';
export const EPOCH_UNITS: readonly EpochUnit[] = ['s', 'ms', 'us', 'ns'];

/** Epoch numbers: integers, or decimals as pandas writes float seconds (`1677628800.0`). */
const EPOCH = /^-?\d+(?:\.\d+)?$/;

export function isEpochNumber(text: string): boolean {
  return EPOCH.test(text);
}

/**
 * Guesses the unit of an epoch number from the digits of its integer part (for dates between 1973
 * and 2286): ≤11 seconds, 12–14 milliseconds, 15–17 microseconds (Binance spot klines since 2025),
 * 18+ nanoseconds.
 */
export function guessEpochUnit(text: string): EpochUnit {
  const digits = text.replace('-', '').split('.')[0]!.replace(/^0+/, '').length;
  if (digits <= 11) return 's';
  if (digits <= 14) return 'ms';
  if (digits <= 17) return 'us';
  return 'ns';
}

/** Decimal digits to shift the point by to turn each unit into milliseconds. */
const TO_MS: Record<EpochUnit, number> = { s: 3, ms: 0, us: -3, ns: -6 };

/**
 * Epoch number text to milliseconds, by moving the decimal point in the text rather than with
 * floating-point arithmetic: nanosecond values beyond 2^53 keep their exact millisecond part, and
 * `1677628800.1` seconds is exactly …800100 ms. Non-zero digits below the millisecond are reported
 * in `subMs`. Returns false when the text is not an epoch number.
 */
export function parseEpoch(text: string, unit: EpochUnit, out: ParsedTimestamp): boolean {
  if (!EPOCH.test(text)) return false;
  const negative = text.charCodeAt(0) === 45;
  const body = negative ? text.slice(1) : text;
  const point = body.indexOf('.');
  const digits = point < 0 ? body : body.slice(0, point) + body.slice(point + 1);
  // Position of the decimal point once the value is in milliseconds.
  const cut = (point < 0 ? body.length : point) + TO_MS[unit];
  const whole = cut <= 0 ? 0 : Number(cut >= digits.length ? digits.padEnd(cut, '0') : digits.slice(0, cut));
  out.naive = false;
  out.subMs = /[1-9]/.test(cut >= digits.length ? '' : digits.slice(Math.max(0, cut)));
  // Floor toward the past for negative instants so the millisecond part stays exact.
  out.ms = negative ? -whole - (out.subMs ? 1 : 0) : whole;
  return true;
}
