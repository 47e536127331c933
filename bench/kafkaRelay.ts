/**
 * The kafkajs floor of the live topology: a process that consumes the bar topic and, for every
 * message, produces a message of the feature row's size to the output topic, and does nothing
 * else (no features, no state, no QuestDB). Its latency is what the client library and the broker
 * cost on this machine for the same hop `barflow live` makes; bench/live.ts reports barflow's
 * figures as ratios to it.
 *
 *   tsx bench/kafkaRelay.ts <brokers> <in topic> <out topic> <group> <value bytes>
 *
 * Same client settings as `barflow live`: an idempotent producer with acks=all, one request in
 * flight; a consumer with 250 ms fetch wait, all partitions of a fetch handled together, and one
 * produce request per fetch. Prints `ready` once it has joined its group.
 */
import { createKafka, idempotentProducer } from '../dist/streams/kafka/kafkaClient.js';

const [brokers, input, outTopic, group, valueBytes] = process.argv.slice(2);
if (!brokers || !input || !outTopic || !group || !valueBytes) throw new Error('usage: kafkaRelay <brokers> <in> <out> <group> <value bytes>');
const output: string = outTopic;

const kafka = createKafka(brokers.split(','), 'barflow-relay');
const producer = idempotentProducer(kafka);
const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 250 });
await producer.connect();
await consumer.connect();
await consumer.subscribe({ topic: input, fromBeginning: true });
consumer.on(consumer.events.GROUP_JOIN, () => console.log('ready'));

/** Messages of the batches handled since the last send, sent together (as barflow live does). */
let pending: { key: Buffer | null; value: Buffer }[] = [];
let sending: Promise<void> | null = null;
function sendSoon(): Promise<void> {
  sending ??= new Promise<void>((resolve, reject) => {
    setImmediate(() => {
      const messages = pending;
      pending = [];
      sending = null;
      producer.send({ topic: output, acks: -1, messages }).then(() => resolve(), reject);
    });
  });
  return sending;
}

await consumer.run({
  autoCommit: true,
  partitionsConsumedConcurrently: 64,
  eachBatch: async ({ batch, resolveOffset }) => {
    for (const m of batch.messages) {
      // The bar's open time first, as in a feature row, so the downstream consumer can match it.
      const value = Buffer.alloc(Number(valueBytes));
      value.writeDoubleLE(Date.parse((JSON.parse(m.value!.toString('utf8')) as { ts: string }).ts), 0);
      pending.push({ key: m.key, value });
    }
    await sendSoon();
    resolveOffset(batch.lastOffset());
  },
});

process.on('SIGTERM', () => {
  void Promise.all([consumer.disconnect(), producer.disconnect()]).finally(() => process.exit(0));
});
