import type { Bar } from '../bars/bar.js';
import type { BarField, FeatureSet, FeatureSpec } from './featureSet.js';
import { inArena } from './indicators/float64Arena.js';
import { createIndicator } from './indicators/registry.js';
import type { BarLogs, Indicator } from './indicators/indicator.js';
import type { OhlcvBar } from './ohlcv.js';
import { OutOfOrderBarError, Resampler } from './resampler.js';
import { StateReader, StateWriter, type Stateful } from './state.js';
import { timeframeMs } from './timeframe.js';

const BAR_FIELD_INDEX: Record<BarField, number> = { open: 0, high: 1, low: 2, close: 3, volume: 4, bars: 5 };

function barField(b: Readonly<OhlcvBar>, field: number): number {
  switch (field) {
    case 0:
      return b.open;
    case 1:
      return b.high;
    case 2:
      return b.low;
    case 3:
      return b.close;
    case 4:
      return b.volume;
    default:
      return b.bars;
  }
}

type LaneStep = (indicators: Indicator[], bar: Readonly<OhlcvBar>, row: Float64Array, last: Float64Array, base: number, logs: BarLogs) => void;

/** Which shared logarithms (BarLogs) an indicator kind reads. */
const LOGS_USED: Partial<Record<FeatureSpec['kind'], ('lnHL' | 'lnCO' | 'ret')[]>> = {
  log_return: ['ret'],
  return_moments: ['ret'],
  parkinson: ['lnHL'],
  garman_klass: ['lnHL', 'lnCO'],
};
const laneSteps = new Map<string, LaneStep>();

/**
 * The per-bar step of a lane, generated once per lane layout: update every indicator, then copy the
 * lane's columns into the row at constant offsets. Generated so that each indicator gets its own
 * call site: a loop calling `indicators[i].update(bar)` on a dozen classes is megamorphic in V8,
 * about 15–20 ns per call lost to the lookup (measured: 12 RSIs 239 ns/bar, 11 mixed classes of
 * similar cost 475 ns/bar); one monomorphic site per indicator inlines instead. Offsets are
 * relative to the lane's first column (a lane's columns are contiguous), so every lane with the same
 * indicators shares one step, in every engine: its call site stays monomorphic too. The source holds
 * only numbers and fixed identifiers.
 */
function laneStep(indicators: Indicator[], kinds: FeatureSpec['kind'][], cols: readonly { indicator: number; output: number; offset: number }[], base: number): LaneStep {
  const used = new Set(kinds.flatMap((k) => LOGS_USED[k] ?? []));
  const lines = [
    ...indicators.map((_, i) => `const i${i} = indicators[${i}];`),
    // The same expressions the indicators use on their own, so the values are the same bits.
    used.has('lnHL') ? 'logs.lnHL = Math.log(bar.high / bar.low);' : '',
    used.has('lnCO') ? 'logs.lnCO = Math.log(bar.close / bar.open);' : '',
    used.has('ret') ? 'logs.ret = last[6] > 0 && bar.close > 0 ? Math.log(bar.close / last[6]) : NaN;' : '',
    ...indicators.map((_, i) => `i${i}.update(bar${LOGS_USED[kinds[i]!] ? ', logs' : ''});`),
    'last[0] = bar.open; last[1] = bar.high; last[2] = bar.low; last[3] = bar.close; last[4] = bar.volume; last[5] = bar.bars; last[6] = bar.close;',
    ...cols.map((c) => `row[base + ${c.offset - base}] = ${c.indicator < 0 ? `last[${c.output}]` : `i${c.indicator}.out[${c.output}]`};`),
  ];
  const source = lines.join('\n');
  let step = laneSteps.get(source);
  if (step === undefined) {
    step = new Function('indicators', 'bar', 'row', 'last', 'base', 'logs', source) as LaneStep;
    laneSteps.set(source, step);
  }
  return step;
}

/** The parameters that make two feature specs the same indicator (name and output aside). */
function indicatorKey(spec: FeatureSpec): string {
  const { name: _name, timeframes: _tfs, ...rest } = spec as FeatureSpec & { output?: string };
  const { output: _output, ...params } = rest as typeof rest & { output?: string };
  return JSON.stringify(params);
}

/** What every engine's lane of one timeframe of a feature set is made of, worked out once per set. */
interface LanePlan {
  /** The distinct indicators of the lane, in column order of first use. */
  specs: FeatureSpec[];
  cols: { indicator: number; output: number; outputName: string | undefined; offset: number }[];
  forming: { offset: number; field: number }[];
  /** The generated step, set by the first lane built from the plan. */
  step: LaneStep | null;
}

