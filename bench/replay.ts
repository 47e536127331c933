/**
 * Replay end to end, as `barflow replay` runs it: CSV → features (the live operators) → dataset
 * files, beside the pure operator throughput measured in the same run.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replay } from '../dist/streams/replay/replay.js';
import { type CaseResult, section } from './harness.js';

export async function replayBench(file: string): Promise<CaseResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'barflow-bench-replay-'));
  // Two symbols (the same bars under two names) for the worker cases.
  const two = join(dir, 'two');
  mkdirSync(two);
  copyFileSync(file, join(two, 'AAA_1m.csv'));
  copyFileSync(file, join(two, 'BBB_1m.csv'));
  const run = (patterns: string[], formats: ('arrow' | 'parquet')[], workers: number, symbol?: string) => async () => {
    const s = await replay({ source: { kind: 'files', patterns, symbol }, out: join(dir, 'out'), formats, workers });
    return s.rows;
  };
  try {
    return await section('Replay end to end (CSV → default feature set → dataset file)', [
      { name: 'replay 1 symbol → Arrow (1 worker)', once: run([file], ['arrow'], 1, 'BENCH') },
      { name: 'replay 1 symbol → Parquet (1 worker)', once: run([file], ['parquet'], 1, 'BENCH') },
      { name: 'replay 2 symbols → Arrow (1 worker)', once: run([join(two, '*.csv')], ['arrow'], 1) },
      { name: 'replay 2 symbols → Arrow (2 workers)', once: run([join(two, '*.csv')], ['arrow'], 2) },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
