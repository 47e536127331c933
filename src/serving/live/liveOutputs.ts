import { type IHeaders, type Message, Partitioners, type PartitionMetadata, type Producer } from 'kafkajs';
import type { Violation } from '../../bars/rejects.js';
import type { FeatureSet } from '../../operators/featureSet.js';
import type { FeatureRow } from '../../operators/rx.js';
import type { QuestDbFeatureWriter } from '../../streams/questdb/featureWriter.js';
import { MAX_PRODUCE_BYTES } from '../../streams/kafka/kafkaClient.js';
import type { LiveMessage, LiveOutput } from './liveProcessor.js';
import type { LiveMetrics } from './liveMetrics.js';
import type { LiveModel } from './liveModel.js';
import { type FeatureMessageFormat, encodeFeatureRow, encodePrediction, featureHeaders } from './outputMessages.js';
import { logger } from '../../log.js';

const log = logger('live');

export interface LiveOutputTargets {
  featureSet: FeatureSet;
  format: FeatureMessageFormat;
  topics: { features: string; predictions: string; dlq: string; source: string };
  model: LiveModel | null;
  features: QuestDbFeatureWriter | null;
  /** QuestDB writers of predictions, by model name (each writes its name in the `model` column). */
  predictions: Map<string, QuestDbFeatureWriter> | null;
  metrics: LiveMetrics;
  /** The producer of the outputs (it changes when the topology restarts after a failure). */
  producer: () => Producer;
  /** Partition counts of the output topics: each message's partition is chosen here. */
  partitions: { features: number; predictions: number; dlq: number };
}

/**
 * The partition the producer's default partitioner would choose for a key (murmur2, as the Java
 * client), chosen here so that a send is bounded per partition batch, the broker's limit
 * (message.max.bytes), rather than as a whole: a burst of 1,000 rows goes out in one request
 * instead of three.
 */
class PartitionOf {
  private readonly choose = Partitioners.DefaultPartitioner();
  private readonly metadata: PartitionMetadata[];

  constructor(
    private readonly topic: string,
    partitions: number,
  ) {
    this.metadata = Array.from({ length: Math.max(1, partitions) }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
  }

  of(key: string | Buffer | null): number {
    return this.choose({ topic: this.topic, partitionMetadata: this.metadata, message: { key, value: null } });
  }
}

interface PendingRow {
  symbol: string;
  ts: number;
  values: Float64Array;
  window: Float64Array | null;
  regime: Float64Array | null;
}

/** What is collected between two sends, and the promise that it (and every send before it) was acknowledged. */
class Slot {
  features: Message[] = [];
  dlq: Message[] = [];
  pending: PendingRow[] = [];
  /** Message timestamps (ms) of the rows, for the end-to-end histogram. */
  stamps: number[] = [];
  /** Bytes per partition batch the send will hold: features by partition, then predictions, then the DLQ. */
  readonly bytes: Float64Array;
  /** True once a partition batch is near the broker's limit: the slot is sent at once. */
  full = false;
  scheduled = false;
  readonly done: Promise<void>;
  settle!: (work: Promise<void>) => void;

  constructor(batches: number) {
    this.bytes = new Float64Array(batches);
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = (work) => void work.then(resolve, reject);
    });
    // A slot closed early (full) may have no handler awaiting it directly: its failure still
    // reaches them through the next slot, which chains on it.
    this.done.catch(() => undefined);
  }

  get empty(): boolean {
    return this.features.length === 0 && this.dlq.length === 0 && this.pending.length === 0;
  }

  add(batch: number, bytes: number): void {
    if ((this.bytes[batch]! += bytes) >= MAX_PRODUCE_BYTES) this.full = true;
  }
}

/**
 * The outputs of every partition's batches, sent together: the batches a fetch returned are
 * processed one after another in the same turn of the event loop, each adds its rows, rejects and
 * prediction requests here, then awaits `flush()`; the first flush schedules one send for all of
 * them (their predictions in one model call, their messages in one produce request, acks=all) at
 * the end of that turn. A batch's offsets are resolved once the send holding its outputs, and every
 * send before it, was acknowledged. QuestDB rows are encoded into the writers as they come and
 * posted in the background (the checkpoint makes them durable before offsets are committed).
 */
export class LiveOutputs implements LiveOutput {
  private slot: Slot;
  /** Settles with the last send closed so far (and everything before it). */
  private last: Promise<void> = Promise.resolve();
  /** Settles once the previous send has issued its Kafka request (or failed): requests go out in call order. */
  private issued: Promise<void> = Promise.resolve();
  private readonly featureHeaders: IHeaders;
  private readonly predictionHeaders: IHeaders = { 'content-type': 'application/json', 'barflow-schema': 'prediction/v1' };
  private readonly questDbRow: FeatureRow;

  private readonly featuresPartition: PartitionOf;
  private readonly predictionsPartition: PartitionOf;
  private readonly dlqPartition: PartitionOf;

  constructor(private readonly t: LiveOutputTargets) {
    this.featureHeaders = featureHeaders(t.featureSet, t.format);
    this.questDbRow = { symbol: '', ts: 0, values: new Float64Array(0), schemaHash: t.featureSet.schemaHash };
    this.featuresPartition = new PartitionOf(t.topics.features, t.partitions.features);
    this.predictionsPartition = new PartitionOf(t.topics.predictions, t.partitions.predictions);
    this.dlqPartition = new PartitionOf(t.topics.dlq, t.partitions.dlq);
    this.slot = this.newSlot();
  }

