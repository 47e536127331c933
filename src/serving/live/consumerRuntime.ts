import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { logger } from '../../log.js';
import { idempotentProducer } from '../../streams/kafka/kafkaClient.js';

const log = logger('live');

export interface RuntimeSettings {
  groupId: string;
  topic: string;
  fromBeginning: boolean;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** How many partitions' batches of one fetch are handled together (all assigned ones, normally). */
  concurrency: number;
}

export interface RuntimeHandlers {
  /** A new generation of the group with these partitions (the states of the last one are gone). */
  joined(generation: number, partitions: number[]): void;
  /** One partition's batch; a throw restarts everything. */
  batch(payload: EachBatchPayload, generation: number): Promise<void>;
  /** A failure: the states are dropped, a new consumer and new producers follow. */
  failed(): void;
}

/**
 * The Kafka side of the live topology: the consumer in its group and the producer of the outputs
 * (snapshots have a thread and a connection of their own, SnapshotWriter, so that a checkpoint's
 * megabytes never queue in front of a burst's outputs). Any failure (a batch that throws, a consumer crash) stops them all and starts
 * new ones after a backoff from 0.5 s to 30 s, never a busy loop, never an exit.
 */
export class ConsumerRuntime {
  consumer: Consumer | null = null;
  outputs: Producer | null = null;
  generation = 0;
  assigned: number[] = [];
  joined = false;
  private stopping = false;
  private restarting: NodeJS.Timeout | null = null;
  private restartDelayMs = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly s: RuntimeSettings,
    private readonly h: RuntimeHandlers,
  ) {}

  async start(): Promise<void> {
    await this.connectProducers();
    await this.startConsumer();
  }

  ready(): boolean {
    return this.joined && !this.stopping && this.restarting === null;
  }

  private async connectProducers(): Promise<void> {
    const outputs = idempotentProducer(this.kafka);
    await outputs.connect();
    this.outputs = outputs;
  }

  private async startConsumer(): Promise<void> {
    const s = this.s;
    const consumer = this.kafka.consumer({
      groupId: s.groupId,
      sessionTimeout: s.sessionTimeoutMs,
      heartbeatInterval: s.heartbeatIntervalMs,
      maxWaitTimeInMs: 250,
      // Every failure goes through `restart` (new consumer, backoff), which also drops the states.
      retry: { retries: 5, restartOnFailure: async () => false },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.generation++;
      this.joined = true;
      this.restartDelayMs = 0;
      const partitions = [...(e.payload.memberAssignment[s.topic] ?? [])].sort((a, b) => a - b);
      this.assigned = partitions;
      this.h.joined(this.generation, partitions);
      log.info({ generation: this.generation, partitions }, 'joined the group');
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (consumer !== this.consumer || this.stopping) return;
      log.warn({ err: e.payload.error.message }, 'consumer stopped on an error; restarting');
      this.restart();
    });
    await consumer.connect();
    await consumer.subscribe({ topic: s.topic, fromBeginning: s.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // The batches of one fetch are handled together: their outputs go out in one produce request.
      partitionsConsumedConcurrently: Math.max(1, s.concurrency),
      eachBatch: (payload) => this.h.batch(payload, this.generation),
    });
  }

  /** A new consumer and producers after a failure, with exponential backoff. */
  restart(): void {
    if (this.restarting !== null || this.stopping) return;
    this.joined = false;
    this.h.failed();
    this.restartDelayMs = Math.min(30_000, Math.max(500, this.restartDelayMs * 2));
    const old = { consumer: this.consumer, outputs: this.outputs };
    this.consumer = null;
    this.restarting = setTimeout(() => {
      void (async () => {
        await old.consumer?.disconnect().catch(() => undefined);
        await old.outputs?.disconnect().catch(() => undefined);
        try {
          await this.connectProducers();
          this.restarting = null;
          await this.startConsumer();
        } catch (err) {
          log.warn({ err: (err as Error).message, retryInMs: this.restartDelayMs * 2 }, 'restart failed');
          this.restarting = null;
          this.restart();
        }
      })();
    }, this.restartDelayMs);
    log.info({ inMs: this.restartDelayMs }, 'consumer restart scheduled');
  }

  /** No new batches (the one in flight finishes); `close` after the last checkpoint. */
  pause(): void {
    this.stopping = true;
    if (this.restarting) clearTimeout(this.restarting);
    this.consumer?.pause([{ topic: this.s.topic }]);
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  async close(step: (what: string, work: () => Promise<unknown>) => Promise<void>): Promise<void> {
    await step('consumer disconnect', async () => this.consumer?.disconnect());
    await step('producer disconnect', async () => this.outputs?.disconnect());
  }
}
