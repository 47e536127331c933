import { Kafka, Partitioners, type Producer, logLevel, type LogEntry } from 'kafkajs';
import { logger } from '../../log.js';

export const DEFAULT_BROKERS = '127.0.0.1:9092';

/** Largest produce request barflow builds: under the broker's default message.max.bytes (1 MiB) per partition batch. */
export const MAX_PRODUCE_BYTES = 768 * 1024;

export function brokersFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return parseBrokers(env.BARFLOW_KAFKA_BROKERS || DEFAULT_BROKERS);
}

export function parseBrokers(text: string): string[] {
  const brokers = text.split(',').map((b) => b.trim()).filter(Boolean);
  for (const b of brokers) {
    if (!/^[^\s:]+:\d+$/.test(b)) throw new Error(`invalid Kafka broker ${JSON.stringify(b)}: expected host:port`);
  }
  if (brokers.length === 0) throw new Error('no Kafka brokers given');
  return brokers;
}

const log = logger('kafkajs');

/**
 * kafkajs retries internally and logs each retriable failure (coordinator loading, leader moves)
 * as ERROR; the calls that really fail throw to our code, which reports them. So its messages are
 * passed on one level lower than kafkajs rates them.
 */
function logCreator() {
  return ({ level, log: entry }: LogEntry) => {
    const { message, ...rest } = entry;
    if (level === logLevel.ERROR) log.warn(rest, message);
    else if (level === logLevel.WARN) log.info(rest, message);
    else log.debug(rest, message);
  };
}

export interface KafkaClientOptions {
  connectionTimeout?: number;
  retries?: number;
  /** Silence kafkajs entirely (probes, where failures are the expected answer). */
  quiet?: boolean;
}

export function createKafka(brokers: string[], clientId = 'barflow', options: KafkaClientOptions = {}): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: options.quiet ? logLevel.NOTHING : logLevel.INFO,
    logCreator,
    connectionTimeout: options.connectionTimeout ?? 3000,
    retry: { retries: options.retries ?? 5 },
  });
}

/**
 * The producer barflow writes with: idempotent with acks=all (set per send), one request in flight
 * so a retry cannot reorder, and the Java client's murmur2 partitioner so a key lands where other
 * Kafka clients put it.
 */
export function idempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
}
