import { basename, join } from 'node:path';
import type { Bar } from '../bars/bar.js';
import { ensureTable, ensureTopic } from '../topology/apply.js';
import { loadTopology } from '../topology/topology.js';
import { type BarSink, pumpBars } from './barPump.js';
import { CsvBarReader, type CsvReadOptions, type CsvReadSummary } from './csv/csvBarReader.js';
import { KafkaBarPublisher } from './kafka/barPublisher.js';
import { createKafka } from './kafka/kafkaClient.js';
import { KafkaRejectTopic } from './kafka/rejectTopic.js';
import { BARS_TABLE, QuestDbBarWriter } from './questdb/barWriter.js';
import type { QuestDbEndpoint } from './questdb/endpoint.js';
import { QuestDb } from './questdb/questDb.js';
import { RejectFile, type RejectSink } from './rejectSink.js';

export interface FileJobOptions extends CsvReadOptions {
  /** A file path, or `kafka:<topic>` for a dead-letter topic. Default: rejects/<file>.rejects.jsonl. */
  rejects?: string;
  /** Brokers: needed to publish bars, or rejects to a topic. */
  brokers?: string[];
  /** Called after each batch, for progress bars. */
  onBatch?: (reader: CsvBarReader) => void;
}

/** Where `loadFile` writes the bars: QuestDB, Kafka, both, or neither (validation only). */
export interface LoadTargets {
  questdb?: QuestDbEndpoint;
  /** QuestDB table [bars_1m]. */
  table?: string;
  /** Kafka topic to publish to (needs `brokers`). */
  topic?: string;
  /** Bars per second for a paced publish; unpaced when absent. */
  rate?: number;
  /** Wait until QuestDB has applied the rows, so that reads right after see them [true]. */
  waitForWal?: boolean;
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

export async function openRejectSink(file: string, opts: FileJobOptions): Promise<RejectSink> {
  const target = opts.rejects ?? defaultRejectPath(file);
  if (!target.startsWith('kafka:')) return new RejectFile(target);
  if (!opts.brokers) throw new Error('rejects to a Kafka topic need brokers (BARFLOW_KAFKA_BROKERS)');
  const topic = target.slice('kafka:'.length);
  const kafka = createKafka(opts.brokers, 'barflow-rejects');
  await ensureTopic(kafka, loadTopology(), topic, 'bars.dlq');
  return new KafkaRejectTopic(kafka, topic);
}

/** One sink that writes every batch to several, concurrently; closing closes them all. */
function fanOut(sinks: BarSink[]): BarSink {
  if (sinks.length === 1) return sinks[0]!;
  return {
    write: async (bars: readonly Bar[]) => {
      await Promise.all(sinks.map((s) => s.write(bars)));
    },
    close: async () => {
      const closed = await Promise.allSettled(sinks.map((s) => s.close()));
      for (const c of closed) if (c.status === 'rejected') throw c.reason;
    },
  };
}

const discard: BarSink = { write: async () => undefined, close: async () => undefined };

/**
 * Reads a bar file once and writes its valid bars to the targets asked for, its rejects to the
 * reject output. Tables and topics that are missing are created from the topology first. The
 * reader is opened before any connection, so a missing file fails without leaving one open.
 */
export async function loadFile(file: string, opts: FileJobOptions & LoadTargets): Promise<FileJobResult> {
  // A paced publish reads about one second of bars per batch, so progress moves every second.
  const readOptions = opts.rate && opts.batchSize === undefined ? { ...opts, batchSize: Math.max(1, Math.min(8192, Math.round(opts.rate))) } : opts;
  const reader = new CsvBarReader(file, readOptions);
  const table = opts.table ?? BARS_TABLE;
  const destinations: string[] = [];
  const sinks: BarSink[] = [];
  const db = opts.questdb ? new QuestDb(opts.questdb) : null;
  let rejects: RejectSink | null = null;
  try {
    rejects = await openRejectSink(file, opts);
    if (opts.questdb && db) {
      await ensureTable(db, loadTopology(), table);
      sinks.push(await QuestDbBarWriter.open(opts.questdb, table));
      destinations.push(`QuestDB ${table}`);
    }
    if (opts.topic !== undefined) {
      if (!opts.brokers) throw new Error('publishing to Kafka needs brokers (BARFLOW_KAFKA_BROKERS)');
      const kafka = createKafka(opts.brokers, 'barflow-produce');
      await ensureTopic(kafka, loadTopology(), opts.topic);
      const publisher = new KafkaBarPublisher(kafka, opts.topic, { rate: opts.rate });
      sinks.push(publisher);
      await publisher.connect();
      destinations.push(`Kafka ${opts.topic}`);
    }
  } catch (err) {
    await Promise.allSettled([...sinks.map((s) => s.close()), rejects?.close(), db?.close()]);
    throw err;
  }
  try {
    const started = performance.now();
    const summary = await pumpBars(reader, sinks.length > 0 ? fanOut(sinks) : discard, rejects, opts.onBatch);
    if (db && opts.waitForWal !== false && !(await db.waitForWal(table))) {
      throw new Error(`QuestDB did not apply the rows written to ${table} within 60 s`);
    }
    const destination = destinations.length > 0 ? destinations.join(' + ') : 'validation only';
    return { summary, seconds: (performance.now() - started) / 1000, destination, rejectTarget: rejects.target };
  } finally {
    await db?.close();
  }
}

/** Validates a file without writing bars anywhere (rejects are still written). */
export function validateFile(file: string, opts: FileJobOptions = {}): Promise<FileJobResult> {
  return loadFile(file, opts);
}

export interface IngestOptions extends FileJobOptions {
  questdb: QuestDbEndpoint;
  table?: string;
  waitForWal?: boolean;
}

/** CSV file → QuestDB table (bars_1m by default). */
export function ingestFile(file: string, opts: IngestOptions): Promise<FileJobResult> {
  return loadFile(file, opts);
}

export interface ProduceOptions extends FileJobOptions {
  brokers: string[];
  topic: string;
  rate?: number;
}

/** CSV file → Kafka topic (key = symbol, JSON value). */
export function produceFile(file: string, opts: ProduceOptions): Promise<FileJobResult> {
  return loadFile(file, opts);
}