  private newSlot(): Slot {
    const p = this.t.partitions;
    return new Slot(p.features + p.predictions + p.dlq);
  }

  row(symbol: string, ts: number, values: Float64Array, message: LiveMessage, window: Float64Array | null, regime: Float64Array | null = null): void {
    const t = this.t;
    const s = this.slot;
    const value = encodeFeatureRow(t.featureSet, t.format, symbol, ts, values);
    const partition = this.featuresPartition.of(symbol);
    s.features.push({ key: symbol, value, headers: this.featureHeaders, partition });
    s.add(partition, value.byteLength + symbol.length + 64);
    s.stamps.push(message.timestamp);
    if (t.features !== null) {
      this.questDbRow.symbol = symbol;
      this.questDbRow.ts = ts;
      this.questDbRow.values = values;
      t.features.add(this.questDbRow);
    }
    if (t.model !== null) {
      // The row's values buffer is reused by the engine: the prediction step gets a copy.
      s.pending.push({ symbol, ts, values: values.slice(), window, regime: regime === null ? null : regime.slice() });
      s.add(t.partitions.features + this.predictionsPartition.of(symbol), 512);
    }
    if (s.full) this.close();
  }

  reject(m: LiveMessage, violation: Violation): void {
    this.t.metrics.rejects.inc({ reason: violation.reason });
    const s = this.slot;
    const partition = this.dlqPartition.of(m.key);
    s.dlq.push({
      key: m.key,
      partition,
      value: m.value,
      headers: {
        'barflow-reason': violation.reason,
        'barflow-detail': violation.detail,
        'barflow-source-topic': this.t.topics.source,
        'barflow-source-partition': String(m.partition),
        'barflow-source-offset': String(m.offset),
        'barflow-source-timestamp': String(m.timestamp),
      },
    });
    s.add(this.t.partitions.features + this.t.partitions.predictions + partition, (m.value?.byteLength ?? 0) + 512);
    if (s.full) this.close();
  }

  duplicate(): void {
    this.t.metrics.duplicates.inc();
  }

  /**
   * Settles when everything added so far has been acknowledged by Kafka. The send of what was
   * added in this turn of the event loop starts at its end, once every batch of the turn has added
   * its outputs.
   */
  flush(): Promise<void> {
    const s = this.slot;
    if (s.empty) return this.last;
    if (!s.scheduled) {
      s.scheduled = true;
      setImmediate(() => {
        if (this.slot === s) this.close();
      });
    }
    return s.done;
  }

  /**
   * After a failure (the states that made them are dropped too): forgets what is not sent yet, and
   * later sends no longer wait on the failed ones.
   */
  discard(): void {
    this.slot = this.newSlot();
    this.last = Promise.resolve();
    this.issued = Promise.resolve();
  }

  /** Starts sending the current slot at once and opens the next one. */
  private close(): void {
    const s = this.slot;
    this.slot = this.newSlot();
    if (s.empty) {
      s.settle(this.last);
      return;
    }
    const before = this.last;
    const prevIssued = this.issued;
    let issued!: () => void;
    this.issued = new Promise<void>((r) => (issued = r));
    const own = (async () => {
      try {
        const t0 = performance.now();
        // Predictions of several sends may finish in any order (a fallback call takes longer); the
        // Kafka requests are issued in call order all the same, so a symbol's messages keep their order.
        const predictions = await this.predict(s.pending);
        const t1 = performance.now();
        await prevIssued;
        const sending = this.sendAll(s, predictions);
        issued();
        await sending;
        log.debug({ rows: s.features.length, predictMs: t1 - t0, sendMs: performance.now() - t1 }, 'send');
      } finally {
        issued();
      }
    })();
    s.settle(Promise.all([before, own]).then(() => undefined));
    this.last = s.done;
  }

  /** Predicts the rows of a send (one model call for all of them) and encodes their messages and QuestDB rows. */
  private async predict(pending: PendingRow[]): Promise<Message[]> {
    const model = this.t.model;
    if (model === null || pending.length === 0) return [];
    const results = await model.predict(pending);
    const messages: Message[] = [];
    results.forEach(({ by, out }, i) => {
      const { symbol, ts } = pending[i]!;
      messages.push({ key: symbol, partition: this.predictionsPartition.of(symbol), value: encodePrediction(symbol, ts, by.name, by.version, out, this.t.featureSet.schemaHash, by.fields), headers: this.predictionHeaders });
      const writer = this.t.predictions?.get(by.name);
      if (writer !== undefined) writer.add({ symbol, ts, values: out, schemaHash: writer.featureSet.schemaHash });
    });
    return messages;
  }

  private sendAll(s: Slot, predictions: Message[]): Promise<void> {
    const topicMessages = [
      { topic: this.t.topics.features, messages: s.features },
      { topic: this.t.topics.predictions, messages: predictions },
      { topic: this.t.topics.dlq, messages: s.dlq },
    ].filter((x) => x.messages.length > 0);
    if (topicMessages.length === 0) return Promise.resolve();
    return this.t.producer().sendBatch({ topicMessages, acks: -1 }).then(() => {
      const now = Date.now();
      const m = this.t.metrics;
      for (const stamp of s.stamps) m.endToEndSeconds.observe((now - stamp) / 1000);
      m.rowsOut.inc(s.features.length);
      m.predictionsOut.inc(predictions.length);
    });
  }
}
