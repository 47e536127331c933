import type { FeatureSpec } from '../featureSet.js';
import type { Indicator } from './indicator.js';
import { Macd, Rsi, Stoch } from './momentum.js';
import { Ema, Sma } from './movingAverages.js';
import { Adx, Atr, Bbands, Natr, Obv } from './trend.js';
import { GarmanKlass, LogReturn, Parkinson, ReturnMoments, VolumeRatio, VolumeZScore, VwapDistance } from './windowed.js';

/** The indicator a feature spec names, with its parameters. Adding a kind: a class and a line here. */
export function createIndicator(spec: FeatureSpec): Indicator {
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
    case 'natr':
      return new Natr(spec.period, spec.seed);
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
    case 'volume_zscore':
      return new VolumeZScore(spec.period);
    case 'return_moments':
      return new ReturnMoments(spec.period);
  }
}
