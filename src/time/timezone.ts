const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Marks an hour of the cache that contains an offset change; such hours are computed per call. */
const TRANSITION = Number.NaN;

/**
 * An IANA time zone backed by the platform's tz database (Intl), with the conversions bar
 * ingestion and session anchoring need: UTC → local wall clock, and local wall clock → the UTC
 * instants it names (none in a spring-forward gap, two in a fall-back overlap).
 *
 * Intl is the real tz source; the only thing written here is a per-hour offset cache, because
 * `formatToParts` costs microseconds and allocates, which is too slow for millions of bars.
 * Libraries such as luxon wrap the same Intl calls with more allocation per call, not less.
 */
export class TimeZone {
  private static readonly zones = new Map<string, TimeZone>();
  private readonly format: Intl.DateTimeFormat | null;
  private readonly hourOffsets = new Map<number, number>();
  /** Per local wall-clock hour: its single offset, or NaN for an hour with a gap or an overlap. */
  private readonly localHourOffsets = new Map<number, number>();

  private constructor(readonly name: string) {
    this.format =
      name === 'UTC'
        ? null
        : new Intl.DateTimeFormat('en-US', {
            timeZone: name,
            hourCycle: 'h23',
            year: 'numeric',
            month: 'numeric',
            day: 'numeric',
            hour: 'numeric',
            minute: 'numeric',
            second: 'numeric',
          });
  }

  /** Returns the zone, or throws a RangeError naming the zone when it is unknown. */
  static of(name: string): TimeZone {
    const cached = TimeZone.zones.get(name);
    if (cached) return cached;
    const canonical = name.toUpperCase() === 'UTC' || name === 'Z' || name === 'Etc/UTC' ? 'UTC' : name;
    let zone: TimeZone;
    try {
      zone = TimeZone.zones.get(canonical) ?? new TimeZone(canonical);
    } catch {
      throw new RangeError(`unknown time zone ${JSON.stringify(name)}: use an IANA name such as America/New_York or UTC`);
    }
    TimeZone.zones.set(name, zone);
    return zone;
  }

  /** Offset (local − UTC) in ms in force at a UTC instant. */
  offsetAt(utcMs: number): number {
    if (this.format === null) return 0;
    const hour = Math.floor(utcMs / HOUR_MS);
    let offset = this.hourOffsets.get(hour);
    if (offset === undefined) {
      const start = this.computeOffset(hour * HOUR_MS);
      const end = this.computeOffset(hour * HOUR_MS + HOUR_MS - 1);
      offset = start === end ? start : TRANSITION;
      this.hourOffsets.set(hour, offset);
    }
    return Number.isNaN(offset) ? this.computeOffset(utcMs) : offset;
  }

  /** Local wall-clock time at a UTC instant, expressed as if it were UTC epoch ms. */
  toLocal(utcMs: number): number {
    return utcMs + this.offsetAt(utcMs);
  }

  /**
   * The UTC instants whose local wall-clock time is `localMs` (a naive time expressed as if UTC),
   * ascending: one normally, none in a DST gap, two in a DST overlap.
   */
  fromLocal(localMs: number): number[] {
    if (this.format === null) return [localMs];
    const out: number[] = [];
    // Real zones change offset at most once within a day, so the offsets one day either side of
    // the wall-clock time are the only candidates.
    for (const offset of new Set([this.offsetAt(localMs - DAY_MS), this.offsetAt(localMs), this.offsetAt(localMs + DAY_MS)])) {
      const utc = localMs - offset;
      if (this.offsetAt(utc) === offset && !out.includes(utc)) out.push(utc);
    }
    return out.sort((a, b) => a - b);
  }

  /**
   * The one UTC instant of a local wall-clock time, or NaN when it names none (DST gap) or two
   * (DST overlap); then `fromLocal` tells which. Cached per local hour, for the hot path.
   */
  uniqueUtc(localMs: number): number {
    if (this.format === null) return localMs;
    const hour = Math.floor(localMs / HOUR_MS);
    let offset = this.localHourOffsets.get(hour);
    if (offset === undefined) {
      const first = this.fromLocal(hour * HOUR_MS);
      const last = this.fromLocal(hour * HOUR_MS + HOUR_MS - 60_000);
      const a = first.length === 1 ? hour * HOUR_MS - first[0]! : Number.NaN;
      const b = last.length === 1 ? hour * HOUR_MS + HOUR_MS - 60_000 - last[0]! : Number.NaN;
      offset = a === b ? a : Number.NaN;
      this.localHourOffsets.set(hour, offset);
    }
    if (!Number.isNaN(offset)) return localMs - offset;
    const all = this.fromLocal(localMs);
    return all.length === 1 ? all[0]! : Number.NaN;
  }

  private computeOffset(utcMs: number): number {
    const parts = this.format!.formatToParts(new Date(utcMs));
    let y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    for (const p of parts) {
      switch (p.type) {
        case 'year': y = Number(p.value); break;
        case 'month': mo = Number(p.value); break;
        case 'day': d = Number(p.value); break;
        case 'hour': h = Number(p.value); break;
        case 'minute': mi = Number(p.value); break;
        case 'second': s = Number(p.value); break;
      }
    }
    const wall = Date.UTC(y, mo - 1, d, h, mi, s);
    // Whole seconds only: Intl drops the milliseconds of the instant.
    return wall - (utcMs - (((utcMs % 1000) + 1000) % 1000));
  }
}
