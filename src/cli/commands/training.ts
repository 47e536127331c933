import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { formatTs } from '../../bars/bar.js';
import type { BacktestResult, BacktestSeries, MetricSummary } from '../../training/backtest/backtestTypes.js';
import { DEFAULT_TOPOLOGY_DIR } from '../../paths.js';
import { parseEmbargo } from '../../training/splits/rowSpans.js';
import type { SplitMethod } from '../../training/splits/splitMethods.js';

// The implementations load when their command runs, so that every other command starts small.
const labelsModule = async () => ({ ...(await import('../../training/labels/labelConfig.js')), ...(await import('../../training/labels/labelSet.js')), ...(await import('../../training/labels/tripleBarrier.js')) });
const splitsModule = () => import('../../training/splits/index.js');
const datasetModule = () => import('../../training/dataset.js');
const backtestConfigModule = () => import('../../training/backtest/backtestConfig.js');
import { positiveNumber } from '../options.js';

function intArg(min: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`a whole number ≥ ${min}`);
    return n;
  };
}

function fractionsArg(text: string): [number, number, number] {
  const parts = text.split(/[/,]/).map(Number);
  if (parts.length !== 3 || parts.some((p) => !(p >= 0))) throw new InvalidArgumentError('three numbers, e.g. 60/20/20 or 0.6,0.2,0.2');
  const sum = parts[0]! + parts[1]! + parts[2]!;
  return parts.map((p) => p / sum) as [number, number, number];
}