// A live process creates an engine per new symbol (1,000 at once when a burst of new symbols
// arrives); working out the lane layout (spec keys, column offsets, the step's source) per engine
// cost about 0.5 ms each, half a second of the event loop for such a burst. Keyed by the set object.
const lanePlans = new WeakMap<FeatureSet, Map<string, LanePlan>>();
/** Doubles the indicators of one engine of a set take (float64Arena). */
const arenaSizes = new WeakMap<FeatureSet, number>();

function lanePlan(featureSet: FeatureSet, tf: string): LanePlan {
  let byTf = lanePlans.get(featureSet);
  if (byTf === undefined) lanePlans.set(featureSet, (byTf = new Map()));
  let plan = byTf.get(tf);
  if (plan !== undefined) return plan;
  plan = { specs: [], cols: [], forming: [], step: null };
  const keys = new Map<string, number>();
  featureSet.columns.forEach((c, offset) => {
    if (c.tf !== tf) return;
    if (c.source.type === 'bar') plan.cols.push({ indicator: -1, output: BAR_FIELD_INDEX[c.source.field], outputName: undefined, offset });
    else if (c.source.type === 'forming') plan.forming.push({ offset, field: BAR_FIELD_INDEX[c.source.field] });
    else {
      const key = indicatorKey(c.source.spec);
      let index = keys.get(key);
      if (index === undefined) {
        index = plan.specs.push(c.source.spec) - 1;
        keys.set(key, index);
      }
      plan.cols.push({ indicator: index, output: 0, outputName: (c.source.spec as FeatureSpec & { output?: string }).output, offset });
    }
  });
  byTf.set(tf, plan);
  return plan;
}

/**
 * One timeframe of a feature set: its resampler (none for 1m), the indicators over its complete
 * bars, and where its columns sit in the row. When a bar of the timeframe completes, the indicators
 * take it and the lane's columns are rewritten; between completions they keep the latest complete
 * bar's values, which is what makes every higher-timeframe value in a row causal.
 */
class Lane implements Stateful {
  readonly resampler: Resampler | null;
  private readonly indicators: Indicator[] = [];
  private readonly kinds: FeatureSpec['kind'][] = [];
  private readonly logs: BarLogs = { lnHL: Number.NaN, lnCO: Number.NaN, ret: Number.NaN };
  /** Per column: -1 for a bar field (then `field` holds its index), else the indicator index. */
  private readonly colIndicator: Int32Array;
  private readonly colOutput: Int32Array;
  private readonly colOffset: Int32Array;
  private readonly step: LaneStep;
  /** Offset of the lane's first column in the row. */
  private readonly base: number;
  private readonly forming: { offset: number; field: number }[] = [];
  /** The latest complete bar's open … bars, then the previous close for the shared log return. */
  private readonly last = new Float64Array(7);
  private readonly view: OhlcvBar = { ts: 0, open: 0, high: 0, low: 0, close: 0, volume: 0, bars: 1 };

  constructor(
    readonly tf: string,
    featureSet: FeatureSet,
    private readonly row: Float64Array,
  ) {
    const tfMs = timeframeMs(tf);
    this.resampler = tfMs === 60_000 ? null : new Resampler(tfMs, featureSet.anchor, (bar) => this.onBar(bar));
    const plan = lanePlan(featureSet, tf);
    for (const spec of plan.specs) {
      this.indicators.push(createIndicator(spec));
      this.kinds.push(spec.kind);
    }
    this.forming.push(...plan.forming);
    const cols = plan.cols.map((c) => ({ indicator: c.indicator, offset: c.offset, output: c.indicator < 0 ? c.output : c.outputName === undefined ? 0 : this.indicators[c.indicator]!.output(c.outputName) }));
    this.colIndicator = Int32Array.from(cols, (c) => c.indicator);
    this.colOutput = Int32Array.from(cols, (c) => c.output);
    this.colOffset = Int32Array.from(cols, (c) => c.offset);
    this.base = cols.length > 0 ? Math.min(...cols.map((c) => c.offset)) : 0;
    this.step = plan.step ??= laneStep(this.indicators, this.kinds, cols, this.base);
    this.last.fill(Number.NaN);
  }

  /** A 1-minute bar: the 1m lane takes it as its complete bar; others resample it. */
  update(bar: Bar): void {
    if (this.resampler === null) {
      const v = this.view;
      v.ts = bar.ts;
      v.open = bar.open;
      v.high = bar.high;
      v.low = bar.low;
      v.close = bar.close;
      v.volume = bar.volume;
      this.onBar(v);
    } else {
      this.resampler.update(bar);
      if (this.forming.length > 0) this.writeForming();
    }
  }

