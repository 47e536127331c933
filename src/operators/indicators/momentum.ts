import type { OhlcvBar } from '../ohlcv.js';
import type { StateReader, StateWriter } from '../state.js';
import { fma } from './fma.js';
import { Indicator, RingWindow } from './indicator.js';
import { RunningSma, type Seed } from './movingAverages.js';

// TA-Lib's RSI, MACD and STOCH, step for step (TA-Lib 0.8.1; docs/features.md). Warm-up and the
// first ready bar are TA-Lib's lookbacks: RSI(14) at bar 14, MACD(12,26,9) at 33, STOCH(14,3,3)
// at 17.

/** Wilder's RSI as TA-Lib 0.8.1 computes it (multiply by 1/n; 0 when gain + loss is 0). */
export class Rsi extends Indicator {
  private readonly inv: number;
  private readonly nm1: number;
  private prev = Number.NaN;
  private gain = 0;
  private loss = 0;
  private count = 0;

  constructor(
    readonly period: number,
    private readonly seed: Seed = 'sma',
  ) {
    super(['value']);
    this.inv = 1.0 / period;
    this.nm1 = period - 1;
  }

  update(bar: Readonly<OhlcvBar>): void {
    const x = bar.close;
    const t = this.count++;
    if (t === 0) {
      this.prev = x;
      return;
    }
    const d = x - this.prev;
    this.prev = x;
    const pos = d > 0.0 ? d : 0.0;
    if (this.seed === 'first' && t === 1) {
      this.gain = pos;
      this.loss = pos - d;
    } else if (this.seed === 'sma' && t <= this.period) {
      this.gain = this.gain + pos;
      this.loss = this.loss + (pos - d);
      if (t === this.period) {
        this.loss = this.loss * this.inv;
        this.gain = this.gain * this.inv;
      }
    } else {
      this.loss = this.loss * this.nm1;
      this.gain = this.gain * this.nm1;
      this.gain = this.gain + pos;
      this.loss = this.loss + (pos - d);
      this.loss = this.loss * this.inv;
      this.gain = this.gain * this.inv;
    }
    if (t < this.period) return;
    const s = this.gain + this.loss;
    this.out[0] = s > 0.0 ? 100.0 * (this.gain / s) : 0.0;
  }

  protected saveState(w: StateWriter): void {
    w.push(this.prev);
    w.push(this.gain);
    w.push(this.loss);
    w.push(this.count);
  }

  protected loadState(r: StateReader): void {
    this.prev = r.next();
    this.gain = r.next();
    this.loss = r.next();
    this.count = r.next();
  }
}

/**
 * TA-Lib's MACD: both EMAs are seeded together at bar slow−1, the fast one on the last `fast`
 * closes of the slow window; the signal EMA is seeded with the mean of the first `signal` MACD
 * values. Outputs macd, signal and hist = macd − signal from bar (slow−1)+(signal−1).
 */
export class Macd extends Indicator {
  private readonly fast: number;
  private readonly slow: number;
  private readonly kf: number;
  private readonly ks: number;
  private readonly kg: number;
  private readonly closes: RingWindow;
  private count = 0;
  private sumSlow = 0;
  private emaFast = Number.NaN;
  private emaSlow = Number.NaN;
  private sumSignal = 0;
  private signalValue = Number.NaN;

  constructor(
    fast: number,
    slow: number,
    readonly signal: number,
    private readonly seed: Seed = 'sma',
  ) {
    super(['macd', 'signal', 'hist']);
    // TA-Lib swaps the periods when the slow one is shorter.
    this.fast = Math.min(fast, slow);
    this.slow = Math.max(fast, slow);
    this.kf = 2.0 / (this.fast + 1);
    this.ks = 2.0 / (this.slow + 1);
    this.kg = 2.0 / (signal + 1);
    this.closes = new RingWindow(this.fast);
  }

