import { parentPort, workerData } from 'node:worker_threads';
import type { Producer } from 'kafkajs';
import { MAX_PRODUCE_BYTES, createKafka, idempotentProducer } from '../../streams/kafka/kafkaClient.js';
import type { SnapshotThreadRequest, SnapshotThreadSettings } from './snapshotWriter.js';

// Entry point of the snapshot writer thread: writes the snapshots it is sent to the state topic on
// a producer of its own, one request after another, and answers each with done or error.
if (parentPort === null) throw new Error('snapshotWriterThread must run in a worker thread');
const port = parentPort;
const settings = workerData as SnapshotThreadSettings;
const kafka = createKafka(settings.brokers, settings.clientId, { retries: settings.retries });
let producer: Producer | null = null;
let queue: Promise<void> = Promise.resolve();

async function connected(): Promise<Producer> {
  if (producer === null) {
    const p = idempotentProducer(kafka);
    await p.connect();
    producer = p;
  }
  return producer;
}

/** Snapshots of one bar partition (acks=all), in produce requests of a bounded size. */
async function write(topic: string, partition: number, snapshots: { symbol: string; value: Uint8Array }[]): Promise<void> {
  const p = await connected();
  let messages: { key: string; value: Buffer; partition: number }[] = [];
  let bytes = 0;
  const flush = async () => {
    if (messages.length === 0) return;
    await p.send({ topic, acks: -1, messages });
    messages = [];
    bytes = 0;
  };
  for (const { symbol, value } of snapshots) {
    if (bytes + value.byteLength > MAX_PRODUCE_BYTES) await flush();
    messages.push({ key: symbol, value: Buffer.from(value.buffer, value.byteOffset, value.byteLength), partition });
    bytes += value.byteLength;
  }
  await flush();
}

port.on('message', (msg: SnapshotThreadRequest) => {
  queue = queue.then(async () => {
    if (msg.type === 'close') {
      await producer?.disconnect().catch(() => undefined);
      producer = null;
      port.postMessage({ type: 'closed', id: msg.id });
      return;
    }
    try {
      await write(msg.topic, msg.partition, msg.snapshots);
      port.postMessage({ type: 'done', id: msg.id });
    } catch (err) {
      // The idempotent producer's sequence is unknown after a failed send: the next write starts a new one.
      const failed = producer;
      producer = null;
      await failed?.disconnect().catch(() => undefined);
      port.postMessage({ type: 'error', id: msg.id, message: (err as Error).message });
    }
  });
});
