import type { IHeaders, Message, Producer } from 'kafkajs';
import type { Violation } from '../../bars/rejects.js';
import type { FeatureSet } from '../../operators/featureSet.js';
import type { FeatureRow } from '../../operators/rx.js';
import type { QuestDbFeatureWriter } from '../../streams/questdb/featureWriter.js';
import { MAX_PRODUCE_BYTES } from '../../streams/kafka/kafkaClient.js';
import type { LiveMessage, LiveOutput } from './liveProcessor.js';
import type { LiveMetrics } from './liveMetrics.js';
import type { LiveModel } from './liveModel.js';
import { type FeatureMessageFormat, encodeFeatureRow, encodePrediction, featureHeaders } from './outputMessages.js';

export interface LiveOutputTargets {
  featureSet: FeatureSet;
  format: FeatureMessageFormat;
  topics: { features: string; predictions: string; dlq: string; source: string };
  model: LiveModel | null;
  features: QuestDbFeatureWriter | null;
  /** QuestDB writers of predictions, by model name (each writes its name in the `model` column). */
  predictions: Map<string, QuestDbFeatureWriter> | null;
  metrics: LiveMetrics;
}

/**
 * Collects one batch's outputs: Kafka messages (sent together by `send`, acks=all) and QuestDB
 * rows (encoded into the writers as they come; made durable by the writers' `drain` before a
 * checkpoint). A row's Kafka message and its QuestDB row come from the same values, at once.
 */
export class LiveOutputs implements LiveOutput {
  private features: Message[] = [];
  private dlq: Message[] = [];
  private bytes = 0;
  /** Message timestamps (ms) of the rows in this batch, for the end-to-end histogram. */
  private stamps: number[] = [];
  private readonly featureHeaders: IHeaders;
  private readonly predictionHeaders: IHeaders = { 'content-type': 'application/json', 'barflow-schema': 'prediction/v1' };
  private readonly questDbRow: FeatureRow;
  /** Rows waiting for their predictions, made when the batch is sent. */
  private pending: { symbol: string; ts: number; values: Float64Array; window: Float64Array | null }[] = [];
  /** Timestamp (ms) of the message being processed. */
  timestamp = 0;
  /** Settles once the previous send has issued its Kafka request (or failed): sends go out in call order. */
  private issued: Promise<void> = Promise.resolve();

  constructor(private readonly t: LiveOutputTargets) {
    this.featureHeaders = featureHeaders(t.featureSet, t.format);
    this.questDbRow = { symbol: '', ts: 0, values: new Float64Array(0), schemaHash: t.featureSet.schemaHash };
  }

  row(symbol: string, ts: number, values: Float64Array, _message: LiveMessage, window: Float64Array | null): void {
    const t = this.t;
    const value = encodeFeatureRow(t.featureSet, t.format, symbol, ts, values);
    this.features.push({ key: symbol, value, headers: this.featureHeaders });
    this.bytes += value.byteLength + symbol.length;
    this.stamps.push(this.timestamp);
    if (t.features !== null) {
      this.questDbRow.symbol = symbol;
      this.questDbRow.ts = ts;
      this.questDbRow.values = values;
      t.features.add(this.questDbRow);
    }
    if (t.model !== null) {
      // The row's values buffer is reused by the engine: the prediction step gets a copy.
      this.pending.push({ symbol, ts, values: values.slice(), window });
      this.bytes += 400;
    }
  }

  reject(m: LiveMessage, violation: Violation): void {
    this.t.metrics.rejects.inc({ reason: violation.reason });
    this.dlq.push({
      key: m.key,
      value: m.value,
      headers: {
        'barflow-reason': violation.reason,
        'barflow-detail': violation.detail,
        'barflow-source-topic': this.t.topics.source,
        'barflow-source-partition': String(m.partition),
        'barflow-source-offset': String(m.offset),
        'barflow-source-timestamp': String(this.timestamp),
      },
    });
    this.bytes += (m.value?.byteLength ?? 0) + 256;
  }

  duplicate(): void {
    this.t.metrics.duplicates.inc();
  }

  /** True when enough is collected to send now rather than at the end of the batch. */
  get full(): boolean {
    return this.bytes >= MAX_PRODUCE_BYTES;
  }

  /**
   * Starts sending what is collected (acks=all) and clears it at once, so collecting can go on
   * while the broker writes; the promise settles when the broker has acknowledged it.
   */
  send(producer: Producer): Promise<void> {
    const features = this.features;
    const dlq = this.dlq;
    const pending = this.pending;
    const stamps = this.stamps;
    const rows = this.features.length;
    this.features = [];
    this.dlq = [];
    this.pending = [];
    this.stamps = [];
    this.bytes = 0;
    // Predictions of several sends may finish in any order (a fallback call takes longer); the
    // Kafka requests are issued in call order all the same, so a symbol's messages keep their order.
    const prev = this.issued;
    let issued!: () => void;
    this.issued = new Promise<void>((r) => (issued = r));
    return (async () => {
      try {
        const predictions = await this.predict(pending);
        await prev;
        const sending = this.sendAll(producer, features, predictions, dlq, stamps, rows);
        issued();
        await sending;
      } finally {
        issued();
      }
    })();
  }

  /**
   * Predicts a batch's rows (one model call for all of them) and encodes the messages and QuestDB
   * rows; the rows' Kafka messages keep their order.
   */
  private async predict(pending: { symbol: string; ts: number; values: Float64Array; window: Float64Array | null }[]): Promise<Message[]> {
    const model = this.t.model;
    if (model === null || pending.length === 0) return [];
    const results = await model.predict(pending);
    const messages: Message[] = [];
    results.forEach(({ by, out }, i) => {
      const { symbol, ts } = pending[i]!;
      messages.push({ key: symbol, value: encodePrediction(symbol, ts, by.name, by.version, out, this.t.featureSet.schemaHash), headers: this.predictionHeaders });
      const writer = this.t.predictions?.get(by.name);
      if (writer !== undefined) writer.add({ symbol, ts, values: out, schemaHash: writer.featureSet.schemaHash });
    });
    return messages;
  }

  private sendAll(producer: Producer, features: Message[], predictions: Message[], dlq: Message[], stamps: number[], rows: number): Promise<void> {
    const topicMessages = [
      { topic: this.t.topics.features, messages: features },
      { topic: this.t.topics.predictions, messages: predictions },
      { topic: this.t.topics.dlq, messages: dlq },
    ].filter((t) => t.messages.length > 0);
    if (topicMessages.length === 0) return Promise.resolve();
    return producer.sendBatch({ topicMessages, acks: -1 }).then(() => {
      const now = Date.now();
      const m = this.t.metrics;
      for (const s of stamps) m.endToEndSeconds.observe((now - s) / 1000);
      m.rowsOut.inc(rows);
      m.predictionsOut.inc(predictions.length);
    });
  }
}