  update(bar: Readonly<OhlcvBar>): void {
    const x = bar.close;
    const t = this.count++;
    const seedAt = this.slow - 1;
    const readyAt = seedAt + this.signal - 1;
    let macd: number;
    if (this.seed === 'first') {
      this.emaFast = t === 0 ? x : fma(x - this.emaFast, this.kf, this.emaFast);
      this.emaSlow = t === 0 ? x : fma(x - this.emaSlow, this.ks, this.emaSlow);
      macd = this.emaFast - this.emaSlow;
      this.signalValue = t === 0 ? macd : fma(macd - this.signalValue, this.kg, this.signalValue);
    } else {
      if (t < seedAt) {
        this.sumSlow = this.sumSlow + x;
        this.closes.push(x);
        return;
      }
      if (t === seedAt) {
        this.sumSlow = this.sumSlow + x;
        this.closes.push(x);
        let sumFast = 0.0;
        for (let i = 0; i < this.fast; i++) sumFast = sumFast + this.closes.at(i);
        this.emaSlow = this.sumSlow / this.slow;
        this.emaFast = sumFast / this.fast;
      } else {
        this.emaFast = fma(x - this.emaFast, this.kf, this.emaFast);
        this.emaSlow = fma(x - this.emaSlow, this.ks, this.emaSlow);
      }
      macd = this.emaFast - this.emaSlow;
      if (t < readyAt) {
        this.sumSignal = this.sumSignal + macd;
        return;
      }
      if (t === readyAt) {
        this.sumSignal = this.sumSignal + macd;
        this.signalValue = this.sumSignal / this.signal;
      } else {
        this.signalValue = fma(macd - this.signalValue, this.kg, this.signalValue);
      }
    }
    if (t < readyAt) return;
    this.out[0] = macd;
    this.out[1] = this.signalValue;
    this.out[2] = macd - this.signalValue;
  }

  protected saveState(w: StateWriter): void {
    this.closes.save(w);
    w.push(this.count);
    w.push(this.sumSlow);
    w.push(this.emaFast);
    w.push(this.emaSlow);
    w.push(this.sumSignal);
    w.push(this.signalValue);
  }

  protected loadState(r: StateReader): void {
    this.closes.load(r);
    this.count = r.next();
    this.sumSlow = r.next();
    this.emaFast = r.next();
    this.emaSlow = r.next();
    this.sumSignal = r.next();
    this.signalValue = r.next();
  }
}

/**
 * TA-Lib's slow stochastic: fast %K over `fastk` bars, ((C − LL) / (HH − LL)) × 100 (0 when the
 * range is zero relative to the prices), smoothed by two running-sum SMAs into slow %K and %D;
 * both ready at bar (fastk−1)+(slowk−1)+(slowd−1).
 */
export class Stoch extends Indicator {
  private readonly highs: RingWindow;
  private readonly lows: RingWindow;
  private readonly slowK: RunningSma;
  private readonly slowD: RunningSma;
  private count = 0;
  private readonly readyAt: number;
  /** The window's extremes, kept as values arrive; rescanned only when an extreme leaves. */
  private hh = Number.NaN;
  private ll = Number.NaN;

  constructor(fastk: number, slowk: number, slowd: number) {
    super(['k', 'd']);
    this.highs = new RingWindow(fastk);
    this.lows = new RingWindow(fastk);
    this.slowK = new RunningSma(slowk);
    this.slowD = new RunningSma(slowd);
    this.readyAt = fastk - 1 + (slowk - 1) + (slowd - 1);
  }

  update(bar: Readonly<OhlcvBar>): void {
    const t = this.count++;
    const highs = this.highs;
    const lows = this.lows;
    highs.push(bar.high);
    lows.push(bar.low);
    // Extremes are values, not sums: keeping them incrementally is exact. A rescan is needed only
    // when the value that left was the extreme (or before the window first fills).
    if (highs.hasEvicted && highs.evicted === this.hh && !(bar.high >= this.hh)) this.hh = highs.max();
    else if (!(bar.high <= this.hh)) this.hh = bar.high;
    if (lows.hasEvicted && lows.evicted === this.ll && !(bar.low <= this.ll)) this.ll = lows.min();
    else if (!(bar.low >= this.ll)) this.ll = bar.low;
    if (!highs.full) return;
    const hh = this.hh;
    const ll = this.ll;
    const range = hh - ll;
    const fastK = Math.abs(range) <= 1e-14 * (Math.abs(hh) + Math.abs(ll)) ? 0.0 : ((bar.close - ll) / range) * 100.0;
    this.slowK.update(fastK);
    const k = this.slowK.value;
    if (Number.isNaN(k)) return;
    this.slowD.update(k);
    if (t < this.readyAt) return;
    this.out[0] = k;
    this.out[1] = this.slowD.value;
  }

  protected saveState(w: StateWriter): void {
    this.highs.save(w);
    this.lows.save(w);
    this.slowK.save(w);
    this.slowD.save(w);
    w.push(this.count);
    w.push(this.hh);
    w.push(this.ll);
  }

  protected loadState(r: StateReader): void {
    this.highs.load(r);
    this.lows.load(r);
    this.slowK.load(r);
    this.slowD.load(r);
    this.count = r.next();
    this.hh = r.next();
    this.ll = r.next();
  }
}
