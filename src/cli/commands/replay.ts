import { availableParallelism } from 'node:os';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_FEATURE_SET_FILE } from '../../operators/featureSet.js';
import { LAYOUTS, type Layout } from '../../streams/csv/layout.js';
import { BARS_TABLE } from '../../streams/questdb/barWriter.js';
import type { DatasetFormat, ReplayProgress, ReplaySummary } from '../../streams/replay/replay.js';
import type { ReplaySource } from '../../streams/replay/replayPlan.js';
import { EPOCH_UNITS } from '../../time/timestamps.js';
import { addQuestDbOptions, instantArg, questDbFrom, symbolArg, tableArg, zoneArg } from '../options.js';
import { FileProgress, progressWanted } from '../progress.js';

interface ReplayFlags {
  input?: string[];
  symbol?: string;
  layout: string;
  tz?: string;
  tsUnit: string;
  fromQuestdb: boolean;
  sourceTable: string;
  symbols?: string[];
  from?: number;
  to?: number;
  features?: string;
  out?: string;
  format: DatasetFormat[];
  toQuestdb?: string | true;
  workers: number;
  strict: boolean;
  quiet: boolean;
  json: boolean;
  questdb: string;
  questdbPg?: string;
}

function formatsArg(text: string): DatasetFormat[] {
  const parts = [...new Set(text.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean))];
  for (const p of parts) if (p !== 'arrow' && p !== 'parquet') throw new InvalidArgumentError(`unknown format ${p}: use arrow, parquet or arrow,parquet`);
  if (parts.length === 0) throw new InvalidArgumentError('give at least one format: arrow, parquet');
  return parts as DatasetFormat[];
}

function workersArg(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new InvalidArgumentError('a whole number from 1 to 256');
  return n;
}

function symbolsArg(text: string): string[] {
  return text.split(',').map((s) => symbolArg(s.trim()));
}

/** One progress bar per phase: bytes of input while computing features, rows while writing. */
class ReplayProgressView {
  private bar: FileProgress | null = null;
  private phase: ReplayProgress['phase'] | null = null;

  constructor(private readonly enabled: boolean) {}

  update(p: ReplayProgress): void {
    if (!this.enabled) return;
    if (p.phase !== this.phase) {
      this.bar?.stop();
      this.phase = p.phase;
      const label = p.phase === 'features' ? 'replay   ' : `write ${p.phase.padEnd(8)}`;
      this.bar = new FileProgress(label, p.phase === 'features' ? p.totalBytes : p.totalRows, true);
    }
    this.bar!.update(p.phase === 'features' ? p.bytes : p.rows, p.rows);
  }

  stop(): void {
    this.bar?.stop();
  }
}

function formatSummary(s: ReplaySummary): string {
  const lines = [`replay → ${s.rows} rows of ${s.symbols.length} symbol(s), ${s.inputs.length} input(s), ${s.workers} worker(s)`];
  for (const sym of s.symbols) lines.push(`  ${sym.symbol.padEnd(12)} ${String(sym.rows).padStart(9)}  ${sym.from} → ${sym.to}`);
  lines.push(`  rejects      ${s.rejects.total}${s.rejects.file ? `  → ${s.rejects.file}` : ''}`);
  for (const [reason, n] of Object.entries(s.rejects.byReason)) lines.push(`    ${reason.padEnd(24)} ${n}`);
  for (const [kind, path] of Object.entries(s.files)) lines.push(`  ${kind.padEnd(12)} ${path}`);
  if (s.questdb) {
    const q = s.questdb;
    lines.push(`  questdb      ${q.table}: ${q.sent} rows sent, ${q.skipped} already stored${q.resent.length ? `, sent again whole: ${q.resent.join(' ')}` : ''} (${q.rowsPerSecond} rows/s)`);
  }
  lines.push(`  fingerprint  ${s.fingerprint}`);
  const rate = (rows: number, seconds: number) => (seconds > 0 ? Math.round(rows / seconds) : rows);
  lines.push(
    `  time         ${s.seconds.total.toFixed(2)} s: features ${s.seconds.features.toFixed(2)} s (${rate(s.rows, s.seconds.features)} rows/s), files ${s.seconds.files.toFixed(2)} s, questdb ${s.seconds.questdb.toFixed(2)} s; overall ${rate(s.rows, s.seconds.total)} rows/s`,
  );
  return lines.join('\n');
}

