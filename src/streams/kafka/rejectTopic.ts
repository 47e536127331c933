import type { Kafka, Producer } from 'kafkajs';
import { idempotentProducer } from './kafkaClient.js';
import type { Reject } from '../../bars/rejects.js';
import type { RejectSink } from '../rejectSink.js';

/**
 * Dead-letter topic sink: one message per reject, value = the Reject as JSON (source, line or
 * partition/offset, reason, detail, raw text), headers carry the reason for filtering without
 * parsing. Key = the record's source so one file's rejects stay in order.
 */
export class KafkaRejectTopic implements RejectSink {
  written = 0;
  private readonly producer: Producer;
  private connected = false;

  constructor(
    kafka: Kafka,
    readonly topic: string,
  ) {
    this.producer = idempotentProducer(kafka);
  }

  get target(): string {
    return `kafka topic ${this.topic}`;
  }

  async write(rejects: readonly Reject[]): Promise<void> {
    if (rejects.length === 0) return;
    if (!this.connected) {
      await this.producer.connect();
      this.connected = true;
    }
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: rejects.map((r) => ({
        key: r.source,
        value: JSON.stringify(r),
        headers: { 'barflow-reason': r.reason, 'content-type': 'application/json' },
      })),
    });
    this.written += rejects.length;
  }

  async close(): Promise<void> {
    if (this.connected) await this.producer.disconnect();
  }
}
