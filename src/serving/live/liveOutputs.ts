import type { IHeaders, Message, Producer } from 'kafkajs';
import type { Violation } from '../../bars/rejects.js';
import type { FeatureSet } from '../../operators/featureSet.js';
import type { FeatureRow } from '../../operators/rx.js';
import type { QuestDbFeatureWriter } from '../../streams/questdb/featureWriter.js';
import { MAX_PRODUCE_BYTES } from '../../streams/kafka/kafkaClient.js';
import { PREDICTION_FIELDS, type Predictor } from '../predictor.js';
import type { LiveMessage, LiveOutput } from './liveProcessor.js';
import type { LiveMetrics } from './liveMetrics.js';
import { type FeatureMessageFormat, encodeFeatureRow, encodePrediction, featureHeaders } from './outputMessages.js';

export interface LiveOutputTargets {
  featureSet: FeatureSet;
  format: FeatureMessageFormat;
  topics: { features: string; predictions: string; dlq: string; source: string };
  predictor: Predictor | null;
  features: QuestDbFeatureWriter | null;
  predictions: QuestDbFeatureWriter | null;
  metrics: LiveMetrics;
}

/**
 * Collects one batch's outputs: Kafka messages (sent together by `send`, acks=all) and QuestDB
 * rows (encoded into the writers as they come; made durable by the writers' `drain` before a
 * checkpoint). A row's Kafka message and its QuestDB row come from the same values, at once.
 */
export class LiveOutputs implements LiveOutput {
  private features: Message[] = [];
  private predictions: Message[] = [];
  private dlq: Message[] = [];
  private bytes = 0;
  /** Message timestamps (ms) of the rows in this batch, for the end-to-end histogram. */
  private stamps: number[] = [];
  private readonly featureHeaders: IHeaders;
  private readonly predictionHeaders: IHeaders = { 'content-type': 'application/json', 'barflow-schema': 'prediction/v1' };
  private readonly questDbRow: FeatureRow;
  private readonly prediction = new Float64Array(PREDICTION_FIELDS.length);
  private readonly predictionRow: FeatureRow;
  /** Timestamp (ms) of the message being processed. */
  timestamp = 0;

  constructor(private readonly t: LiveOutputTargets) {
    this.featureHeaders = featureHeaders(t.featureSet, t.format);
    this.questDbRow = { symbol: '', ts: 0, values: new Float64Array(0), schemaHash: t.featureSet.schemaHash };
    this.predictionRow = { symbol: '', ts: 0, values: this.prediction, schemaHash: t.predictions?.featureSet.schemaHash ?? '' };
  }

  row(symbol: string, ts: number, values: Float64Array): void {
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
    if (t.predictor !== null) {
      t.predictor.predict(values, this.prediction);
      const p = encodePrediction(symbol, ts, t.predictor.name, t.predictor.version, this.prediction);
      this.predictions.push({ key: symbol, value: p, headers: this.predictionHeaders });
      this.bytes += p.byteLength;
      if (t.predictions !== null) {
        this.predictionRow.symbol = symbol;
        this.predictionRow.ts = ts;
        t.predictions.add(this.predictionRow);
      }
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
    const topicMessages = [
      { topic: this.t.topics.features, messages: this.features },
      { topic: this.t.topics.predictions, messages: this.predictions },
      { topic: this.t.topics.dlq, messages: this.dlq },
    ].filter((t) => t.messages.length > 0);
    const stamps = this.stamps;
    const rows = this.features.length;
    const predictions = this.predictions.length;
    this.features = [];
    this.predictions = [];
    this.dlq = [];
    this.stamps = [];
    this.bytes = 0;
    if (topicMessages.length === 0) return Promise.resolve();
    return producer.sendBatch({ topicMessages, acks: -1 }).then(() => {
      const now = Date.now();
      const m = this.t.metrics;
      for (const s of stamps) m.endToEndSeconds.observe((now - s) / 1000);
      m.rowsOut.inc(rows);
      m.predictionsOut.inc(predictions);
    });
  }
}
