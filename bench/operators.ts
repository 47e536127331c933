/**
 * Operator figures for `npm run bench`: the default feature set's batch throughput and live
 * per-bar latency, the state size per symbol, and the same indicator set built from two peer
 * libraries (trading-signals, technicalindicators) over the same bars in the same run.
 */
import { Session } from 'node:inspector/promises';
import { Subject } from 'rxjs';
import * as ti from 'technicalindicators';
import * as ts from 'trading-signals';
import type { Bar } from '../dist/bars/bar.js';
import { FeatureEngine } from '../dist/operators/featureEngine.js';
import { loadFeatureSet, resolveFeatureSet } from '../dist/operators/featureSet.js';
import { featureRows } from '../dist/operators/rx.js';
import { REPEAT, section } from './harness.js';

export interface OperatorFigures {
  bars_per_s: number;
  p50_us: number;
  p99_us: number;
  state_bytes: number;
  alloc_bytes_per_bar: number;
  same_set_bars_per_s: number;
  trading_signals_bars_per_s: number;
  technicalindicators_bars_per_s: number;
}

/** RSI14, ATR14, MACD(12,26,9), STOCH(14,3,3), ADX14, BBANDS(20,2), OBV, SMA20, EMA20 on the 1m series. */
const sameSet = resolveFeatureSet({
  name: 'peers',
  version: 1,
  timeframes: ['1m'],
  bar: [],
  features: [
    { name: 'rsi14', kind: 'rsi', period: 14 },
    { name: 'atr14', kind: 'atr', period: 14 },
    { name: 'macd', kind: 'macd', output: 'hist' },
    { name: 'stoch', kind: 'stoch', output: 'k' },
    { name: 'adx14', kind: 'adx', period: 14 },
    { name: 'bb', kind: 'bbands', output: 'width' },
    { name: 'obv', kind: 'obv' },
    { name: 'sma20', kind: 'sma', period: 20 },
    { name: 'ema20', kind: 'ema', period: 20 },
  ],
});