function embargoArg(text: string) {
  try {
    return parseEmbargo(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function registerTraining(program: Command): void {
  program
    .command('label')
    .description('compute labels (triple barrier, forward returns, meta-labels) from the bars after each dataset row; written to labels/<name>.arrow beside the features and listed in manifest.json')
    .requiredOption('-d, --dataset <dir>', 'dataset folder written by barflow replay')
    .option('-c, --config <file>', 'label config (YAML; docs/validation.md lists every field)', join(DEFAULT_TOPOLOGY_DIR, 'labels.yaml'))
    .option('--shuffle <seed>', 'a permutation null: each target\'s values moved to other rows by a seeded permutation (label spans stay with their rows); for leak canaries and skill tests', intArg(0))
    .option('--name <name>', 'the label set\'s name [the config\'s]')
    .option('--json', 'print the summary as JSON', false)
    .action(async (flags: { dataset: string; config: string; json: boolean; shuffle?: number; name?: string }) => {
      const { readLabelConfig, writeLabels, BARRIER_STATUS } = await labelsModule();
      const started = performance.now();
      const read = readLabelConfig(flags.config);
      const config = flags.name === undefined ? read : { ...read, name: flags.name };
      const result = writeLabels(flags.dataset, config, readFileSync(flags.config, 'utf8'), process.argv.slice(1), flags.shuffle === undefined ? {} : { shuffleSeed: flags.shuffle });
      if (flags.json) {
        console.log(JSON.stringify(result.entry));
        return;
      }
      console.log(`labels ${result.name} → ${flags.dataset}/${result.file} (${result.entry.rows} rows, ${((performance.now() - started) / 1000).toFixed(2)} s)`);
      console.log(`  ${'target'.padEnd(16)} ${'known'.padStart(8)} ${'missing'.padStart(8)} ${'+'.padStart(8)} ${'−'.padStart(8)} ${'0'.padStart(8)}`);
      for (const t of result.entry.targets) console.log(`  ${t.name.padEnd(16)} ${String(t.known).padStart(8)} ${String(t.missing).padStart(8)} ${String(t.up).padStart(8)} ${String(t.down).padStart(8)} ${String(t.zero).padStart(8)}`);
      for (const [name, codes] of result.statuses) {
        const counts = new Map<number, number>();
        for (const c of codes) counts.set(c, (counts.get(c) ?? 0) + 1);
        console.log(`  ${name}: ${[...counts.entries()].sort((a, b) => a[0] - b[0]).map(([c, n]) => `${BARRIER_STATUS[c]} ${n}`).join(', ')}`);
      }
    });

  program
    .command('splits')
    .description('leakage-safe train/test splits of a labelled dataset: purged by each row\'s label span [ts, t1], with an embargo; writes folds.json')
    .requiredOption('-d, --dataset <dir>', 'dataset folder with labels (barflow label)')
    .addOption(new Option('-m, --method <method>', 'split method').choices(['chronological', 'purged-kfold', 'walk-forward', 'cpcv']).default('purged-kfold'))
    .option('--label <targets>', 'target(s) whose label end t1 gives each row\'s span, e.g. tb or tb,fwd_60 (the latest t1 of several; a row needs all) [the first target]')
    .option('--label-set <name>', 'label set [the only one]')
    .option('--fractions <a/b/c>', 'chronological: train/validation/test', fractionsArg, [0.6, 0.2, 0.2])
    .option('-k, --folds <k>', 'purged-kfold: folds; walk-forward: test blocks', intArg(1), 5)
    .addOption(new Option('--mode <mode>', 'walk-forward: training window').choices(['expanding', 'rolling']).default('expanding'))
    .option('--window <bars>', 'walk-forward rolling: training window in bars [the first block\'s length]', intArg(1))
    .option('--groups <N>', 'cpcv: time groups', intArg(2), 6)
    .option('--test-groups <k>', 'cpcv: groups tested per split', intArg(1), 2)
    .option('--embargo <bars|duration>', 'embargo: bars (60) or a duration (90m, 2h, 1d)', embargoArg, { bars: 0 })
    .requiredOption('-o, --out <file>', 'folds file to write (JSON)')
    .option('--json', 'print the summary as JSON', false)
    .action(async (flags: { dataset: string; method: string; label?: string; labelSet?: string; fractions: [number, number, number]; folds: number; mode: 'expanding' | 'rolling'; window?: number; groups: number; testGroups: number; embargo: ReturnType<typeof parseEmbargo>; out: string; json: boolean }) => {
      const { openDataset } = await datasetModule();
      const { openLabels } = await labelsModule();
      const { foldsDocument, makeSplits, writeFoldsFile } = await splitsModule();
      const dataset = openDataset(flags.dataset, { columns: [] });
      const labels = openLabels(dataset, flags.labelSet);
      const targets = (flags.label ?? labels.targets[0]!).split(',').map((t) => t.trim()).filter(Boolean);
      const target = targets.join(',');
      const spans = { ts: dataset.table.ts, t1: latestT1(targets.map((t) => labels.t1Of(t))) };
      if (flags.label === undefined && labels.targets.length > 1) {
        console.error(`splits: rows span [ts, ${target}_t1] (the first target); a model of another target (${labels.targets.slice(1).join(', ')}) needs --label with it, or with several to purge by the latest label end`);
      }
      const method: SplitMethod =
        flags.method === 'chronological'
          ? { method: 'chronological', train: flags.fractions[0], validation: flags.fractions[1], test: flags.fractions[2], embargo: flags.embargo }
          : flags.method === 'walk-forward'
            ? { method: 'walk_forward', folds: flags.folds, mode: flags.mode, window: flags.window, embargo: flags.embargo }
            : flags.method === 'cpcv'
              ? { method: 'cpcv', groups: flags.groups, testGroups: flags.testGroups, embargo: flags.embargo }
              : { method: 'purged_kfold', k: flags.folds, embargo: flags.embargo };
      const plan = makeSplits(spans, method);
      const doc = foldsDocument(plan, spans, { dir: flags.dataset, fingerprint: dataset.manifest.fingerprint, labelSet: labels.name, target, labelSha256: labels.entry.sha256 });
      writeFoldsFile(flags.out, doc);
      if (flags.json) {
        console.log(JSON.stringify({ ...doc, spans: undefined, folds: doc.folds.map((f) => ({ fold: f.fold, counts: f.counts, testGroups: f.testGroups })) }));
        return;
      }
      console.log(`${plan.method} on ${target} (label set ${labels.name}) → ${flags.out}`);
      console.log(`  labelled rows ${plan.eligible}, unlabelled (in no fold) ${plan.unlabeled}`);
      for (const f of doc.folds) {
        const blocks = f.testBlocks.map((b) => `${b.from} → ${b.to}`).join(', ');
        console.log(`  fold ${String(f.fold).padStart(3)}  train ${String(f.counts.train).padStart(8)}${f.counts.validation === undefined ? '' : `  validation ${String(f.counts.validation).padStart(7)}`}  test ${String(f.counts.test).padStart(7)}  purged ${String(f.counts.purged).padStart(6)}  embargoed ${String(f.counts.embargoed).padStart(6)}  test ${blocks}`);
      }
      if (doc.paths !== undefined) console.log(`  ${doc.folds.length} splits, ${doc.paths.length} backtest paths`);
    });

  program
    .command('backtest')
    .description('trade out-of-sample predictions with costs, slippage, position limits and a fill delay; metrics overall and per fold or CPCV path, and a self-contained HTML report')
    .requiredOption('-p, --predictions <file>', 'predictions (CSV or Arrow): ts, symbol, the signal column, and fold when made per fold')
    .requiredOption('-d, --dataset <dir>', 'dataset folder the predictions are for (its close prices are traded)')
    .option('-c, --config <file>', 'backtest config (YAML; docs/validation.md lists every field)', join(DEFAULT_TOPOLOGY_DIR, 'backtest.yaml'))
    .option('-f, --folds <file>', 'folds.json of barflow splits: metrics per fold, or per path for cpcv')
    .option('-o, --out <file>', 'HTML report to write', 'backtest-report.html')
    .option('--periods-per-year <n>', 'annualisation [estimated from the time line]', positiveNumber)
    .option('--json', 'print the metrics as JSON', false)
    .action(async (flags: { predictions: string; dataset: string; config: string; folds?: string; out: string; periodsPerYear?: number; json: boolean }) => {
      const { readBacktestConfig } = await backtestConfigModule();
      const config = readBacktestConfig(flags.config);
      if (flags.periodsPerYear !== undefined) config.periodsPerYear = flags.periodsPerYear;
      // Loaded here: the metrics' statistics library is not needed by the other commands.
      const { runBacktest } = await import('../../training/backtest/runBacktest.js');
      const { renderBacktestReport } = await import('../../training/backtest/report/htmlReport.js');
      const result = runBacktest({ dataset: flags.dataset, predictions: flags.predictions, config, folds: flags.folds, command: process.argv.slice(1) });
      writeFileSync(flags.out, renderBacktestReport(result));
      if (flags.json) {
        console.log(JSON.stringify({ overall: result.overall.metrics, groups: result.groups && { kind: result.groups.kind, series: result.groups.series.map((s) => ({ name: s.name, metrics: s.metrics })), summary: result.groups.summary }, bySymbol: result.bySymbol.map((s) => ({ name: s.name, periodsPerYear: s.periodsPerYear, metrics: s.metrics })), periodsPerYear: result.periodsPerYear, barMs: result.barMs, provenance: result.provenance, report: flags.out }));
        return;
      }
      console.log(printBacktest(result));
      console.log(`report → ${flags.out}`);
    });
}

const W = 14;
const SHOWN = ['totalReturn', 'annualReturn', 'sharpe', 'sortino', 'calmar', 'maxDrawdown', 'winRate', 'profitFactor', 'turnover', 'exposure'] as const;

function fmt(metric: string, v: number): string {
  if (Number.isNaN(v)) return '–';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (['totalReturn', 'annualReturn', 'maxDrawdown', 'winRate', 'exposure', 'annualVolatility', 'costs'].includes(metric)) return `${(v * 100).toFixed(2)}%`;
  return v.toFixed(metric === 'turnover' ? 4 : 2);
}

function line(name: string, s: BacktestSeries): string {
  return `  ${name.padEnd(32)}${SHOWN.map((m) => fmt(m, s.metrics[m]).padStart(W)).join('')}${String(s.metrics.trades).padStart(8)}`;
}

function printBacktest(r: BacktestResult): string {
  const out: string[] = [];
  const o = r.overall;
  out.push(`backtest of ${r.symbols.join(', ')}: ${o.metrics.periods} periods, ${formatTs(o.ts[0] ?? 0)} → ${formatTs(o.ts[o.ts.length - 1] ?? 0)}, ${Math.round(r.periodsPerYear)} periods/year`);
  if (r.provenance.missingPredictions !== '0') out.push(`  note: ${r.provenance.missingPredictions} tested rows have no prediction and were held flat`);
  out.push(`  ${''.padEnd(32)}${SHOWN.map((m) => m.padStart(W)).join('')}${'trades'.padStart(8)}`);
  out.push(line(o.name, o));
  // Each symbol traded alone (its contribution to the line above is this over the number of symbols).
  if (r.bySymbol.length > 1) for (const s of r.bySymbol) out.push(line(`  ${s.name} (alone)`, s));
  if (r.groups !== null) {
    for (const s of r.groups.series) out.push(line(s.name, s));
    out.push(`  mean over ${r.groups.series.length} ${r.groups.kind}s, with a 95% t-interval of the mean:`);
    const by = new Map<string, MetricSummary>(r.groups.summary.map((s) => [s.metric, s]));
    for (const m of SHOWN) {
      const s = by.get(m)!;
      out.push(`    ${m.padEnd(14)} ${fmt(m, s.mean).padStart(10)}  [${fmt(m, s.lo)}, ${fmt(m, s.hi)}]`);
    }
  }
  return out.join('\n');
}

/** Per row the latest label end of several targets; NaN when any is missing (the row cannot train all). */
function latestT1(columns: Float64Array[]): Float64Array {
  if (columns.length === 1) return columns[0]!;
  const out = new Float64Array(columns[0]!.length);
  for (let i = 0; i < out.length; i++) {
    let v = Number.NEGATIVE_INFINITY;
    for (const c of columns) v = Number.isNaN(c[i]!) || Number.isNaN(v) ? Number.NaN : Math.max(v, c[i]!);
    out[i] = v;
  }
  return out;
}
