import type { Kafka, Message, Producer } from 'kafkajs';
import { idempotentProducer } from './kafkaClient.js';
import type { Bar } from '../../bars/bar.js';
import { BAR_MESSAGE_HEADERS, encodeBar } from './barMessage.js';

export interface PublishOptions {
  /** Bars per second for paced replay; unpaced when absent or 0. */
  rate?: number;
  /** Messages per produce request when unpaced. */
  chunk?: number;
}

/**
 * Publishes bars to a topic, key = symbol so that one symbol always lands on one partition and
 * keeps its order (Java-compatible murmur2 partitioner). Idempotent producer with acks=all, so a
 * retried request cannot duplicate or reorder messages.
 */
export class KafkaBarPublisher {
  sent = 0;
  private readonly producer: Producer;
  private startedAt = 0;

  constructor(
    kafka: Kafka,
    readonly topic: string,
    private readonly options: PublishOptions = {},
  ) {
    this.producer = idempotentProducer(kafka);
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  async write(bars: readonly Bar[]): Promise<void> {
    const rate = this.options.rate ?? 0;
    const chunk = rate > 0 ? Math.max(1, Math.min(500, Math.floor(rate / 20))) : (this.options.chunk ?? 2000);
    for (let i = 0; i < bars.length; i += chunk) {
      const slice = bars.slice(i, i + chunk);
      if (rate > 0) await this.pace(rate);
      const messages: Message[] = slice.map((bar) => ({ key: bar.symbol, value: encodeBar(bar), headers: { ...BAR_MESSAGE_HEADERS } }));
      await this.producer.send({ topic: this.topic, acks: -1, messages });
      this.sent += slice.length;
    }
  }

  /** Sleeps until the schedule `sent / rate` seconds after the first send allows the next chunk. */
  private async pace(rate: number): Promise<void> {
    if (this.startedAt === 0) this.startedAt = performance.now();
    const due = this.startedAt + (this.sent / rate) * 1000;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
