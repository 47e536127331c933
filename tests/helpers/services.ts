import type { KafkaMessage } from 'kafkajs';
import { inject } from 'vitest';
import { createKafka, parseBrokers } from '../../src/streams/kafka/kafkaClient.js';
import { type QuestDbEndpoint, parseQuestDbEndpoint } from '../../src/streams/questdb/endpoint.js';
import { type CliResult, runBarflow } from './cli.js';

/** The real services the global setup provided. */
export function endpoints(): { brokers: string[]; questdb: QuestDbEndpoint; env: Record<string, string> } {
  const ep = inject('endpoints');
  return {
    brokers: parseBrokers(ep.kafkaBrokers),
    questdb: parseQuestDbEndpoint(ep.questdb, ep.questdbPg || undefined),
    env: { BARFLOW_KAFKA_BROKERS: ep.kafkaBrokers, BARFLOW_QUESTDB: ep.questdb, ...(ep.questdbPg ? { BARFLOW_QUESTDB_PG: ep.questdbPg } : {}) },
  };
}

/** A name no other test run uses, so tests sharing one broker and one QuestDB stay apart. */
export function unique(prefix: string): string {
  return `${prefix}_${process.pid.toString(36)}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

/** Runs the built CLI against the provided services. */
export function barflow(args: string[], env: Record<string, string | undefined> = endpoints().env): Promise<CliResult> {
  return runBarflow(args, { env });
}

export interface Consumed {
  partition: number;
  message: KafkaMessage;
}

/** Reads a topic from the beginning until `count` messages arrived (or fails after `timeoutMs`). */
export function consumeAll(topic: string, count: number, timeoutMs = 60_000): Promise<Consumed[]> {
  return consumeUntil(topic, (seen) => seen.length >= count, timeoutMs, `${count} messages`);
}

/** Reads a topic from the beginning until `done` says so (or fails after `timeoutMs`). */
export async function consumeUntil(topic: string, done: (seen: Consumed[]) => boolean, timeoutMs = 60_000, what = 'the expected messages'): Promise<Consumed[]> {
  const kafka = createKafka(endpoints().brokers, 'barflow-test');
  const consumer = kafka.consumer({ groupId: unique('test'), maxWaitTimeInMs: 200 });
  const out: Consumed[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolveAll, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed ${out.length} messages from ${topic}, waiting for ${what}`)), timeoutMs);
      if (done(out)) {
        clearTimeout(timer);
        resolveAll();
      }
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          out.push({ partition, message });
          if (done(out)) {
            clearTimeout(timer);
            resolveAll();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

export async function createTopic(topic: string, partitions: number, config: Record<string, string> = {}): Promise<void> {
  const admin = createKafka(endpoints().brokers, 'barflow-test').admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries: Object.entries(config).map(([name, value]) => ({ name, value })) }],
    });
  } finally {
    await admin.disconnect();
  }
}
