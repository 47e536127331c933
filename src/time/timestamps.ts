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

/**
 * Timestamps accepted for 1-minute bars lie strictly after MIN_BAR_TS (1970-01-01T00:00Z: no
 * electronic minute data goes back that far, and 0 or small numbers are what missing or truncated
 * epoch values turn into) and strictly before MAX_BAR_TS (2200-01-01).
 */
export const MIN_BAR_TS = 0;
export const MAX_BAR_TS = Date.UTC(2200, 0, 1);

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  if (month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) return 29;
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

/** Epoch ms of a valid date and time of day, or NaN when the date or time does not exist. */
function civilMs(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  // NaN (from a non-digit) fails every comparison, so it is refused too.
  if (!(year >= 0 && month >= 1 && month <= 12 && day >= 1 && hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59)) {
    return Number.NaN;
  }
  if (day > daysInMonth(year, month)) return Number.NaN;
  return daysFromCivil(year, month, day) * 86_400_000 + ((hour * 60 + minute) * 60 + second) * 1000;
}

function digit(text: string, i: number): number {
  const d = text.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : Number.NaN;
}

/**
 * The canonical forms `YYYY-MM-DDTHH:MM:SSZ` (shared/data, barflow's own output) and naive
 * `YYYY-MM-DD HH:MM:SS` (FirstRateData) without a regex or a Date: they are most of what the
 * ingestion hot path sees. Returns false when the text is not exactly one of those forms or names
 * an impossible date or time, and the general parser takes over.
 */
function parseCanonical(text: string, out: ParsedTimestamp): boolean {
  const n = text.length;
  const zoned = n === 20 && text.charCodeAt(19) === 90; // Z
  if (!zoned && n !== 19) return false;
  const sep = text.charCodeAt(10);
  if (sep !== 84 && sep !== 32) return false; // T or space
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return false;
  const ms = civilMs(
    digit(text, 0) * 1000 + digit(text, 1) * 100 + digit(text, 2) * 10 + digit(text, 3),
    digit(text, 5) * 10 + digit(text, 6),
    digit(text, 8) * 10 + digit(text, 9),
    digit(text, 11) * 10 + digit(text, 12),
    digit(text, 14) * 10 + digit(text, 15),
    digit(text, 17) * 10 + digit(text, 18),
  );
  if (Number.isNaN(ms)) return false;
  out.ms = ms;
  out.naive = !zoned;
  out.subMs = false;
  return true;
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Parses `YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]]][Z|UTC|±HH[:MM]]`. Returns false when the text is
 * not of that form or names an impossible date or time (Feb 30, 24:00, second 60).
 */
export function parseIsoTimestamp(text: string, out: ParsedTimestamp): boolean {
  if (parseCanonical(text, out)) return true;
  const m = ISO.exec(text);
  if (m === null) return false;
  let ms = civilMs(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0));
  if (Number.isNaN(ms)) return false;
  const fraction = m[7];
  out.subMs = false;
  if (fraction !== undefined) {
    ms += Number(fraction.slice(0, 3).padEnd(3, '0'));
    out.subMs = /[1-9]/.test(fraction.slice(3));
  }
  const zone = m[8];
  out.naive = zone === undefined;
  if (zone !== undefined && zone.length > 1 && zone !== 'UTC') {
    const sign = zone[0] === '-' ? -1 : 1;
    const offsetHours = Number(zone.slice(1, 3));
    const offsetMinutes = zone.length > 3 ? Number(zone.slice(-2)) : 0;
    if (offsetHours > 18 || offsetMinutes > 59) return false;
    ms -= sign * (offsetHours * 60 + offsetMinutes) * 60_000;
  }
  out.ms = ms;
  return true;
}

/** An ISO-8601 instant with a zone (no naive times) to epoch ms, or null. */
export function parseIsoInstant(text: string): number | null {
  const out = emptyTimestamp();
  return parseIsoTimestamp(text, out) && !out.naive ? out.ms : null;
}

export type EpochUnit = 's' | 'ms' | 'us' | 'ns';
export const EPOCH_UNITS: readonly EpochUnit[] = ['s', 'ms', 'us', 'ns'];

/** Epoch numbers: integers, or decimals as pandas writes float seconds (`1677628800.0`). */
const EPOCH = /^-?\d+(?:\.\d+)?$/;
const INTEGER = /^-?\d+$/;

export function isEpochNumber(text: string): boolean {
  return EPOCH.test(text);
}

/**
 * Guesses the unit of an epoch number from the digits of its integer part (right for dates between
 * 1973 and 2286): ≤11 seconds, 12–14 milliseconds, 15–17 microseconds (Binance spot klines since
 * 2025), 18+ nanoseconds.
 */
export function guessEpochUnit(text: string): EpochUnit {
  let start = text.charCodeAt(0) === 45 ? 1 : 0;
  let end = text.indexOf('.');
  if (end < 0) end = text.length;
  while (start < end - 1 && text.charCodeAt(start) === 48) start++; // leading zeros
  const digits = end - start;
  if (digits <= 11) return 's';
  if (digits <= 14) return 'ms';
  if (digits <= 17) return 'us';
  return 'ns';
}

/** Decimal digits to shift the point by to turn each unit into milliseconds. */
const TO_MS: Record<EpochUnit, number> = { s: 3, ms: 0, us: -3, ns: -6 };

/**
 * Epoch number text to milliseconds. Integers that fit float64 exactly are scaled directly; other
 * values are converted by moving the decimal point in the text, so nanosecond values beyond 2^53
 * keep their exact millisecond part and `1677628800.1` seconds is exactly …800100 ms. Non-zero
 * digits below the millisecond are reported in `subMs`. Returns false for non-epoch text.
 */
export function parseEpoch(text: string, unit: EpochUnit, out: ParsedTimestamp): boolean {
  out.naive = false;
  const shift = TO_MS[unit];
  if (text.length <= 15 && INTEGER.test(text)) {
    const value = Number(text);
    if (shift >= 0) {
      out.ms = value * 10 ** shift;
      out.subMs = false;
    } else {
      const divisor = 10 ** -shift;
      out.ms = Math.floor(value / divisor);
      out.subMs = value % divisor !== 0;
    }
    return true;
  }
  if (!EPOCH.test(text)) return false;
  const negative = text.charCodeAt(0) === 45;
  const body = negative ? text.slice(1) : text;
  const point = body.indexOf('.');
  const digits = point < 0 ? body : body.slice(0, point) + body.slice(point + 1);
  // Position of the decimal point once the value is in milliseconds.
  const cut = (point < 0 ? body.length : point) + shift;
  const whole = cut <= 0 ? 0 : Number(cut >= digits.length ? digits.padEnd(cut, '0') : digits.slice(0, cut));
  out.subMs = cut < digits.length && /[1-9]/.test(digits.slice(Math.max(0, cut)));
  // Floor toward the past for negative instants so the millisecond part stays exact.
  out.ms = negative ? -whole - (out.subMs ? 1 : 0) : whole;
  return true;
}
