import { existsSync, statSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { SYMBOL_PATTERN } from '../bars/bar.js';
import type { FileJobOptions } from '../streams/fileJobs.js';
import { LAYOUTS, type Layout } from '../streams/csv/layout.js';
import { parseBrokers, DEFAULT_BROKERS } from '../streams/kafka/kafkaClient.js';
import { DEFAULT_QUESTDB, parseQuestDbEndpoint, type QuestDbEndpoint } from '../streams/questdb/endpoint.js';
import { TimeZone } from '../time/timezone.js';
import { checkTableName } from '../topology/topology.js';
import { EPOCH_UNITS, type EpochUnit, parseIsoInstant } from '../time/timestamps.js';
import { FileProgress, progressWanted } from './progress.js';

export function positiveNumber(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a non-negative number');
  return n;
}

export function tableArg(text: string): string {
  try {
    return checkTableName(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function symbolArg(text: string): string {
  if (!SYMBOL_PATTERN.test(text)) throw new InvalidArgumentError('letters, digits and . _ - / : = ^ only');
  return text;
}

export function zoneArg(text: string): string {
  try {
    return TimeZone.of(text).name;
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** Options of every command that reads a bar file. */
export function addInputOptions(cmd: Command): Command {
  return cmd
    .requiredOption('-i, --input <file>', 'CSV file of 1-minute bars (see --layout)')
    .addOption(new Option('-s, --symbol <symbol>', 'symbol of the bars; required unless the file has a symbol column').argParser(symbolArg))
    .addOption(
      new Option(
        '--layout <layout>',
        'column layout: barflow = header ts,open,high,low,close,volume[,symbol]; firstrate = headerless FirstRateData (naive local times, needs --tz); binance = Binance kline CSV; auto = detect',
      )
        .choices(LAYOUTS as unknown as string[])
        .default('auto'),
    )
    .addOption(
      new Option('--tz <zone>', 'IANA zone of zone-less timestamps, converted DST-aware (FirstRateData: America/New_York)').argParser(zoneArg),
    )
    .addOption(
      new Option('--ts-unit <unit>', 'unit of epoch-integer timestamps; auto guesses from the digit count')
        .choices(['auto', ...EPOCH_UNITS])
        .default('auto'),
    )
    .option('--rejects <target>', 'where rejected rows go: a JSON Lines file, or kafka:<topic> (e.g. kafka:bars.dlq) [default: rejects/<file>.rejects.jsonl]')
    .option('--strict', 'stop at the first rejected row with its file, line and reason (exit code 1)', false)
    .option('-q, --quiet', 'no progress bar', false)
    .option('--json', 'print the summary as JSON', false);
}

export function addKafkaOption(cmd: Command, purpose = 'Kafka bootstrap servers, comma-separated'): Command {
  return cmd.addOption(new Option('--brokers <list>', purpose).env('BARFLOW_KAFKA_BROKERS').default(DEFAULT_BROKERS));
}

export function addQuestDbOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--questdb <config>', 'QuestDB client config string (ILP over HTTP)').env('BARFLOW_QUESTDB').default(DEFAULT_QUESTDB))
    .addOption(new Option('--questdb-pg <url>', 'QuestDB PG wire URL [default: same host, port 8812, admin/quest]').env('BARFLOW_QUESTDB_PG'));
}

export interface InputFlags {
  input: string;
  symbol?: string;
  layout: string;
  tz?: string;
  tsUnit: string;
  rejects?: string;
  strict: boolean;
  quiet: boolean;
  json: boolean;
  brokers?: string;
}

/** Turns parsed flags into job options, with a progress bar when a person is watching. */
export function jobOptions(flags: InputFlags, label: string): { options: FileJobOptions; progress: FileProgress } {
  if (!existsSync(flags.input)) throw new Error(`input file not found: ${flags.input}`);
  const progress = new FileProgress(label, statSync(flags.input).size, progressWanted(flags.quiet || flags.json));
  const options: FileJobOptions = {
    symbol: flags.symbol,
    layout: flags.layout as Layout,
    tz: flags.tz,
    tsUnit: flags.tsUnit as 'auto' | EpochUnit,
    strict: flags.strict,
    rejects: flags.rejects,
    brokers: flags.brokers ? parseBrokers(flags.brokers) : undefined,
    onBatch: (reader) => progress.update(reader.bytesRead, reader.rowsRead),
  };
  return { options, progress };
}

export function questDbFrom(flags: { questdb: string; questdbPg?: string }): QuestDbEndpoint {
  return parseQuestDbEndpoint(flags.questdb, flags.questdbPg);
}

/** Parses `--from/--to` (ISO-8601 with Z or an offset, or a date meaning 00:00 UTC) to epoch ms. */
export function instantArg(text: string): number {
  const ms = parseIsoInstant(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (ms === null) throw new InvalidArgumentError('use ISO-8601 with Z or an offset (2023-03-01T00:00:00Z) or a date (2023-03-01)');
  return ms;
}
