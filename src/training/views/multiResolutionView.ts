import { MINUTE_MS } from '../../bars/bar.js';
import { BucketClock } from '../../operators/anchor.js';
import type { FeatureSet } from '../../operators/featureSet.js';
import type { OhlcvBar } from '../../operators/ohlcv.js';
import { type BarLike, Resampler } from '../../operators/resampler.js';
import { timeframeMs } from '../../operators/timeframe.js';
import type { FeatureTable } from '../featureTable.js';
import {
  type ArrayFor,
  type Batch,
  type Dtype,
  type RowBatch,
  checkDtype,
  checkIndex,
  checkPositiveInt,
  chunked,
  describeRow,
  filterRows,
  output,
} from './common.js';

export const BAR_CHANNELS = ['open', 'high', 'low', 'close', 'volume', 'bars'] as const;
export type BarChannel = (typeof BAR_CHANNELS)[number];

export interface MultiResolutionViewOptions<D extends Dtype> {
  /** Timeframes, outer to inner order of the tensor's second axis (e.g. ['1m', '5m', '1h']). */
  timeframes: readonly string[];
  /** Complete bars per timeframe, the latest last. */
  seqLen: number;
  /** Bar fields per step [open, high, low, close, volume]; `bars` is the count of 1-minute bars. */
  channels?: readonly BarChannel[];
  /** Default float32. */
  dtype?: D;
}

export type MultiResolutionBatch<D extends Dtype> = Batch<D, [n: number, timeframes: number, seqLen: number, channels: number]>;

/**
 * The complete bars of one timeframe, every symbol's in row order (index space of the windows).
 * For 1m they are the table's rows themselves.
 */
export interface TimeframeBars {
  readonly tf: string;
  readonly length: number;
  /** Bucket open time (the bar's label). */
  readonly ts: Float64Array;
  /** Bucket end (exclusive): open + timeframe, or earlier for a bucket cut short by the anchor (day or session end). */
  readonly end: Float64Array;
  /** The table row whose 1-minute bar completed the bar: the first row that may see it. */
  readonly completedAt: Int32Array;
  readonly symbolCodes: Int32Array;
  channel(name: BarChannel): Float64Array;
}

interface Lane {
  bars: TimeframeBars;
  /** Per table row: index of the latest complete bar as of that row (−1 before any). */
  latest: Int32Array;
  /** Per symbol: index of its first bar (where its bars would start if it has none). */
  symbolFirst: Int32Array;
  /** The requested channels' arrays, in channel order. */
  channels: Float64Array[];
}

const BAR_COLUMNS = ['open', 'high', 'low', 'close', 'volume'] as const;

/**
 * Multi-resolution windows `(n, timeframes, seqLen, channels)`: for each row and timeframe, the
 * last seqLen COMPLETE bars of that timeframe as of the row, under the feature engine's rule (a
 * bar counts once the row's 1-minute bar has been processed and completed it). The higher
 * timeframes are rebuilt once, by the same Resampler and anchor as the features, from the 1-minute
 * bars in the table's open_1m … volume_1m columns; per row only an index into each timeframe's
 * bars is kept, and windows are copied only into the batch asked for.
 */
export class MultiResolutionView<D extends Dtype = 'float32'> {
  readonly timeframes: readonly string[];
  readonly channels: readonly BarChannel[];
  readonly seqLen: number;
  readonly dtype: D;
  private readonly lanes: Lane[];

