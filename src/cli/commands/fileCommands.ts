import type { Command } from 'commander';
import { REJECT_REASONS, REJECT_REASON_CODES } from '../../bars/rejects.js';
import { type FileJobResult, ingestFile, produceFile, validateFile } from '../../streams/fileJobs.js';
import { BARS_TABLE } from '../../streams/questdb/barWriter.js';
import { parseBrokers } from '../../streams/kafka/kafkaClient.js';
import { formatReadSummary, summaryJson } from '../output.js';
import { type InputFlags, addInputOptions, addKafkaOption, addQuestDbOptions, jobOptions, positiveNumber, questDbFrom, tableArg } from '../options.js';
import type { FileProgress } from '../progress.js';

const REJECT_HELP = `
Every row is validated; a refused row is written to the reject output with its file, line, reason
code and raw text, counted, and the run continues (use --strict to stop instead). Reason codes
(docs/ingestion.md):
${REJECT_REASON_CODES.map((code) => `  ${code.padEnd(24)} ${REJECT_REASONS[code]}`).join('\n')}`;

async function report(action: string, progress: FileProgress, job: Promise<FileJobResult>, json: boolean): Promise<void> {
  let result: FileJobResult;
  try {
    result = await job;
  } finally {
    progress.stop();
  }
  const { summary, seconds, destination, rejectTarget } = result;
  console.log(
    json
      ? summaryJson(summary, { destination, rejectTarget, seconds })
      : formatReadSummary(summary, { action, destination, rejectTarget, seconds }),
  );
}

export function registerFileCommands(program: Command): void {
  const validate = program
    .command('validate')
    .description('read and validate a bar file without writing bars anywhere; rejects are written as usual')
    .addHelpText('after', REJECT_HELP);
  addInputOptions(validate);
  addKafkaOption(validate, 'Kafka bootstrap servers, for --rejects kafka:<topic>');
  validate.action(async (flags: InputFlags) => {
    const { options, progress } = jobOptions(flags, 'validate');
    await report('validate', progress, validateFile(flags.input, options), flags.json);
  });

  const ingest = program
    .command('ingest')
    .description('write a bar file into QuestDB (ILP over HTTP, original timestamps, so re-ingesting is harmless)')
    .option('--table <name>', 'QuestDB table; created from topology/tables.yaml (or like bars_1m) if missing', tableArg, BARS_TABLE)
    .addHelpText('after', REJECT_HELP);
  addInputOptions(ingest);
  addQuestDbOptions(ingest);
  addKafkaOption(ingest, 'Kafka bootstrap servers, for --rejects kafka:<topic>');
  ingest.action(async (flags: InputFlags & { table: string; questdb: string; questdbPg?: string }) => {
    const { options, progress } = jobOptions(flags, 'ingest');
    await report('ingest', progress, ingestFile(flags.input, { ...options, questdb: questDbFrom(flags), table: flags.table }), flags.json);
  });

  const produce = program
    .command('produce')
    .description('publish a bar file to a Kafka topic (key = symbol, JSON value, docs/messages.md)')
    .option('-t, --topic <topic>', 'topic; created from topology/topics.yaml (or like bars.1m) if missing', 'bars.1m')
    .option('--rate <barsPerSecond>', 'pace the replay at this many bars per second [default: as fast as possible]', positiveNumber)
    .addHelpText('after', REJECT_HELP);
  addInputOptions(produce);
  addKafkaOption(produce);
  produce.action(async (flags: InputFlags & { topic: string; rate?: number; brokers: string }) => {
    const { options, progress } = jobOptions(flags, 'produce');
    const job = produceFile(flags.input, { ...options, brokers: parseBrokers(flags.brokers), topic: flags.topic, rate: flags.rate });
    await report('produce', progress, job, flags.json);
  });
}
