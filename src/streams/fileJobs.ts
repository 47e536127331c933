import { basename, join } from 'node:path';
import { loadTopology } from '../topology/topology.js';
import { ensureTable, ensureTopic } from '../topology/apply.js';
import { type BarSink, pumpBars } from './barPump.js';
import { CsvBarReader, type CsvReadOptions, type CsvReadSummary } from './csv/csvBarReader.js';
import { KafkaBarPublisher } from './kafka/barPublisher.js';
import { createKafka } from './kafka/kafkaClient.js';
import { KafkaRejectTopic } from './kafka/rejectTopic.js';
import { QuestDbBarWriter, BARS_TABLE } from './questdb/barWriter.js';
import type { QuestDbEndpoint } from './questdb/endpoint.js';
import { QuestDb } from './questdb/questDb.js';
import { RejectFile, type RejectSink } from './rejectSink.js';

export interface FileJobOptions extends CsvReadOptions {
  /** A file path, or `kafka:<topic>` for a dead-letter topic. Default: rejects/<file>.rejects.jsonl. */
  rejects?: string;
  /** Brokers, needed when rejects go to a topic. */
  brokers?: string[];
  /** Called after each batch, for progress bars. */
  onBatch?: (reader: CsvBarReader) => void;
}

export interface FileJobResult {
  summary: CsvReadSummary;
  seconds: number;
  destination: string;
  rejectTarget: string;
}

export function defaultRejectPath(file: string): string {
  return join('rejects', `${basename(file)}.rejects.jsonl`);
}

async function openRejectSink(file: string, opts: FileJobOptions): Promise<RejectSink> {
  const target = opts.rejects ?? defaultRejectPath(file);
  if (!target.startsWith('kafka:')) return new RejectFile(target);
  if (!opts.brokers) throw new Error('rejects to a Kafka topic need brokers (BARFLOW_KAFKA_BROKERS)');
  const topic = target.slice('kafka:'.length);
  const kafka = createKafka(opts.brokers, 'barflow-rejects');
  await ensureTopic(kafka, loadTopology(), topic, 'bars.dlq');
  return new KafkaRejectTopic(kafka, topic);
}

async function runJob(file: string, opts: FileJobOptions, destination: string, openSink: () => Promise<BarSink>): Promise<FileJobResult> {
  const reader = new CsvBarReader(file, opts);
  const rejects = await openRejectSink(file, opts);
  let sink: BarSink;
  try {
    sink = await openSink();
  } catch (err) {
    await rejects.close();
    throw err;
  }
  const started = performance.now();
  const summary = await pumpBars(reader, sink, rejects, opts.onBatch);
  return { summary, seconds: (performance.now() - started) / 1000, destination, rejectTarget: rejects.target };
}

/** Validates a file without writing bars anywhere (rejects are still written). */
export function validateFile(file: string, opts: FileJobOptions = {}): Promise<FileJobResult> {
  const discard: BarSink = { write: async () => undefined, close: async () => undefined };
  return runJob(file, opts, 'validation only', async () => discard);
}

export interface IngestOptions extends FileJobOptions {
  questdb: QuestDbEndpoint;
  table?: string;
  /** Wait until QuestDB has applied the written rows, so that reads right after see them. */
  waitForWal?: boolean;
}

/** CSV file → QuestDB table (bars_1m by default), creating the table from the topology if needed. */
export async function ingestFile(file: string, opts: IngestOptions): Promise<FileJobResult> {
  const table = opts.table ?? BARS_TABLE;
  const db = new QuestDb(opts.questdb);
  try {
    await ensureTable(db, loadTopology(), table);
    const result = await runJob(file, opts, `QuestDB ${table}`, () => QuestDbBarWriter.open(opts.questdb, table));
    if (opts.waitForWal !== false && !(await db.waitForWal(table))) {
      throw new Error(`QuestDB did not apply the rows written to ${table} within 60 s`);
    }
    return result;
  } finally {
    await db.close();
  }
}

export interface ProduceOptions extends FileJobOptions {
  brokers: string[];
  topic: string;
  /** Bars per second; unpaced when absent. */
  rate?: number;
}

/** CSV file → Kafka topic (key = symbol, JSON value), creating the topic from the topology if needed. */
export async function produceFile(file: string, opts: ProduceOptions): Promise<FileJobResult> {
  const kafka = createKafka(opts.brokers, 'barflow-produce');
  await ensureTopic(kafka, loadTopology(), opts.topic);
  return runJob(file, opts, `Kafka ${opts.topic}`, async () => {
    const publisher = new KafkaBarPublisher(kafka, opts.topic, { rate: opts.rate });
    await publisher.connect();
    return publisher;
  });
}
