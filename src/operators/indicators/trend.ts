import type { OhlcvBar } from '../ohlcv.js';
import type { StateReader, StateWriter } from '../state.js';
import { fma } from './fma.js';
import { Indicator, RingWindow } from './indicator.js';
import type { Seed } from './movingAverages.js';

// TA-Lib's ATR, NATR, ADX, BBANDS and OBV, step for step (TA-Lib 0.8.1; docs/features.md). First
// ready bars: ATR(14) and NATR(14) 14, ADX(14) 27, BBANDS(20) 19, OBV 0.

/** True range against the previous close: max(H − L, |C₋₁ − H|, |C₋₁ − L|). */
function trueRange(high: number, low: number, prevClose: number): number {
  let g = high - low;
  const up = Math.abs(prevClose - high);
  if (up > g) g = up;
  const down = Math.abs(prevClose - low);
  if (down > g) g = down;
  return g;
}

/** Wilder's ATR as TA-Lib 0.8.1: seeded by the mean of the first n true ranges, then fma(atr, β, α·TR). */
export class Atr extends Indicator {
  private readonly wBeta: number;
  private readonly wAlpha: number;
  private prevClose = Number.NaN;
  private total = 0;
  private atr = Number.NaN;
  private count = 0;

  constructor(
    readonly period: number,
    private readonly seed: Seed = 'sma',
  ) {
    super(['value']);
    this.wBeta = (period - 1) / period;
    this.wAlpha = 1.0 - this.wBeta; // not 1/n: TA-Lib derives it from β, and the last bits differ
  }

  update(bar: Readonly<OhlcvBar>): void {
    const t = this.count++;
    const prev = this.prevClose;
    this.prevClose = bar.close;
    if (t === 0) return;
    const tr = trueRange(bar.high, bar.low, prev);
    if (this.seed === 'first') {
      this.atr = t === 1 ? tr : fma(this.atr, this.wBeta, this.wAlpha * tr);
    } else if (t <= this.period) {
      this.total = this.total + tr;
      if (t === this.period) this.atr = this.total / this.period;
    } else {
      this.atr = fma(this.atr, this.wBeta, this.wAlpha * tr);
    }
    if (t >= this.period) this.out[0] = this.atr;
  }

  /** Whether `out` holds a value (a NaN there could also be a NaN input's). */
  get ready(): boolean {
    return this.count > this.period;
  }

  protected saveState(w: StateWriter): void {
    w.push(this.prevClose);
    w.push(this.total);
    w.push(this.atr);
    w.push(this.count);
  }

  protected loadState(r: StateReader): void {
    this.prevClose = r.next();
    this.total = r.next();
    this.atr = r.next();
    this.count = r.next();
  }
}

/**
 * NATR as TA-Lib 0.8.1 computes it: the ATR above (TA-Lib 0.8.1 smooths it with the same fma
 * step, checked against talib.NATR), then (ATR / close) × 100 in that order, with the close of
 * the same bar; 0 when that close is 0. TA-Lib tests the close for exactly zero (a close of
 * 5e-324 gives +∞), so no epsilon here either.
 */
export class Natr extends Indicator {
  private readonly atr: Atr;

  constructor(
    readonly period: number,
    seed: Seed = 'sma',
  ) {
    super(['value']);
    this.atr = new Atr(period, seed);
  }

  update(bar: Readonly<OhlcvBar>): void {
    const atr = this.atr;
    atr.update(bar);
    if (!atr.ready) return;
    const close = bar.close;
    this.out[0] = close !== 0 ? (atr.out[0]! / close) * 100.0 : 0.0;
  }

  protected saveState(w: StateWriter): void {
    this.atr.save(w);
  }

  protected loadState(r: StateReader): void {
    this.atr.load(r);
  }
}

/**
 * Wilder's ADX as TA-Lib 0.8.1: ±DM and TR summed over bars 1..n−1, then decayed (x − x/n + new);
 * DX from the directional indices; the first ADX is the mean of n DX values at bar 2n−1, then
 * ((ADX·(n−1)) + DX)/n. A bar whose TR sum is 0 or whose DI sum is ~0 has no DX: it adds nothing
 * and leaves the ADX as it was.
 */