  watermark(ts: number): void {
    if (this.resampler === null) return;
    this.resampler.watermark(ts);
    if (this.forming.length > 0) this.writeForming();
  }

  private onBar(bar: Readonly<OhlcvBar>): void {
    this.step(this.indicators, bar, this.row, this.last, this.base, this.logs);
    if (this.forming.length > 0) this.writeForming();
  }

  /** Copies the lane's latest values into the row (also after a restore). */
  write(): void {
    const row = this.row;
    for (let c = 0; c < this.colOffset.length; c++) {
      const ind = this.colIndicator[c]!;
      row[this.colOffset[c]!] = ind < 0 ? this.last[this.colOutput[c]!]! : this.indicators[ind]!.out[this.colOutput[c]!]!;
    }
    if (this.forming.length > 0) this.writeForming();
  }

  private writeForming(): void {
    const b = this.resampler?.forming() ?? null;
    for (const f of this.forming) this.row[f.offset] = b === null ? Number.NaN : barField(b, f.field);
  }

  save(w: StateWriter): void {
    this.resampler?.save(w);
    w.pushAll(this.last);
    for (const ind of this.indicators) ind.save(w);
  }

  load(r: StateReader): void {
    this.resampler?.load(r);
    r.nextInto(this.last);
    for (const ind of this.indicators) ind.load(r);
  }
}

/**
 * The feature rows of one symbol: feed it the symbol's 1-minute bars (and watermarks) in order;
 * after each bar, `row` holds that bar's feature row (columns as `featureSet.columns`, NaN for
 * missing). The row is one buffer, rewritten in place: copy it to keep it. The engine creates no
 * objects per bar (V8 may still box a few doubles at calls it does not inline: docs/benchmarks.md).
 */
export class FeatureEngine implements Stateful {
  readonly row: Float64Array;
  private readonly lanes: Lane[];
  /** Open time of the last bar taken (−∞ before the first). */
  lastTs = Number.NEGATIVE_INFINITY;
  /** Every bar before this time has been seen (the latest watermark). */
  private sealedUntil = Number.NEGATIVE_INFINITY;

  constructor(readonly featureSet: FeatureSet) {
    this.row = new Float64Array(featureSet.columns.length).fill(Number.NaN);
    const row = this.row;
    // The first engine of a set counts the doubles its indicators take; later ones get them in one buffer.
    const size = arenaSizes.get(featureSet) ?? null;
    const { built, used } = inArena(size, () => featureSet.timeframes.map((tf) => new Lane(tf, featureSet, row)));
    if (size === null) arenaSizes.set(featureSet, used);
    this.lanes = built;
  }

  /** Takes the next 1-minute bar of the symbol; refuses one out of order (OutOfOrderBarError). */
  update(bar: Bar): void {
    if (!(bar.ts > this.lastTs)) throw new OutOfOrderBarError(bar.ts, this.lastTs, 'is not after the previous bar at');
    if (bar.ts < this.sealedUntil) throw new OutOfOrderBarError(bar.ts, this.sealedUntil, 'arrives after a watermark at');
    for (let i = 0; i < this.lanes.length; i++) this.lanes[i]!.update(bar);
    this.lastTs = bar.ts;
  }

  /** Event time: every 1-minute bar opening before `ts` has arrived; closes quiet buckets. */
  watermark(ts: number): void {
    if (ts > this.sealedUntil) this.sealedUntil = ts;
    for (const lane of this.lanes) lane.watermark(ts);
  }

  save(w: StateWriter): void {
    w.push(this.lastTs);
    w.push(this.sealedUntil);
    for (const lane of this.lanes) lane.save(w);
  }

  load(r: StateReader): void {
    this.lastTs = r.next();
    this.sealedUntil = r.next();
    for (const lane of this.lanes) lane.load(r);
    this.row.fill(Number.NaN);
    for (const lane of this.lanes) lane.write();
  }

  /** The exact state as bytes; `restore` on an engine of the same feature set continues bit for bit. */
  snapshot(): Uint8Array {
    const w = new StateWriter();
    this.save(w);
    return w.finish(layoutTag(this.featureSet));
  }

  restore(bytes: Uint8Array): void {
    const r = new StateReader(bytes, layoutTag(this.featureSet));
    this.load(r);
    r.end();
  }
}

/** A number that changes with the feature set's schema, so a snapshot of another layout is refused. */
export function layoutTag(featureSet: FeatureSet): number {
  return Number.parseInt(featureSet.schemaHash.slice(0, 12), 16);
}
