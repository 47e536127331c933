/**
 * Replay end to end, as `barflow replay` runs it: CSV → features (the live operators) → dataset
 * files, beside the pure operator throughput measured in the same run.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Float64, Table, TimestampMillisecond, tableToIPC, vectorFromArray } from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import type { Bar } from '../dist/bars/bar.js';
import { CsvBarReader } from '../dist/streams/csv/csvBarReader.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replay } from '../dist/streams/replay/replay.js';
import { type CaseResult, section } from './harness.js';

export async function replayBench(file: string): Promise<CaseResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'barflow-bench-replay-'));
  // Six symbols (the same bars under six names) for the worker cases: enough units that each
  // worker thread is warm for most of its work, as in a real multi-symbol replay.
  const many = join(dir, 'many');
  mkdirSync(many);
  for (const s of ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF']) copyFileSync(file, join(many, `${s}_1m.csv`));
  // The same bars as a Parquet file (ts as timestamp[ms, UTC], float64 values): no text to parse.
  const bars: Bar[] = [];
  for await (const batch of new CsvBarReader(file, { symbol: 'BENCH' })) bars.push(...batch.bars);
  const table = new Table({
    ts: vectorFromArray(bars.map((b) => b.ts), new TimestampMillisecond('UTC')),
    ...Object.fromEntries((['open', 'high', 'low', 'close', 'volume'] as const).map((f) => [f, vectorFromArray(bars.map((b) => b[f]), new Float64())])),
  });
  const barsParquet = join(dir, 'BENCH_1m.parquet');
  writeFileSync(barsParquet, parquet.writeParquet(parquet.Table.fromIPCStream(tableToIPC(table, 'stream'))));
  const run = (patterns: string[], formats: ('arrow' | 'parquet')[], workers: number, symbol?: string) => async () => {
    const s = await replay({ source: { kind: 'files', patterns, symbol }, out: join(dir, 'out'), formats, workers });
    return s.rows;
  };
  try {
    return await section('Replay end to end (CSV → default feature set → dataset file)', [
      { name: 'replay 1 symbol → Arrow (1 worker)', once: run([file], ['arrow'], 1, 'BENCH') },
      { name: 'replay 1 symbol → Parquet (1 worker)', once: run([file], ['parquet'], 1, 'BENCH') },
      { name: 'replay 1 symbol from Parquet bars → Arrow (1 worker)', once: run([barsParquet], ['arrow'], 1) },
      { name: 'replay 6 symbols → Arrow (1 worker)', once: run([join(many, '*.csv')], ['arrow'], 1) },
      { name: 'replay 6 symbols → Arrow (2 workers)', once: run([join(many, '*.csv')], ['arrow'], 2) },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
