import type { OhlcvBar } from '../ohlcv.js';
import type { StateReader, StateWriter } from '../state.js';
import { fma } from './fma.js';
import { Indicator, RingWindow } from './indicator.js';

// TA-Lib's SMA and EMA, step for step (TA-Lib 0.8.1; docs/features.md has the formulas). The
// order of floating-point operations is part of the contract: values equal TA-Lib's bit for bit.

/**
 * TA-Lib's running-sum SMA: the total is added to, the mean taken, then the trailing value
 * subtracted, never recomputed. Used on its own and inside STOCH.
 */
export class RunningSma {
  private total = 0;
  private readonly window: RingWindow;
  /** The mean once `period` values are in, else NaN. */
  value = Number.NaN;

  constructor(readonly period: number) {
    this.window = new RingWindow(period);
  }

  /** Takes the next value; the mean is then in `value` (a field: see RingWindow.evicted). */
  update(x: number): void {
    this.total = this.total + x;
    this.window.push(x);
    if (!this.window.full) {
      this.value = Number.NaN;
      return;
    }
    this.value = this.total / this.period;
    this.total = this.total - this.window.oldest();
  }

  save(w: StateWriter): void {
    w.push(this.total);
    w.push(this.value);
    this.window.save(w);
  }

  load(r: StateReader): void {
    this.total = r.next();
    this.value = r.next();
    this.window.load(r);
  }
}

export class Sma extends Indicator {
  private readonly sma: RunningSma;

  constructor(readonly period: number) {
    super(['value']);
    this.sma = new RunningSma(period);
  }

  update(bar: Readonly<OhlcvBar>): void {
    this.sma.update(bar.close);
    this.out[0] = this.sma.value;
  }

  protected saveState(w: StateWriter): void {
    this.sma.save(w);
  }

  protected loadState(r: StateReader): void {
    this.sma.load(r);
  }
}

export type Seed = 'sma' | 'first';

/**
 * An exponential average with TA-Lib's step `fma(x − ema, k, ema)`, k = 2/(n+1), ready after n
 * values. Seeding: `sma` (TA-Lib) starts from the mean of the first n values; `first` starts the
 * recursion at the first value (as pandas' ewm(adjust=False) and several charting tools), so only
 * the early values differ.
 */
export class RunningEma {
  private readonly k: number;
  private sum = 0;
  private count = 0;
  private ema = Number.NaN;
  value = Number.NaN;

  constructor(
    readonly period: number,
    private readonly seed: Seed = 'sma',
  ) {
    this.k = 2.0 / (period + 1);
  }

  /** Takes the next value; the average is then in `value` (NaN while warming up). */
  update(x: number): void {
    this.count++;
    if (this.period === 1) {
      this.ema = x; // TA-Lib copies the input for a 1-period EMA
    } else if (this.seed === 'first') {
      this.ema = this.count === 1 ? x : fma(x - this.ema, this.k, this.ema);
    } else if (this.count <= this.period) {
      this.sum = this.sum + x;
      if (this.count === this.period) this.ema = this.sum / this.period;
    } else {
      this.ema = fma(x - this.ema, this.k, this.ema);
    }
    this.value = this.count >= this.period ? this.ema : Number.NaN;
  }

  save(w: StateWriter): void {
    w.push(this.sum);
    w.push(this.count);
    w.push(this.ema);
    w.push(this.value);
  }

  load(r: StateReader): void {
    this.sum = r.next();
    this.count = r.next();
    this.ema = r.next();
    this.value = r.next();
  }
}

export class Ema extends Indicator {
  private readonly ema: RunningEma;

  constructor(period: number, seed: Seed = 'sma') {
    super(['value']);
    this.ema = new RunningEma(period, seed);
  }

  update(bar: Readonly<OhlcvBar>): void {
    this.ema.update(bar.close);
    this.out[0] = this.ema.value;
  }

  protected saveState(w: StateWriter): void {
    this.ema.save(w);
  }

  protected loadState(r: StateReader): void {
    this.ema.load(r);
  }
}