export async function operatorBench(bars: Bar[]): Promise<OperatorFigures> {
  const fs = loadFeatureSet();

  // One long-lived engine, as in a replay: each pass continues the series (shifted in time).
  const span = bars[bars.length - 1]!.ts - bars[0]!.ts + 60_000;
  const passes = Array.from({ length: REPEAT + 2 }, (_, r) => bars.map((b) => ({ ...b, ts: b.ts + r * span })));
  const engine = new FeatureEngine(fs);
  let pass = 0;
  const [full] = await section(`Default feature set (${fs.columns.length} columns, ${fs.timeframes.length} timeframes), in-memory bars, one thread`, [
    {
      name: 'FeatureEngine.update over 1m bars (resampling + every column)',
      once: () => {
        const series = passes[pass++]!;
        for (let i = 0; i < series.length; i++) engine.update(series[i]!);
        return series.length;
      },
    },
  ], 'bars');

  // Bytes allocated per bar on the batch path, from V8's sampling heap profiler (objects the young
  // generation already collected included). The engine creates no objects per bar; what shows is
  // doubles V8 boxes at calls it chose not to inline.
  const alloc = await allocatedPerBar(() => {
    const series = passes[pass++]!;
    for (let i = 0; i < series.length; i++) engine.update(series[i]!);
    return series.length;
  });
  console.log(`Allocated on the batch path (V8 sampling heap profiler): ${alloc.toFixed(0)} bytes per bar, all short-lived`);

  const peers = await section('The same indicator set on the 1m series (RSI14 ATR14 MACD STOCH ADX14 BBANDS20 OBV SMA20 EMA20)', [
    {
      name: 'barflow FeatureEngine, these 9 on 1m (TA-Lib-exact)',
      once: () => {
        const e = new FeatureEngine(sameSet);
        for (let i = 0; i < bars.length; i++) e.update(bars[i]!);
        return bars.length;
      },
    },
    {
      name: 'trading-signals 8.3',
      once: () => {
        const rsi = new ts.RSI(14);
        const atr = new ts.ATR(14);
        const macd = new ts.MACD(new ts.EMA(12), new ts.EMA(26), new ts.EMA(9));
        const stoch = new ts.StochasticOscillator({ kPeriod: 14, kSlowingPeriod: 3, dPeriod: 3 });
        const adx = new ts.ADX(14);
        const bb = new ts.BollingerBands(20, 2);
        const obv = new ts.OBV(2); // OBV needs the previous candle: interval 2
        const sma = new ts.SMA(20);
        const ema = new ts.EMA(20);
        for (const b of bars) {
          const hlc = { high: b.high, low: b.low, close: b.close };
          rsi.update(b.close, false);
          atr.update(hlc, false);
          macd.update(b.close, false);
          stoch.update(hlc, false);
          adx.update(hlc, false);
          bb.update(b.close, false);
          obv.update({ open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume }, false);
          sma.update(b.close, false);
          ema.update(b.close, false);
        }
        return bars.length;
      },
    },
    {
      name: 'technicalindicators 3.1 (nextValue)',
      once: () => {
        const rsi = new ti.RSI({ period: 14, values: [] });
        const atr = new ti.ATR({ period: 14, high: [], low: [], close: [] });
        const macd = new ti.MACD({ values: [], fastPeriod: 12, slowPeriod: 26, signalPeriod: 9, SimpleMAOscillator: false, SimpleMASignal: false });
        const stoch = new ti.Stochastic({ high: [], low: [], close: [], period: 14, signalPeriod: 3 });
        const adx = new ti.ADX({ high: [], low: [], close: [], period: 14 });
        const bb = new ti.BollingerBands({ period: 20, stdDev: 2, values: [] });
        const obv = new ti.OBV({ close: [], volume: [] });
        const sma = new ti.SMA({ period: 20, values: [] });
        const ema = new ti.EMA({ period: 20, values: [] });
        for (const b of bars) {
          const candle = { high: b.high, low: b.low, close: b.close, open: b.open, volume: b.volume };
          rsi.nextValue(b.close);
          atr.nextValue(candle);
          macd.nextValue(b.close);
          stoch.nextValue(candle as never);
          adx.nextValue(candle as never);
          bb.nextValue(b.close);
          obv.nextValue(candle as never);
          sma.nextValue(b.close);
          ema.nextValue(b.close);
        }
        return bars.length;
      },
    },
  ], 'bars');

  // Live form: one bar at a time through the RxJS operator, each row copied out as the live topology does.
  const input = new Subject<Bar>();
  let sink = 0;
  const sub = input.pipe(featureRows(fs)).subscribe((row) => (sink += row.values.length));
  const latency = new Float64Array(bars.length);
  for (let pass = 0; pass < 2; pass++) {
    // Pass 0 warms up the JIT; pass 1 (a fresh symbol, so fresh state) is measured.
    for (let i = 0; i < bars.length; i++) {
      const bar = { ...bars[i]!, symbol: `LIVE${pass}` };
      const t0 = process.hrtime.bigint();
      input.next(bar);
      latency[i] = Number(process.hrtime.bigint() - t0) / 1000;
    }
  }
  sub.unsubscribe();
  latency.sort();
  const p50 = latency[Math.floor(latency.length * 0.5)]!;
  const p99 = latency[Math.floor(latency.length * 0.99)]!;
  console.log(`\nLive form, one bar at a time through featureRows (row copied): p50 ${p50.toFixed(2)} µs, p99 ${p99.toFixed(2)} µs, max ${latency[latency.length - 1]!.toFixed(1)} µs`);

  const stateBytes = engine.snapshot().byteLength; // the long-lived engine above, after all its bars
  console.log(`State per symbol (exact snapshot after ${bars.length} bars): ${stateBytes} bytes`);

  return {
    bars_per_s: full!.perSecond,
    p50_us: Number(p50.toFixed(2)),
    p99_us: Number(p99.toFixed(2)),
    state_bytes: stateBytes,
    alloc_bytes_per_bar: Math.round(alloc),
    same_set_bars_per_s: peers[0]!.perSecond,
    trading_signals_bars_per_s: peers[1]!.perSecond,
    technicalindicators_bars_per_s: peers[2]!.perSecond,
  };
}

async function allocatedPerBar(run: () => number): Promise<number> {
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
    const bars = run();
    const { profile } = await session.post('HeapProfiler.stopSampling');
    let bytes = 0;
    const visit = (node: typeof profile.head): void => {
      bytes += node.selfSize;
      for (const child of node.children) visit(child);
    };
    visit(profile.head);
    return bytes / bars;
  } finally {
    session.disconnect();
  }
}
