import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { Bar } from '../../../src/bars/bar.js';
import { type BarEvent, type TimeframeBar, resample } from '../../../src/operators/rx.js';

const T0 = Date.UTC(2023, 0, 2, 10, 0);
const bar = (minute: number, close: number, symbol = 'ES'): Bar => ({ symbol, ts: T0 + minute * 60_000, open: close, high: close, low: close, close, volume: 1 });
const done = (minute: number, close: number, bars: number, symbol = 'ES'): TimeframeBar => ({
  symbol,
  tf: '5m',
  ts: T0 + minute * 60_000,
  open: close - (bars - 1),
  high: close,
  low: close - (bars - 1),
  close,
  volume: bars,
  bars,
});

describe('resample, marble-tested', () => {
  it('emits a bucket on its final minute, on a later bucket, or on a watermark — never before', () => {
    new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(({ cold, expectObservable }) => {
      const input = cold<BarEvent>('a-b-c--d-e-w|', {
        a: bar(0, 1), // 10:00
        b: bar(1, 2),
        c: bar(4, 3), // final minute of 10:00–10:05: completes it
        d: bar(6, 4), // 10:05 bucket
        e: bar(12, 5), // 10:10 bucket: the 10:05 one completes first
        w: { kind: 'watermark', symbol: 'ES', ts: T0 + 15 * 60_000 }, // closes the quiet 10:10 bucket
      });
      expectObservable(input.pipe(resample('5m'))).toBe('----x----y-z|', {
        x: done(0, 3, 3),
        y: done(5, 4, 1),
        z: done(10, 5, 1),
      });
    });
  });

  it('keeps symbols apart: one symbol never completes another one', () => {
    new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(({ cold, expectObservable }) => {
      const input = cold<BarEvent>('a-b-c|', { a: bar(0, 1, 'ES'), b: bar(7, 2, 'NQ'), c: bar(9, 3, 'NQ') });
      expectObservable(input.pipe(resample('5m'))).toBe('----y|', { y: done(5, 3, 2, 'NQ') });
    });
  });
});
