import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { parseAnchor } from '../../operators/anchor.js';
import { DEFAULT_FEATURE_SET_FILE, loadFeatureSet } from '../../operators/featureSet.js';
import { timeframeMinutes } from '../../operators/timeframe.js';
import type { OperatorJobResult } from '../../streams/operatorJobs.js';
// Loaded by the action, not at start: every barflow command would otherwise pay for its modules
// (the CLI's heap at start is what `validate` under a 32 MB heap has to spare; constantMemory test).
const operatorJobs = () => import('../../streams/operatorJobs.js');
import { formatReadSummary, summaryJson } from '../output.js';
import { type InputFlags, addInputOptions, jobOptions } from '../options.js';

const ANCHOR_HELP = 'bucket anchor: utc-day (buckets restart at 00:00 UTC), epoch, or session:<IANA zone>@HH:MM (e.g. session:America/New_York@18:00 for CME Globex; follows DST)';

function anchorArg(text: string): string {
  try {
    parseAnchor(text);
    return text;
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function tfArg(text: string): string {
  try {
    timeframeMinutes(text);
    return text;
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** The summary goes to stdout, unless the data itself does. */
function report(action: string, destination: string, out: string, flags: InputFlags, result: OperatorJobResult): void {
  const print = out === '-' ? console.error : console.log;
  const { summary, seconds, rejectTarget, written } = result;
  print(
    flags.json
      ? summaryJson(summary, { destination, written, rejectTarget, seconds })
      : `${formatReadSummary(summary, { action, destination, rejectTarget, seconds })}\n  written     ${written}`,
  );
}

export function registerOperatorCommands(program: Command): void {
  const rs = program
    .command('resample')
    .description('build the complete bars of one timeframe from 1-minute bars: CSV ts,open,high,low,close,volume,bars (ts = bucket open)')
    .requiredOption('--tf <timeframe>', 'timeframe: 5m, 10m, 15m, 20m, 25m, 30m, 45m, 1h (any <n>m or <n>h up to 24h)', tfArg)
    .option('--anchor <anchor>', ANCHOR_HELP, anchorArg, 'utc-day')
    .requiredOption('-o, --out <file>', 'output CSV file, or - for stdout');
  addInputOptions(rs);
  rs.action(async (flags: InputFlags & { tf: string; anchor: string; out: string }) => {
    const { options, progress } = jobOptions(flags, 'resample');
    try {
      const { resampleFile } = await operatorJobs();
      const result = await resampleFile(flags.input, { ...options, tf: flags.tf, anchor: flags.anchor, out: flags.out });
      progress.stop();
      report('resample', `${flags.tf} bars (${flags.anchor}) in ${flags.out}`, flags.out, flags, result);
    } finally {
      progress.stop();
    }
  });

  const fe = program
    .command('features')
    .description('compute one feature row per valid 1-minute bar (causal: a row is available at ts + 1 minute), as CSV or Arrow')
    .option('--features <file>', `feature-set file [default: ${DEFAULT_FEATURE_SET_FILE.replace(process.cwd() + '/', '')}]`)
    .requiredOption('-o, --out <file>', 'output: .csv (ts,symbol,<columns…>; missing = empty) or .arrow (Arrow IPC file), or - for CSV on stdout')
    .addHelpText(
      'after',
      '\nEach row holds, for every timeframe of the feature set, the latest COMPLETE bar of that timeframe and the\nfeatures computed on complete bars only (docs/features.md).',
    );
  addInputOptions(fe);
  fe.action(async (flags: InputFlags & { features?: string; out: string }) => {
    const featureSet = loadFeatureSet(flags.features);
    const { options, progress } = jobOptions(flags, 'features');
    try {
      const { computeFeatures } = await operatorJobs();
      const result = await computeFeatures(flags.input, { ...options, featureSet, out: flags.out });
      progress.stop();
      report('features', `${featureSet.columns.length} columns of ${featureSet.name} v${featureSet.version} (schema ${featureSet.schemaHash.slice(0, 12)}) in ${flags.out}`, flags.out, flags, result);
    } finally {
      progress.stop();
    }
  });
}
