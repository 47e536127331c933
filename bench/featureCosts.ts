/**
 * `npm run bench:features`: what each feature of the default set costs per 1-minute bar, alone on
 * the 1m lane and across the default set's nine timeframes, over the same in-memory bars: the
 * ablation behind "where the time goes" in docs/benchmarks.md. Marginal costs do not add up
 * exactly to the whole (the lane shares logarithms; V8 inlines differently per set).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Bar } from '../dist/bars/bar.js';
import { FeatureEngine } from '../dist/operators/featureEngine.js';
import { DEFAULT_FEATURE_SET_FILE, type FeatureSetFile, resolveFeatureSet } from '../dist/operators/featureSet.js';
import { CsvBarReader } from '../dist/streams/csv/csvBarReader.js';
import { benchInput } from './input.js';

const PASSES = 9;

async function readAllBars(file: string): Promise<Bar[]> {
  const bars: Bar[] = [];
  for await (const batch of new CsvBarReader(file, { symbol: 'BENCH' })) for (const b of batch.bars) bars.push(b);
  return bars;
}

/**
 * Nanoseconds per bar of several feature sets, measured interleaved (one pass of each set per round,
 * so machine noise falls on all alike); each set's fastest pass after a warm-up round, the figure
 * least disturbed by the noise of a shared machine.
 */
function nsPerBar(files: FeatureSetFile[], passes: Bar[][]): number[] {
  const engines = files.map((f) => new FeatureEngine(resolveFeatureSet(f)));
  const best = files.map(() => Number.POSITIVE_INFINITY);
  passes.forEach((series, round) => {
    engines.forEach((engine, e) => {
      const started = process.hrtime.bigint();
      for (let i = 0; i < series.length; i++) engine.update(series[i]!);
      const ns = Number(process.hrtime.bigint() - started) / series.length;
      if (round > 0 && ns < best[e]!) best[e] = ns;
    });
  });
  return best;
}

const input = benchInput();
const bars = await readAllBars(input);
const span = bars[bars.length - 1]!.ts - bars[0]!.ts + 60_000;
const passes = Array.from({ length: PASSES }, (_, r) => bars.map((b) => ({ ...b, ts: b.ts + r * span })));
const defaults = parseYaml(readFileSync(DEFAULT_FEATURE_SET_FILE, 'utf8')) as FeatureSetFile;
// One entry per indicator: outputs of the same indicator (retmean/std/skew/kurt) share its state.
const seen = new Set<string>();
const features = defaults.features.filter((f) => {
  const key = JSON.stringify({ ...f, name: undefined, output: undefined });
  if (seen.has(key)) return false;
  seen.add(key);
  return true;
});

const base = (timeframes: string[]): FeatureSetFile => ({ ...defaults, name: 'ablation', timeframes, bar: [], features: [] });
const signed = (ns: number): string => `${ns >= 0 ? '+' : '−'}${Math.abs(ns).toFixed(0)}`;
const rows: string[][] = [];
for (const timeframes of [['1m'], defaults.timeframes]) {
  const sets = [base(timeframes), ...features.map((f) => ({ ...base(timeframes), features: [f] })), { ...defaults, timeframes }];
  const ns = nsPerBar(sets, passes);
  const empty = ns[0]!;
  ['(no columns)', ...features.map((f) => f.name), 'default set'].forEach((name, i) => {
    const cell = i === 0 || i === sets.length - 1 ? ns[i]!.toFixed(0) : signed(ns[i]! - empty);
    (rows[i] ??= [name]).push(cell);
  });
}
console.log(`input ${input}, ${bars.length} bars × ${PASSES} rounds, node ${process.version}`);
console.log(`${'feature'.padEnd(14)} ${'1m only, ns/bar'.padStart(16)} ${`${defaults.timeframes.length} timeframes, ns/bar`.padStart(24)}`);
for (const [name, one, all] of rows) console.log(`${name!.padEnd(14)} ${one!.padStart(16)} ${all!.padStart(24)}`);
console.log('Rows between the first and the last: what adding that one feature to the empty set costs.');
