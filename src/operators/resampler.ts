import { MINUTE_MS } from '../bars/bar.js';
import { type Anchor, BucketClock } from './anchor.js';
import { type OhlcvBar, copyOhlcv, emptyOhlcv } from './ohlcv.js';
import type { StateReader, StateWriter, Stateful } from './state.js';

/** A 1-minute bar as the resampler reads it. */
export type BarLike = Pick<OhlcvBar, 'ts' | 'open' | 'high' | 'low' | 'close' | 'volume'>;

/**
 * A bar that is not strictly later than the last one, or that arrives after a watermark said all
 * bars before it had arrived. Operators refuse it rather than fold it into the wrong bucket: the
 * sources in front of them (file readers, the live consumer) route such bars to rejects first.
 */
export class OutOfOrderBarError extends Error {
  constructor(ts: number, after: number, what: string) {
    super(`bar at ${new Date(ts).toISOString()} ${what} ${new Date(after).toISOString()}; operators need each symbol's bars in strictly increasing time`);
    this.name = 'OutOfOrderBarError';
  }
}

/**
 * Builds the bars of one timeframe from 1-minute bars, causally and incrementally.
 *
 * A bucket's bar has the first open, highest high, lowest low, last close, the volume summed in
 * arrival order and the count of 1-minute bars. It is complete when the bar of its final minute
 * arrives, when a bar of a later bucket arrives (it then completes before that bar is taken), or
 * when a watermark at or after its end arrives. Empty buckets produce no bar. Completed bars are
 * handed to `onComplete` in time order, in one reused object: copy what you keep.
 */
export class Resampler implements Stateful {
  private readonly clock: BucketClock;
  private readonly bucket = emptyOhlcv();
  private bucketEnd = Number.NaN;
  private active = false;
  private readonly done = emptyOhlcv();
  /** Open time of the last bar taken, and the time before which every bar has been seen (watermarks). */
  private lastTs = Number.NEGATIVE_INFINITY;
  private sealedUntil = Number.NEGATIVE_INFINITY;

  constructor(
    readonly tfMs: number,
    anchor: Anchor,
    private readonly onComplete: (bar: Readonly<OhlcvBar>) => void,
  ) {
    this.clock = new BucketClock(tfMs, anchor);
  }

  update(bar: BarLike): void {
    if (!(bar.ts > this.lastTs)) throw new OutOfOrderBarError(bar.ts, this.lastTs, 'is not after the previous bar at');
    if (bar.ts < this.sealedUntil) throw new OutOfOrderBarError(bar.ts, this.sealedUntil, 'arrives after a watermark at');
    this.lastTs = bar.ts;
    if (this.active && bar.ts >= this.bucketEnd) this.complete();
    const b = this.bucket;
    if (!this.active) {
      this.clock.locate(bar.ts);
      this.active = true;
      this.bucketEnd = this.clock.end;
      b.ts = this.clock.start;
      b.open = bar.open;
      b.high = bar.high;
      b.low = bar.low;
      b.close = bar.close;
      b.volume = bar.volume;
      b.bars = 1;
    } else {
      if (bar.high > b.high) b.high = bar.high;
      if (bar.low < b.low) b.low = bar.low;
      b.close = bar.close;
      b.volume += bar.volume;
      b.bars++;
    }
    if (bar.ts + MINUTE_MS >= this.bucketEnd) this.complete();
  }

  /**
   * Event time: every 1-minute bar that opens before `ts` has arrived. A bucket whose final minute
   * opens before `ts` is then complete (for whole-minute watermarks: `ts` at or after its end).
   */
  watermark(ts: number): void {
    if (ts > this.sealedUntil) this.sealedUntil = ts;
    if (this.active && ts > this.bucketEnd - MINUTE_MS) this.complete();
  }

  /** The bucket so far (the `forming` view), or null between buckets. */
  forming(): Readonly<OhlcvBar> | null {
    return this.active ? this.bucket : null;
  }

  private complete(): void {
    this.active = false;
    this.onComplete(copyOhlcv(this.bucket, this.done));
  }

  save(w: StateWriter): void {
    w.push(this.lastTs);
    w.push(this.sealedUntil);
    w.bool(this.active);
    w.push(this.bucketEnd);
    const b = this.bucket;
    w.push(b.ts);
    w.push(b.open);
    w.push(b.high);
    w.push(b.low);
    w.push(b.close);
    w.push(b.volume);
    w.push(b.bars);
  }

  load(r: StateReader): void {
    this.lastTs = r.next();
    this.sealedUntil = r.next();
    this.active = r.bool();
    this.bucketEnd = r.next();
    const b = this.bucket;
    b.ts = r.next();
    b.open = r.next();
    b.high = r.next();
    b.low = r.next();
    b.close = r.next();
    b.volume = r.next();
    b.bars = r.next();
  }
}