export function registerReplay(program: Command): void {
  const cmd = program
    .command('replay')
    .description('replay history through the live operators into a dataset folder (Arrow/Parquet + manifest) and/or QuestDB')
    .option('-i, --input <files...>', 'bar files or globs (CSV, .arrow, .parquet); quote globs: "data/*.csv"')
    .addOption(new Option('-s, --symbol <symbol>', 'symbol of every input file (default: a symbol column, else the file name up to its first _)').argParser(symbolArg))
    .addOption(new Option('--layout <layout>', 'CSV column layout (see barflow validate --help)').choices(LAYOUTS as unknown as string[]).default('auto'))
    .addOption(new Option('--tz <zone>', 'IANA zone of zone-less CSV timestamps (FirstRateData: America/New_York)').argParser(zoneArg))
    .addOption(new Option('--ts-unit <unit>', 'unit of epoch-integer timestamps').choices(['auto', ...EPOCH_UNITS]).default('auto'))
    .option('--from-questdb', 'read the bars from QuestDB instead of files (with --symbols, --from, --to)', false)
    .option('--source-table <name>', 'QuestDB table of bars to read', tableArg, BARS_TABLE)
    .option('--symbols <list>', 'symbols to read from QuestDB, comma-separated', symbolsArg)
    .option('--from <time>', 'first bar open time read from QuestDB, inclusive (ISO-8601 or a date)', instantArg)
    .option('--to <time>', 'end of the QuestDB range, exclusive', instantArg)
    .option('--features <file>', `feature-set file [default: ${DEFAULT_FEATURE_SET_FILE.replace(process.cwd() + '/', '')}]`)
    .option('-o, --out <dir>', 'dataset folder: features.arrow / features.parquet, manifest.json, rejects.jsonl')
    .addOption(new Option('--format <list>', 'dataset file formats: arrow, parquet or arrow,parquet').argParser(formatsArg).default(['arrow', 'parquet'], 'arrow,parquet'))
    .option('--to-questdb [table]', 'also write the rows to this QuestDB table [features]; re-running resumes from what is stored')
    .addOption(new Option('-w, --workers <n>', 'worker threads; the output is identical for any number').argParser(workersArg).default(availableParallelism(), "the machine's cores"))
    .option('--strict', 'stop at the first rejected row with its file, line and reason (exit code 1)', false)
    .option('-q, --quiet', 'no progress bar', false)
    .option('--json', 'print the summary as JSON', false)
    .addHelpText(
      'after',
      [
        '',
        'Rows are ordered by symbol, then ts; a row is available at ts + 1 minute (docs/replay.md).',
        'Examples:',
        '  barflow replay -i "data/*.csv" -o datasets/btc',
        '  barflow replay -i data/ES_1m.csv -s ES --format parquet -o datasets/es --to-questdb',
        '  barflow replay --from-questdb --symbols BTCUSDT,ETHUSDT --from 2023-03-01 --to 2023-04-01 -o datasets/q',
      ].join('\n'),
    );
  addQuestDbOptions(cmd);
  cmd.action(async (flags: ReplayFlags) => {
    let source: ReplaySource;
    if (flags.fromQuestdb) {
      if (flags.input) throw new Error('give either --input files or --from-questdb, not both');
      if (!flags.symbols) throw new Error('--from-questdb needs --symbols A,B,…');
      source = { kind: 'questdb', table: flags.sourceTable, symbols: flags.symbols, from: flags.from, to: flags.to };
    } else {
      if (!flags.input || flags.input.length === 0) throw new Error('give --input files or globs, or --from-questdb');
      source = { kind: 'files', patterns: flags.input, symbol: flags.symbol };
    }
    const needsQuestDb = flags.fromQuestdb || flags.toQuestdb !== undefined;
    const progress = new ReplayProgressView(progressWanted(flags.quiet || flags.json));
    try {
      // Loaded here: see operatorCommands.ts.
      const { replay } = await import('../../streams/replay/replay.js');
      const summary = await replay({
        source,
        read: { layout: flags.layout as Layout, tz: flags.tz, tsUnit: flags.tsUnit as 'auto', strict: flags.strict },
        featureSetFile: flags.features,
        out: flags.out,
        formats: flags.format,
        questdb: needsQuestDb ? questDbFrom(flags) : undefined,
        toQuestDb: flags.toQuestdb === undefined ? undefined : flags.toQuestdb === true ? 'features' : tableArg(flags.toQuestdb),
        workers: flags.workers,
        command: ['barflow', ...process.argv.slice(2)],
        onProgress: (p) => progress.update(p),
      });
      progress.stop();
      console.log(flags.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
    } finally {
      progress.stop();
    }
  });
}