export class Adx extends Indicator {
  private prevHigh = Number.NaN;
  private prevLow = Number.NaN;
  private prevClose = Number.NaN;
  private mDM = 0;
  private pDM = 0;
  private tr = 0;
  private sumDX = 0;
  private adx = Number.NaN;
  private count = 0;

  constructor(readonly period: number) {
    super(['adx']);
  }

  update(bar: Readonly<OhlcvBar>): void {
    const n = this.period;
    const t = this.count++;
    const { high, low, close } = bar;
    if (t === 0) {
      this.prevHigh = high;
      this.prevLow = low;
      this.prevClose = close;
      return;
    }
    const diffP = high - this.prevHigh;
    const diffM = this.prevLow - low;
    let plus = 0;
    let minus = 0;
    if (diffM > 0 && diffP < diffM) minus = diffM;
    else if (diffP > 0 && diffP > diffM) plus = diffP;
    const tr1 = trueRange(high, low, this.prevClose);
    this.prevHigh = high;
    this.prevLow = low;
    this.prevClose = close;
    if (t < n) {
      this.mDM += minus;
      this.pDM += plus;
      this.tr = this.tr + tr1;
      return;
    }
    this.mDM = this.mDM - this.mDM / n;
    this.pDM = this.pDM - this.pDM / n;
    if (minus !== 0) this.mDM += minus;
    else if (plus !== 0) this.pDM += plus;
    this.tr = this.tr - this.tr / n + tr1;
    let dx = Number.NaN;
    if (this.tr > 0.0) {
      const mDI = 100.0 * (this.mDM / this.tr);
      const pDI = 100.0 * (this.pDM / this.tr);
      const s = mDI + pDI;
      if (!(-1e-14 < s && s < 1e-14)) dx = 100.0 * (Math.abs(mDI - pDI) / s);
    }
    if (t < 2 * n - 1) {
      if (!Number.isNaN(dx)) this.sumDX = this.sumDX + dx;
      return;
    }
    if (t === 2 * n - 1) {
      if (!Number.isNaN(dx)) this.sumDX = this.sumDX + dx;
      this.adx = this.sumDX / n;
    } else if (!Number.isNaN(dx)) {
      this.adx = (this.adx * (n - 1) + dx) / n;
    }
    this.out[0] = this.adx;
  }

  protected saveState(w: StateWriter): void {
    for (const v of [this.prevHigh, this.prevLow, this.prevClose, this.mDM, this.pDM, this.tr, this.sumDX, this.adx, this.count]) w.push(v);
  }

  protected loadState(r: StateReader): void {
    this.prevHigh = r.next();
    this.prevLow = r.next();
    this.prevClose = r.next();
    this.mDM = r.next();
    this.pDM = r.next();
    this.tr = r.next();
    this.sumDX = r.next();
    this.adx = r.next();
    this.count = r.next();
  }
}

/**
 * Bollinger Bands as TA-Lib 0.8.1: middle = running-sum SMA; the variance from sums of the
 * closes' deviations from a shift value that is re-centred on the window ("reseed") every 32·n
 * bars or when cancellation threatens. Outputs width = (upper − lower)/middle, the bands, and
 * %B = (close − lower)/(upper − lower), which TA-Lib does not have: 0.5 when the bands coincide
 * (σ = 0: every close of the window is the middle, so the close sits at the band's centre; like
 * width, which is then 0, it is a value rather than missing, so flat stretches keep their rows).
 */
export class Bbands extends Indicator {
  private readonly inv: number;
  private readonly window: RingWindow;
  private maTotal = 0;
  private shift = Number.NaN;
  private v1 = 0;
  private v2 = 0;
  private barsSinceReseed: number;

  constructor(
    readonly period: number,
    readonly devs: number,
  ) {
    // percent_b last: the saved state holds the first four outputs only (see save).
    super(['width', 'upper', 'middle', 'lower', 'percent_b']);
    this.inv = 1.0 / period;
    this.window = new RingWindow(period);
    this.barsSinceReseed = 32 * period;
  }

