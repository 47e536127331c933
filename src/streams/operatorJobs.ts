import { extname } from 'node:path';
import { Subject } from 'rxjs';
import { formatTs } from '../bars/bar.js';
import { formatNumber } from '../bars/numbers.js';
import type { FeatureSet } from '../operators/featureSet.js';
import { type BarEvent, type TimeframeBar, featureRows, resample } from '../operators/rx.js';
import { FeatureArrowWriter } from './arrow/featureArrowWriter.js';
import { CsvBarReader, type CsvReadSummary } from './csv/csvBarReader.js';
import { FeatureCsvWriter } from './csv/featureCsvWriter.js';
import type { FeatureSink } from './featureSink.js';
import { type FileJobOptions, openRejectSink } from './fileJobs.js';
import { TextFile } from './textFile.js';

export interface OperatorJobResult {
  summary: CsvReadSummary;
  /** Rows (feature rows, or complete bars) written. */
  written: number;
  seconds: number;
  rejectTarget: string;
}

/**
 * Runs a bar file through an RxJS pipeline, batch by batch: the batch's rejects are written, its
 * bars pushed through the operators (synchronously), then the output is flushed, so memory stays
 * bounded and the output file gets back-pressure.
 */
async function pipeFile<Out>(
  file: string,
  opts: FileJobOptions,
  operator: (input: Subject<BarEvent>) => { subscribe(next: (out: Out) => void, error: (err: unknown) => void): unknown },
  sink: { add(out: Out): void; flush(): Promise<void>; close(): Promise<void>; readonly rows: number },
): Promise<OperatorJobResult> {
  const reader = new CsvBarReader(file, opts);
  const rejects = await openRejectSink(file, opts);
  const input = new Subject<BarEvent>();
  let failure: unknown = null;
  operator(input).subscribe(
    (out) => sink.add(out),
    (err) => (failure = err),
  );
  const started = performance.now();
  try {
    for await (const batch of reader) {
      if (batch.rejects.length > 0) await rejects.write(batch.rejects);
      for (const bar of batch.bars) input.next(bar);
      if (failure !== null) throw failure;
      await sink.flush();
      opts.onBatch?.(reader);
    }
    input.complete();
  } finally {
    await Promise.allSettled([sink.close(), rejects.close()]);
  }
  return { summary: reader.summary(), written: sink.rows, seconds: (performance.now() - started) / 1000, rejectTarget: rejects.target };
}

/** Opens the feature output a path names: `.arrow` (Arrow IPC file), otherwise CSV (`-` = stdout). */
export function openFeatureSink(path: string, featureSet: FeatureSet): FeatureSink {
  const ext = extname(path).toLowerCase();
  if (ext === '.arrow' || ext === '.feather' || ext === '.ipc') return new FeatureArrowWriter(path, featureSet);
  if (ext === '.csv' || path === '-') return new FeatureCsvWriter(path, featureSet);
  throw new Error(`cannot tell the output format of ${path}: use a .csv or .arrow file (or - for CSV on stdout)`);
}

/** A bar file → its feature rows (one per valid 1-minute bar) through the `featureRows` operator. */
export function computeFeatures(file: string, opts: FileJobOptions & { featureSet: FeatureSet; out: string }): Promise<OperatorJobResult> {
  const sink = openFeatureSink(opts.out, opts.featureSet);
  return pipeFile(file, opts, (input) => input.pipe(featureRows(opts.featureSet, { reuse: true })), sink);
}

/** Complete bars as CSV `ts,open,high,low,close,volume,bars`, ts = the bucket's open time. */
class ResampledCsvWriter {
  private readonly out: TextFile;
  private chunk = 'ts,open,high,low,close,volume,bars\n';
  private symbol: string | null = null;
  rows = 0;

  constructor(path: string) {
    this.out = new TextFile(path);
  }

  add(bar: TimeframeBar): void {
    if (this.symbol !== null && bar.symbol !== this.symbol) {
      throw new Error(`the file holds several symbols (${this.symbol}, ${bar.symbol}); resample writes one: split the file by symbol first`);
    }
    this.symbol = bar.symbol;
    this.chunk += `${formatTs(bar.ts)},${formatNumber(bar.open)},${formatNumber(bar.high)},${formatNumber(bar.low)},${formatNumber(bar.close)},${formatNumber(bar.volume)},${bar.bars}\n`;
    this.rows++;
  }

  async flush(): Promise<void> {
    const text = this.chunk;
    this.chunk = '';
    if (text !== '') await this.out.write(text);
  }

  async close(): Promise<void> {
    await this.flush();
    await this.out.close();
  }
}

/** A bar file → the complete bars of one timeframe through the `resample` operator. */
export function resampleFile(file: string, opts: FileJobOptions & { tf: string; anchor: string; out: string }): Promise<OperatorJobResult> {
  const sink = new ResampledCsvWriter(opts.out);
  // The output has no symbol column, so a file without one needs no --symbol.
  return pipeFile(file, { ...opts, defaultSymbol: 'BARS' }, (input) => input.pipe(resample(opts.tf, opts.anchor)), sink);
}