  constructor(
    readonly table: FeatureTable,
    readonly featureSet: FeatureSet,
    options: MultiResolutionViewOptions<D>,
  ) {
    this.dtype = (options.dtype ?? 'float32') as D;
    checkDtype(this.dtype);
    checkPositiveInt('seqLen', options.seqLen);
    this.seqLen = options.seqLen;
    if (table.schemaHash !== featureSet.schemaHash) {
      // The anchor is part of the hash: another set could cut buckets differently from the table's columns.
      throw new Error(`${table.path}: computed with feature set schema ${table.schemaHash.slice(0, 12)}…, not ${featureSet.name}'s ${featureSet.schemaHash.slice(0, 12)}…; pass the feature set the table was made with`);
    }
    this.timeframes = [...options.timeframes];
    if (this.timeframes.length === 0) throw new Error('MultiResolutionView needs at least one timeframe');
    if (new Set(this.timeframes).size !== this.timeframes.length) throw new Error(`a timeframe is listed twice: ${this.timeframes.join(', ')}`);
    this.channels = [...(options.channels ?? ['open', 'high', 'low', 'close', 'volume'])];
    if (this.channels.length === 0) throw new Error('MultiResolutionView needs at least one channel');
    for (const c of this.channels) {
      if (!BAR_CHANNELS.includes(c)) throw new Error(`unknown channel ${JSON.stringify(c)}: use ${BAR_CHANNELS.join(', ')}`);
    }
    if (new Set(this.channels).size !== this.channels.length) throw new Error(`a channel is listed twice: ${this.channels.join(', ')}`);
    const minute = minuteBars(table);
    this.lanes = this.timeframes.map((tf) => {
      const tfMs = timeframeMs(tf);
      const bars = tfMs === MINUTE_MS ? oneMinuteBars(table, minute) : resampleTable(table, minute, tf, tfMs, featureSet);
      return { ...bars, channels: this.channels.map((c) => bars.bars.channel(c)) };
    });
  }

  /** The complete bars of a timeframe of the view (for inspection and time features). */
  bars(tf: string): TimeframeBars {
    return this.lane(tf).bars;
  }

  /** Index (into `bars(tf)`) of the latest complete bar of tf as of the row, −1 before any. */
  latestBar(tf: string, row: number): number {
    checkIndex(this.table, row, -1);
    return this.lane(tf).latest[row]!;
  }

  isValid(row: number): boolean {
    const sym = this.table.symbolCodes[row]!;
    for (const lane of this.lanes) if (lane.latest[row]! - lane.symbolFirst[sym]! + 1 < this.seqLen) return false;
    return true;
  }

  /** Rows (all, or those of `rows`) with seqLen complete bars of every timeframe, in order. */
  validRows(rows?: ArrayLike<number>): Int32Array {
    return filterRows(this.table, rows, (row) => this.isValid(row));
  }

  batch(indices: ArrayLike<number>, out?: ArrayFor<D>): MultiResolutionBatch<D> {
    const n = indices.length;
    const T = this.lanes.length;
    const L = this.seqLen;
    const C = this.channels.length;
    for (let i = 0; i < n; i++) {
      const row = indices[i]!;
      checkIndex(this.table, row, i);
      if (!this.isValid(row)) throw new Error(this.whyInvalid(row));
    }
    const data = output(this.dtype, n * T * L * C, out);
    for (let i = 0; i < n; i++) {
      const row = indices[i]!;
      for (let t = 0; t < T; t++) {
        const lane = this.lanes[t]!;
        const first = lane.latest[row]! - L + 1;
        const base = (i * T + t) * L * C;
        for (let c = 0; c < C; c++) {
          const src = lane.channels[c]!;
          for (let k = 0, o = base + c; k < L; k++, o += C) data[o] = src[first + k]!;
        }
      }
    }
    return { data, shape: [n, T, L, C] };
  }

  batches(indices: ArrayLike<number>, batchSize: number): Generator<RowBatch<D, [number, number, number, number]>> {
    return chunked(indices, batchSize, (rows) => this.batch(rows));
  }

  whyInvalid(row: number): string {
    const t = this.table;
    const sym = t.symbolCodes[row]!;
    for (let k = 0; k < this.lanes.length; k++) {
      const lane = this.lanes[k]!;
      const have = lane.latest[row]! - lane.symbolFirst[sym]! + 1;
      if (have < this.seqLen) {
        return `${t.path}: ${describeRow(t, row)} has no multi-resolution window: only ${have} complete ${this.timeframes[k]} bars of ${t.symbols[sym]} by then, the window needs ${this.seqLen}`;
      }
    }
    return `${t.path}: ${describeRow(t, row)} has a full window`;
  }

  private lane(tf: string): Lane {
    const k = this.timeframes.indexOf(tf);
    if (k < 0) throw new Error(`timeframe ${tf} is not one of the view's (${this.timeframes.join(', ')})`);
    return this.lanes[k]!;
  }
}

