import { TimeZone } from '../time/timezone.js';

const DAY_MS = 86_400_000;

/**
 * Where buckets start.
 * - `utc-day`: buckets restart at 00:00 UTC every day, so a timeframe that does not divide the day
 *   (25m) ends each day with a short bucket;
 * - `epoch`: buckets are whole multiples of the timeframe since 1970-01-01 UTC;
 * - `session:<IANA zone>@HH:MM`: buckets restart at that local time every day (CME Globex:
 *   `session:America/New_York@18:00`), following daylight-saving changes, so a session may last 23
 *   or 25 hours and its last bucket may be short.
 */
export type Anchor =
  | { kind: 'utc-day' }
  | { kind: 'epoch' }
  | { kind: 'session'; zone: TimeZone; minuteOfDay: number; text: string };

export function parseAnchor(text: string): Anchor {
  if (text === 'utc-day') return { kind: 'utc-day' };
  if (text === 'epoch') return { kind: 'epoch' };
  const m = /^session:([^@]+)@(\d{2}):(\d{2})$/.exec(text);
  if (m) {
    const hour = Number(m[2]);
    const minute = Number(m[3]);
    if (hour > 23 || minute > 59) throw new Error(`invalid session time in anchor ${JSON.stringify(text)}`);
    return { kind: 'session', zone: TimeZone.of(m[1]!), minuteOfDay: hour * 60 + minute, text };
  }
  throw new Error(`invalid anchor ${JSON.stringify(text)}: use utc-day, epoch or session:<IANA zone>@HH:MM (e.g. session:America/New_York@18:00)`);
}

export function anchorText(anchor: Anchor): string {
  return anchor.kind === 'session' ? anchor.text : anchor.kind;
}

/**
 * Locates the bucket of a timestamp: `start` (its label, the bucket's open time) and `end`
 * (exclusive). The last span (day or session) is cached, so locating consecutive bars costs a
 * comparison; a new span is computed once per day.
 */
export class BucketClock {
  start = Number.NaN;
  end = Number.NaN;
  private spanStart = Number.NaN;
  private spanEnd = Number.NaN;

  constructor(
    private readonly tfMs: number,
    private readonly anchor: Anchor,
  ) {}

  /** Sets `start` and `end` to the bucket holding `ts`. */
  locate(ts: number): void {
    if (ts >= this.start && ts < this.end) return;
    if (this.anchor.kind === 'epoch') {
      this.start = Math.floor(ts / this.tfMs) * this.tfMs;
      this.end = this.start + this.tfMs;
      return;
    }
    if (!(ts >= this.spanStart && ts < this.spanEnd)) this.locateSpan(ts);
    this.start = this.spanStart + Math.floor((ts - this.spanStart) / this.tfMs) * this.tfMs;
    this.end = Math.min(this.start + this.tfMs, this.spanEnd);
  }

  private locateSpan(ts: number): void {
    if (this.anchor.kind === 'utc-day') {
      this.spanStart = Math.floor(ts / DAY_MS) * DAY_MS;
      this.spanEnd = this.spanStart + DAY_MS;
      return;
    }
    if (this.anchor.kind !== 'session') return;
    const { zone, minuteOfDay } = this.anchor;
    const anchorMs = minuteOfDay * 60_000;
    // The local date whose session time is the latest not after ts's local time; then step a day
    // either way until the session holds ts. The steps matter when the session time is itself in
    // a DST overlap or gap: ts's local time alone can point at the wrong day there.
    let localStart = Math.floor((zone.toLocal(ts) - anchorMs) / DAY_MS) * DAY_MS + anchorMs;
    this.spanStart = sessionInstant(zone, localStart);
    this.spanEnd = sessionInstant(zone, localStart + DAY_MS);
    while (ts < this.spanStart) {
      localStart -= DAY_MS;
      this.spanEnd = this.spanStart;
      this.spanStart = sessionInstant(zone, localStart);
    }
    while (ts >= this.spanEnd) {
      localStart += DAY_MS;
      this.spanStart = this.spanEnd;
      this.spanEnd = sessionInstant(zone, localStart + DAY_MS);
    }
  }
}

/**
 * The UTC instant a session starts at a local wall-clock time: the earlier one in a DST overlap;
 * in a DST gap the wall-clock time shifted forward by the length of the gap (as java.time does).
 */
function sessionInstant(zone: TimeZone, localMs: number): number {
  const candidates = zone.fromLocal(localMs);
  if (candidates.length > 0) return candidates[0]!;
  return localMs - zone.offsetAt(localMs - DAY_MS);
}