  update(bar: Readonly<OhlcvBar>): void {
    const x = bar.close;
    const n = this.period;
    const inv = this.inv;
    if (Number.isNaN(this.shift)) this.shift = x;
    this.maTotal = this.maTotal + x;
    const d = x - this.shift;
    this.v1 = this.v1 + d;
    this.v2 = this.v2 + d * d;
    this.window.push(x);
    if (!this.window.full) return;
    const mean1 = this.v1 * inv;
    let variance = this.v2 * inv - mean1 * mean1;
    const mid = this.maTotal / n;
    const old = this.window.oldest();
    this.maTotal = this.maTotal - old;
    const e = old - this.shift;
    this.v1 = this.v1 - e;
    const e2 = e * e;
    this.v2 = this.v2 - e2;
    this.barsSinceReseed -= 1;
    if (variance < 1e-6 * (this.v2 * inv) || e2 > 1e6 * this.v2 || this.barsSinceReseed <= 0) {
      this.barsSinceReseed = 32 * n;
      let s = 0.0;
      for (let j = 0; j < n; j++) s = s + this.window.at(j);
      this.shift = s * inv;
      this.v1 = 0.0;
      this.v2 = 0.0;
      for (let j = 0; j < n; j++) {
        const dj = this.window.at(j) - this.shift;
        this.v1 = this.v1 + dj;
        this.v2 = this.v2 + dj * dj;
      }
      const m = this.v1 * inv;
      variance = this.v2 * inv - m * m;
      if (variance < 1e-12 * (this.v2 * inv)) variance = 0.0;
      const e0 = this.window.oldest() - this.shift;
      this.v1 = this.v1 - e0;
      this.v2 = this.v2 - e0 * e0;
    }
    const sd = variance !== 0.0 ? Math.sqrt(variance) : 0.0;
    const tmp = sd * this.devs;
    const upper = mid + tmp;
    const lower = mid - tmp;
    this.out[0] = (upper - lower) / mid;
    this.out[1] = upper;
    this.out[2] = mid;
    this.out[3] = lower;
    this.out[4] = percentB(x, upper, lower);
  }

  /**
   * %B is left out of the state and recomputed on load from the bands and the newest close, the
   * same expression on the same doubles: snapshots keep the layout they had before %B existed, so
   * a live process of a feature set with Bollinger bands restarts from its older snapshots.
   */
  override save(w: StateWriter): void {
    w.pushAll(this.out, 0, 4);
    this.saveState(w);
  }

  override load(r: StateReader): void {
    r.nextInto(this.out, 0, 4);
    this.loadState(r);
    this.out[4] = Number.isNaN(this.out[1]!) ? Number.NaN : percentB(this.window.newest(), this.out[1]!, this.out[3]!);
  }

  protected saveState(w: StateWriter): void {
    this.window.save(w);
    for (const v of [this.maTotal, this.shift, this.v1, this.v2, this.barsSinceReseed]) w.push(v);
  }

  protected loadState(r: StateReader): void {
    this.window.load(r);
    this.maTotal = r.next();
    this.shift = r.next();
    this.v1 = r.next();
    this.v2 = r.next();
    this.barsSinceReseed = r.next();
  }
}

function percentB(close: number, upper: number, lower: number): number {
  const range = upper - lower;
  return range !== 0 ? (close - lower) / range : 0.5;
}

/** On-balance volume as TA-Lib: starts at the first bar's volume; ± volume on up/down closes. */
export class Obv extends Indicator {
  private prevClose = Number.NaN;
  private obv = Number.NaN;

  constructor() {
    super(['value']);
  }

  update(bar: Readonly<OhlcvBar>): void {
    if (Number.isNaN(this.obv)) this.obv = bar.volume;
    else if (bar.close > this.prevClose) this.obv = this.obv + bar.volume;
    else if (bar.close < this.prevClose) this.obv = this.obv - bar.volume;
    this.prevClose = bar.close;
    this.out[0] = this.obv;
  }

  protected saveState(w: StateWriter): void {
    w.push(this.prevClose);
    w.push(this.obv);
  }

  protected loadState(r: StateReader): void {
    this.prevClose = r.next();
    this.obv = r.next();
  }
}