/** The table's 1-minute bar columns, which every timeframe is rebuilt from. */
function minuteBars(table: FeatureTable): Float64Array[] {
  const names = BAR_COLUMNS.map((f) => `${f}_1m`);
  const missing = names.filter((c) => !table.hasColumn(c));
  if (missing.length > 0) {
    throw new Error(
      `${table.path}: MultiResolutionView rebuilds bars from the 1-minute bar columns, and the table lacks ${missing.join(', ')}: use a feature set with timeframe 1m and bar fields open … volume (and load those columns)`,
    );
  }
  const cols = names.map((c) => table.column(c));
  for (let i = 0; i < table.n; i++) {
    for (let f = 0; f < cols.length; f++) {
      if (Number.isNaN(cols[f]![i]!)) throw new Error(`${table.path}: ${describeRow(table, i)} has no ${names[f]}, so its 1-minute bar cannot be rebuilt`);
    }
  }
  return cols;
}

/** For 1m the bars are the rows: shared columns, and pointers that are the row itself. */
function oneMinuteBars(table: FeatureTable, minute: Float64Array[]): Omit<Lane, 'channels'> {
  const n = table.n;
  const end = new Float64Array(n);
  const identity = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    end[i] = table.ts[i]! + MINUTE_MS;
    identity[i] = i;
  }
  let ones: Float64Array | null = null;
  const bars: TimeframeBars = {
    tf: '1m',
    length: n,
    ts: table.ts,
    end,
    completedAt: identity,
    symbolCodes: table.symbolCodes,
    channel(name) {
      if (name === 'bars') return (ones ??= new Float64Array(n).fill(1));
      return minute[BAR_COLUMNS.indexOf(name)]!;
    },
  };
  return { bars, latest: identity, symbolFirst: table.symbolStart.slice(0, table.symbols.length) };
}

/** A Float64Array that grows by doubling, for bars whose count is known only at the end. */
class Column {
  data = new Float64Array(1024);
  push(at: number, v: number): void {
    if (at === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[at] = v;
  }
}

/** Runs each symbol's 1-minute bars through a Resampler, recording every completed bar and when. */
function resampleTable(table: FeatureTable, minute: Float64Array[], tf: string, tfMs: number, featureSet: FeatureSet): Omit<Lane, 'channels'> {
  const [open, high, low, close, volume] = minute as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
  // ts, end, completedAt, symbol, then the channels in BAR_CHANNELS order.
  const cols = Array.from({ length: 4 + BAR_CHANNELS.length }, () => new Column());
  const latest = new Int32Array(table.n);
  const symbolFirst = new Int32Array(table.symbols.length);
  const clock = new BucketClock(tfMs, featureSet.anchor);
  const bar: BarLike = { ts: 0, open: 0, high: 0, low: 0, close: 0, volume: 0 };
  let count = 0;
  let row = 0;
  let sym = 0;
  const [cTs, cEnd, cRow, cSym, cOpen, cHigh, cLow, cClose, cVolume, cBars] = cols as [Column, Column, Column, Column, Column, Column, Column, Column, Column, Column];
  const record = (b: Readonly<OhlcvBar>) => {
    // The bucket's real end (short at a day or session boundary), for causality checks downstream.
    clock.locate(b.ts);
    cTs.push(count, b.ts);
    cEnd.push(count, clock.end);
    cRow.push(count, row);
    cSym.push(count, sym);
    cOpen.push(count, b.open);
    cHigh.push(count, b.high);
    cLow.push(count, b.low);
    cClose.push(count, b.close);
    cVolume.push(count, b.volume);
    cBars.push(count, b.bars);
    count++;
  };
  for (sym = 0; sym < table.symbols.length; sym++) {
    symbolFirst[sym] = count;
    // A fresh resampler per symbol, as the feature engine keeps one per symbol.
    const resampler = new Resampler(tfMs, featureSet.anchor, record);
    for (row = table.symbolStart[sym]!; row < table.symbolStart[sym + 1]!; row++) {
      bar.ts = table.ts[row]!;
      bar.open = open[row]!;
      bar.high = high[row]!;
      bar.low = low[row]!;
      bar.close = close[row]!;
      bar.volume = volume[row]!;
      resampler.update(bar);
      latest[row] = count - 1;
    }
  }
  const trimmed = cols.map((c) => c.data.slice(0, count));
  const channelArrays = trimmed.slice(4);
  const bars: TimeframeBars = {
    tf,
    length: count,
    ts: trimmed[0]!,
    end: trimmed[1]!,
    completedAt: Int32Array.from(trimmed[2]!),
    symbolCodes: Int32Array.from(trimmed[3]!),
    channel: (name) => channelArrays[BAR_CHANNELS.indexOf(name)]!,
  };
  return { bars, latest, symbolFirst };
}
