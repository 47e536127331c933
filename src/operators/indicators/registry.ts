import type { FeatureSpec } from '../featureSet.js';
import type { Indicator } from './indicator.js';
import { Macd, Rsi, Stoch } from './momentum.js';
import { Ema, Sma } from './movingAverages.js';
import { Adx, Atr, Bbands, Obv } from './trend.js';
import { GarmanKlass, LogReturn, Parkinson, ReturnMoments, VolumeRatio, VwapDistance } from './windowed.js';

import type { OhlcvBar } from '../ohlcv.js';

const CODES = {
  log_return: 0,
  sma: 1,
  ema: 2,
  rsi: 3,
  atr: 4,
  adx: 5,
  macd: 6,
  stoch: 7,
  bbands: 8,
  obv: 9,
  parkinson: 10,
  garman_klass: 11,
  vwap: 12,
  volume_ratio: 13,
  return_moments: 14,
} as const satisfies Record<FeatureSpec['kind'], number>;

/** The indicator a feature spec names, with its parameters. Adding a kind: a class and a line here and in updateIndicator. */
export function createIndicator(spec: FeatureSpec): Indicator {
  const ind = construct(spec);
  ind.code = CODES[spec.kind];
  return ind;
}

/**
 * Calls `update` through one call site per class. A lane holds a dozen indicator classes, and a
 * single `ind.update(bar)` site seeing all of them is megamorphic in V8 (a slow lookup on every
 * call); per-class sites stay monomorphic and inline. Measured: the default feature set runs
 * about 1.6× faster this way.
 */
export function updateIndicator(ind: Indicator, bar: Readonly<OhlcvBar>): void {
  switch (ind.code) {
    case 0:
      return (ind as LogReturn).update(bar);
    case 1:
      return (ind as Sma).update(bar);
    case 2:
      return (ind as Ema).update(bar);
    case 3:
      return (ind as Rsi).update(bar);
    case 4:
      return (ind as Atr).update(bar);
    case 5:
      return (ind as Adx).update(bar);
    case 6:
      return (ind as Macd).update(bar);
    case 7:
      return (ind as Stoch).update(bar);
    case 8:
      return (ind as Bbands).update(bar);
    case 9:
      return (ind as Obv).update(bar);
    case 10:
      return (ind as Parkinson).update(bar);
    case 11:
      return (ind as GarmanKlass).update(bar);
    case 12:
      return (ind as VwapDistance).update(bar);
    case 13:
      return (ind as VolumeRatio).update(bar);
    case 14:
      return (ind as ReturnMoments).update(bar);
    default:
      return ind.update(bar);
  }
}

function construct(spec: FeatureSpec): Indicator {
  switch (spec.kind) {
    case 'log_return':
      return new LogReturn();
    case 'sma':
      return new Sma(spec.period);
    case 'ema':
      return new Ema(spec.period, spec.seed);
    case 'rsi':
      return new Rsi(spec.period, spec.seed);
    case 'atr':
      return new Atr(spec.period, spec.seed);
    case 'adx':
      return new Adx(spec.period);
    case 'macd':
      return new Macd(spec.fast, spec.slow, spec.signal, spec.seed);
    case 'stoch':
      return new Stoch(spec.fastk, spec.slowk, spec.slowd);
    case 'bbands':
      return new Bbands(spec.period, spec.devs);
    case 'obv':
      return new Obv();
    case 'parkinson':
      return new Parkinson(spec.period);
    case 'garman_klass':
      return new GarmanKlass(spec.period);
    case 'vwap':
      return new VwapDistance(spec.period);
    case 'volume_ratio':
      return new VolumeRatio(spec.period);
    case 'return_moments':
      return new ReturnMoments(spec.period);
  }
}
