import { Observable, type OperatorFunction } from 'rxjs';
import type { Bar } from '../bars/bar.js';
import { parseAnchor } from './anchor.js';
import { FeatureEngine } from './featureEngine.js';
import { type FeatureSet, type FeatureSpec, resolveFeatureSet } from './featureSet.js';
import { createIndicator } from './indicators/registry.js';
import type { OhlcvBar } from './ohlcv.js';
import { Resampler } from './resampler.js';
import { timeframeMs } from './timeframe.js';

// Thin RxJS wrappers: each keeps one plain state machine per symbol and calls its synchronous
// update for every event, in order. The batch replay runs through these. The live topology does
// not: it calls the same state machines (FeatureEngine through LiveSymbol) directly from its Kafka
// batches, because it must snapshot and restore each symbol's state and acknowledge per batch,
// which an Observable chain would hide. Parity holds because both paths run the same `update`.

/**
 * Event time as an input record: every 1-minute bar of `symbol` opening before `ts` has arrived.
 * It closes quiet buckets; a replay of the same records closes the same buckets.
 */
export interface Watermark {
  kind: 'watermark';
  symbol: string;
  ts: number;
}

export type BarEvent = Bar | Watermark;

export function isWatermark(e: BarEvent): e is Watermark {
  return (e as Watermark).kind === 'watermark';
}

/** A complete bar of a higher timeframe, with its symbol and timeframe. */
export interface TimeframeBar extends OhlcvBar {
  symbol: string;
  tf: string;
}

/** One feature row: the 1-minute bar's open time, its symbol and the values in column order. */
export interface FeatureRow {
  symbol: string;
  ts: number;
  /** NaN for missing. With `reuse`, one buffer per symbol, rewritten for every row. */
  values: Float64Array;
  schemaHash: string;
}

/**
 * Per-symbol state around a synchronous step: the building block of every operator here. State is
 * created on a symbol's first event; each subscription has its own states.
 */
export function perSymbol<In extends { symbol: string }, Out, S>(
  create: (symbol: string, emit: (out: Out) => void) => S,
  step: (state: S, event: In, emit: (out: Out) => void) => void,
): OperatorFunction<In, Out> {
  return (source) =>
    new Observable<Out>((subscriber) => {
      const states = new Map<string, S>();
      const emit = (out: Out) => subscriber.next(out);
      return source.subscribe({
        next(event) {
          let state = states.get(event.symbol);
          if (state === undefined) {
            state = create(event.symbol, emit);
            states.set(event.symbol, state);
          }
          try {
            step(state, event, emit);
          } catch (err) {
            subscriber.error(err);
          }
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}

/** Complete bars of one timeframe (`5m` … `1h`) from 1-minute bars and watermarks, per symbol. */
export function resample(tf: string, anchor = 'utc-day'): OperatorFunction<BarEvent, TimeframeBar> {
  const tfMs = timeframeMs(tf);
  const parsed = parseAnchor(anchor);
  return perSymbol<BarEvent, TimeframeBar, Resampler>(
    (symbol, emit) => new Resampler(tfMs, parsed, (bar) => emit({ ...bar, symbol, tf })),
    (resampler, event) => {
      if (isWatermark(event)) resampler.watermark(event.ts);
      else resampler.update(event);
    },
  );
}

/** One feature row per 1-minute bar (watermarks make none), with each symbol's state isolated. */
export function featureRows(
  featureSet: FeatureSet,
  options: { reuse?: boolean } = {},
): OperatorFunction<BarEvent, FeatureRow> {
  return perSymbol<BarEvent, FeatureRow, { engine: FeatureEngine; row: FeatureRow }>(
    (symbol) => {
      const engine = new FeatureEngine(featureSet);
      return { engine, row: { symbol, ts: 0, values: engine.row, schemaHash: featureSet.schemaHash } };
    },
    ({ engine, row }, event, emit) => {
      if (isWatermark(event)) {
        engine.watermark(event.ts);
        return;
      }
      engine.update(event);
      if (options.reuse) {
        row.ts = event.ts;
        emit(row);
      } else {
        emit({ symbol: event.symbol, ts: event.ts, values: engine.row.slice(), schemaHash: featureSet.schemaHash });
      }
    },
  );
}

/**
 * Rows of the latest complete bar of each timeframe, per 1-minute bar: the alignment alone, a
 * feature set with bar columns only (`open_<tf>` … `volume_<tf>`).
 */
export function alignTimeframes(timeframes: string[], anchor = 'utc-day'): OperatorFunction<BarEvent, FeatureRow> {
  return featureRows(resolveFeatureSet({ name: 'aligned', version: 1, anchor, timeframes }, 'alignTimeframes'));
}

/** Indicator outputs over a series of bars of one timeframe (e.g. after `resample`), per symbol. */
export interface IndicatorRow {
  symbol: string;
  ts: number;
  /** One entry per spec, in order: the spec's selected output (NaN while warming up). */
  values: number[];
}

export function indicators(specs: FeatureSpec[]): OperatorFunction<OhlcvBar & { symbol: string }, IndicatorRow> {
  return perSymbol<OhlcvBar & { symbol: string }, IndicatorRow, { ind: ReturnType<typeof createIndicator>; k: number }[]>(
    () =>
      specs.map((spec) => {
        const ind = createIndicator(spec);
        const output = (spec as { output?: string }).output;
        return { ind, k: output === undefined ? 0 : ind.output(output) };
      }),
    (state, bar, emit) => {
      for (const s of state) s.ind.update(bar);
      emit({ symbol: bar.symbol, ts: bar.ts, values: state.map((s) => s.ind.out[s.k]!) });
    },
  );
}
