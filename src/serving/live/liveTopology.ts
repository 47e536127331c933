import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Admin, Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { logger } from '../../log.js';
import { type FeatureSet, loadFeatureSet } from '../../operators/featureSet.js';
import { createKafka, idempotentProducer } from '../../streams/kafka/kafkaClient.js';
import { topicMetadataWithLeaders } from '../../streams/kafka/topics.js';
import type { QuestDbEndpoint } from '../../streams/questdb/endpoint.js';
import { QuestDbFeatureWriter } from '../../streams/questdb/featureWriter.js';
import { ensureTopic } from '../../topology/apply.js';
import { loadTopology } from '../../topology/topology.js';
import { DriftPredictor, predictionSchema } from '../predictor.js';
import { LiveModel, bundleRows, syncRows } from './liveModel.js';
import type { LiveConfig } from './liveConfig.js';
import { LiveMetrics, serveMetrics } from './liveMetrics.js';
import { LiveOutputs } from './liveOutputs.js';
import { LiveProcessor } from './liveProcessor.js';
import { StateTopic } from './stateTopic.js';

const log = logger('live');

export interface LiveEndpoints {
  brokers: string[];
  questdb: QuestDbEndpoint;
}

/** Wraps any failure inside a batch so kafkajs stops instead of retrying the batch in place. */
class BatchFailed extends Error {
  override name = 'BatchFailed';
}

/**
 * The always-on process: bars in, feature rows (and predictions) out, crash-safe. See
 * docs/live.md for the design; in short:
 *
 * - one LiveProcessor per assigned bar partition, restored from the state topic when the partition
 *   arrives (after a start, a rebalance or a failure) and positioned at the group's committed offset;
 * - each batch's outputs are sent (acks=all) before the next batch; QuestDB rows are encoded as
 *   they come;
 * - every `commitIntervalMs` a checkpoint makes QuestDB durable, writes the changed symbols'
 *   snapshots (each with the offset of the last message it covers), then commits the offsets. A
 *   crash anywhere re-delivers messages after the last commit; those a snapshot covers are skipped,
 *   the rest are processed again into the same rows (at-least-once, identical copies).
 */
export class LiveTopology {
  readonly metrics = new LiveMetrics();
  featureSet!: FeatureSet;
  private model: LiveModel | null = null;
  private kafka!: Kafka;
  private admin!: Admin;
  private producer: Producer | null = null;
  private consumer: Consumer | null = null;
  private state!: StateTopic;
  private featureWriter: QuestDbFeatureWriter | null = null;
  private readonly predictionWriters = new Map<string, QuestDbFeatureWriter>();
  private outputs!: LiveOutputs;
  private server: Server | null = null;
  metricsUrl = '';
  /** Processors of the partitions assigned in the current generation. */
  private processors = new Map<number, LiveProcessor>();
  /** Next offset to commit per partition, for the current generation. */
  private progress = new Map<number, number>();
  private generation = 0;
  private assigned: number[] = [];
  private joined = false;
  private stopping = false;
  private restarting: NodeJS.Timeout | null = null;
  private restartDelayMs = 0;
  private commitTimer: NodeJS.Timeout | null = null;
  /** Batches and checkpoints run one at a time, in order. */
  private chain: Promise<void> = Promise.resolve();
  private stopped!: Promise<void>;
  private lastCheckpoint = 0;
  private persisting: Promise<void> | null = null;
  private resolveStopped!: () => void;

  constructor(
    readonly config: LiveConfig,
    private readonly endpoints: LiveEndpoints,
  ) {}

  async start(): Promise<void> {
    const c = this.config;
    this.stopped = new Promise((r) => (this.resolveStopped = r));
    this.featureSet = loadFeatureSet(c.featureSetFile);
    const primary = c.bundle !== null ? await bundleRows(c.bundle.path, this.featureSet) : c.model !== null ? syncRows(new DriftPredictor(this.featureSet, c.model)) : null;
    const fallback = c.bundle?.fallback === undefined ? null : await bundleRows(c.bundle.fallback, this.featureSet);
    this.model =
      primary === null
        ? null
        : new LiveModel(
            primary,
            fallback,
            (reason, rows) => this.metrics.fallbacks.inc({ reason }, rows),
            (err) => log.warn({ err: (err as Error).message, model: primary.name, fallback: fallback?.name }, 'primary model failed; the fallback answers this batch'),
          );
    this.kafka = createKafka(this.endpoints.brokers, c.kafka.clientId, { retries: 8 });
    this.admin = this.kafka.admin();
    await this.admin.connect();
    await this.prepareTopics();
    if (c.questdb.enabled) {
      this.featureWriter = await QuestDbFeatureWriter.open(this.endpoints.questdb, this.featureSet, { table: c.questdb.featuresTable, waitForWal: false });
      if (this.model !== null) {
        for (const m of [this.model.primary, this.model.fallback]) {
          if (m === null || this.predictionWriters.has(m.name)) continue;
          this.predictionWriters.set(m.name, await QuestDbFeatureWriter.open(this.endpoints.questdb, predictionSchema(m), { table: c.questdb.predictionsTable, waitForWal: false, tags: { model: m.name } }));
        }
      }
    }
    this.outputs = new LiveOutputs({
      featureSet: this.featureSet,
      format: c.featureFormat,
      topics: { features: c.topics.features, predictions: c.topics.predictions, dlq: c.topics.dlq, source: c.topics.bars },
      model: this.model,
      features: this.featureWriter,
      predictions: this.model === null ? null : this.predictionWriters,
      metrics: this.metrics,
    });
    this.producer = idempotentProducer(this.kafka);
    await this.producer.connect();
    this.state = new StateTopic(this.kafka, c.topics.state, `${c.kafka.groupId}.state-reader.${randomUUID()}`, this.producer);
    await this.state.start();
    const served = await serveMetrics(this.metrics, this, c.metrics.host, c.metrics.port);
    this.server = served.server;
    this.metricsUrl = served.url;
    await this.startConsumer();
    // Checkpoints start after batches; the timer covers quiet times.
    this.commitTimer = setInterval(() => {
      if (performance.now() - this.lastCheckpoint >= c.commitIntervalMs) void this.serial(async () => this.startCheckpoint());
    }, c.commitIntervalMs);
    log.info({ group: c.kafka.groupId, topic: c.topics.bars, metrics: this.metricsUrl, featureSet: `${this.featureSet.name}@${this.featureSet.version}`, model: this.model?.primary.name ?? null, fallback: this.model?.fallback?.name ?? null }, 'live topology started');
  }

  /** Resolves when the process has stopped (after `stop`). */
  done(): Promise<void> {
    return this.stopped;
  }

  healthy(): boolean {
    return !this.stopping;
  }

  ready(): boolean {
    return this.joined && !this.stopping && this.restarting === null;
  }

  describe(): Record<string, unknown> {
    return { joined: this.joined, partitions: this.assigned, restored: [...this.processors.keys()].sort((a, b) => a - b), generation: this.generation, stopping: this.stopping };
  }

  private async prepareTopics(): Promise<void> {
    const c = this.config;
    if (c.topics.create) {
      const topology = loadTopology();
      const roles: [string, string][] = [
        [c.topics.bars, 'bars.1m'],
        [c.topics.dlq, 'bars.dlq'],
        [c.topics.features, 'features.1m'],
        [c.topics.state, 'barflow.operator-state'],
      ];
      if (c.model !== null || c.bundle !== null) roles.push([c.topics.predictions, 'predictions']);
      for (const [name, template] of roles) {
        const action = await ensureTopic(this.kafka, topology, name, template);
        if (action.action !== 'exists') log.info(action, 'topic');
      }
    }
    const meta = await topicMetadataWithLeaders(this.admin, [c.topics.bars, c.topics.state], c.topics.create ? 30_000 : 5_000).catch((err: Error) => {
      throw new Error(`topics ${c.topics.bars} and ${c.topics.state} must exist (set topics.create or run barflow topology apply): ${err.message}`);
    });
    const count = (t: string) => meta.topics.find((m) => m.name === t)?.partitions.length ?? 0;
    if (count(c.topics.state) < count(c.topics.bars)) {
      throw new Error(`state topic ${c.topics.state} has ${count(c.topics.state)} partitions, fewer than the ${count(c.topics.bars)} of ${c.topics.bars}: each bar partition keeps its snapshots in the state partition of the same number`);
    }
  }

  private async startConsumer(): Promise<void> {
    const c = this.config;
    const consumer = this.kafka.consumer({
      groupId: c.kafka.groupId,
      sessionTimeout: c.kafka.sessionTimeoutMs,
      heartbeatInterval: c.kafka.heartbeatIntervalMs,
      maxWaitTimeInMs: 250,
      // Every failure goes through `restart` (new consumer, backoff), which also drops the states.
      retry: { retries: 5, restartOnFailure: async () => false },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.generation++;
      this.processors = new Map();
      this.progress = new Map();
      this.joined = true;
      this.restartDelayMs = 0;
      const partitions = [...(e.payload.memberAssignment[c.topics.bars] ?? [])].sort((a, b) => a - b);
      this.assigned = partitions;
      this.metrics.assigned.set(partitions.length);
      log.info({ generation: this.generation, partitions }, 'joined the group');
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (consumer !== this.consumer || this.stopping) return;
      log.warn({ err: e.payload.error.message }, 'consumer stopped on an error; restarting');
      this.restart();
    });
    await consumer.connect();
    await consumer.subscribe({ topic: c.topics.bars, fromBeginning: c.kafka.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.serial(() => this.processBatch(payload)),
    });
  }

  /** A new consumer (and producer) after a failure, with exponential backoff: never a busy loop. */
  private restart(): void {
    if (this.restarting !== null || this.stopping) return;
    this.joined = false;
    this.processors = new Map();
    this.progress = new Map();
    this.restartDelayMs = Math.min(30_000, Math.max(500, this.restartDelayMs * 2));
    const old = this.consumer;
    this.consumer = null;
    this.restarting = setTimeout(() => {
      void (async () => {
        await old?.disconnect().catch(() => undefined);
        await this.producer?.disconnect().catch(() => undefined);
        this.producer = idempotentProducer(this.kafka);
        this.state.useProducer(this.producer);
        try {
          await this.producer.connect();
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

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work);
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async processBatch({ batch, resolveOffset, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.stopping || batch.messages.length === 0) return;
    const p = batch.partition;
    const generation = this.generation;
    try {
      let proc = this.processors.get(p);
      if (proc === undefined) {
        const start = await this.restorePartition(p);
        if (generation !== this.generation) return;
        if (start !== Number(batch.firstOffset())) {
          // kafkajs may go on from where it had read before a rejoin; the states restored are
          // those of the last checkpoint, so read again from there.
          this.consumer?.seek({ topic: batch.topic, partition: p, offset: String(start) });
          return;
        }
        proc = this.processors.get(p)!;
      }
      const out = this.outputs;
      const tBatch = performance.now();
      const sends: Promise<void>[] = [];
      let last = -1;
      for (const m of batch.messages) {
        if (!isRunning() || isStale()) break;
        out.timestamp = Number(m.timestamp);
        const t0 = performance.now();
        proc.process({ partition: p, offset: Number(m.offset), key: m.key, value: m.value }, out);
        this.metrics.barSeconds.observe((performance.now() - t0) / 1000);
        last = Number(m.offset);
        if (out.full) sends.push(out.send(this.producer!));
      }
      const tSend = performance.now();
      sends.push(out.send(this.producer!));
      // allSettled: a failed request must not leave the others' failures unhandled.
      const failed = (await Promise.allSettled(sends)).find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      log.debug({ partition: p, messages: batch.messages.length, processMs: tSend - tBatch, sendMs: performance.now() - tSend }, 'batch');
      if (last < 0) return;
      this.metrics.barsIn.inc(last - Number(batch.firstOffset()) + 1);
      this.metrics.skipped.inc(proc.skipped);
      proc.skipped = 0;
      this.metrics.lag.set({ partition: String(p) }, Math.max(0, Number(batch.highWatermark) - last - 1));
      if (generation === this.generation) this.progress.set(p, last + 1);
      resolveOffset(String(last));
      // Backpressure: QuestDB is often the slowest output; at most its requests in flight stay queued.
      await this.featureWriter?.flush();
      for (const w of this.predictionWriters.values()) await w.flush();
      if (performance.now() - this.lastCheckpoint >= this.config.commitIntervalMs) this.startCheckpoint();
    } catch (err) {
      // The states may be ahead of what was sent: forget them all and start over from the last
      // checkpoint with a new consumer.
      this.processors = new Map();
      this.progress = new Map();
      throw new BatchFailed(`partition ${p}: ${(err as Error).message}`);
    }
  }

  /**
   * Restores a partition's states from the state topic and returns the offset to read from: the
   * group's committed offset. With none, snapshots belong to another group or an earlier run that
   * never committed, so they are ignored and the start is the beginning (or the end) of the
   * partition, committed at once so that a restart before the first checkpoint starts there too.
   */
  private async restorePartition(p: number): Promise<number> {
    const c = this.config;
    const [committed] = (await this.admin.fetchOffsets({ groupId: c.kafka.groupId, topics: [c.topics.bars] }))[0]!.partitions.filter((x) => x.partition === p);
    let start = Number(committed?.offset ?? -1);
    const proc = new LiveProcessor(this.featureSet, c.maxMessageBytes, this.model?.window);
    if (start < 0) {
      const ends = await this.admin.fetchTopicOffsets(c.topics.bars);
      const end = ends.find((e) => e.partition === p)!;
      start = Number(c.kafka.fromBeginning ? end.low : end.high);
      await this.consumer!.commitOffsets([{ topic: c.topics.bars, partition: p, offset: String(start) }]);
      const ignored = this.state.snapshots(p).length;
      if (ignored > 0) log.warn({ partition: p, ignored }, 'no committed offset: snapshots in the state topic are from another group or run, ignored');
      log.info({ partition: p, from: start }, 'partition starts without state (no committed offset)');
    } else {
      await this.state.catchUp([p]);
      const snapshots = this.state.snapshots(p);
      for (const [symbol, bytes] of snapshots) proc.restore(symbol, bytes);
      this.metrics.restores.inc(snapshots.length);
      log.info({ partition: p, from: start, symbols: snapshots.length }, 'partition restored');
    }
    this.processors.set(p, proc);
    return start;
  }

  /**
   * A checkpoint, in two halves. Captured at once, between batches (so every output of the
   * captured messages has been acknowledged by Kafka): the offsets reached and the snapshots of the
   * symbols changed since the last checkpoint. Persisted in the background while batches go on:
   * QuestDB rows acknowledged, snapshots written, then offsets committed. In that order, so that a
   * committed offset is always covered by snapshots, and a snapshot by its outputs. One persists at
   * a time; a failed one gives its symbols back to the next.
   */
  private startCheckpoint(): void {
    if (this.persisting !== null || this.consumer === null) return;
    this.lastCheckpoint = performance.now();
    if (this.progress.size === 0) return;
    const generation = this.generation;
    const consumer = this.consumer;
    const progress = [...this.progress];
    const snapshots = progress.flatMap(([p]) => {
      const proc = this.processors.get(p);
      if (proc === undefined) return [];
      const states = proc.takeDirty();
      return [{ p, proc, states, values: states.map((s) => ({ symbol: s.symbol, value: s.snapshot() })) }];
    });
    this.persisting = (async () => {
      await this.featureWriter?.drain();
      for (const w of this.predictionWriters.values()) await w.drain();
      for (const { p, values } of snapshots) await this.state.write(p, values);
      if (generation !== this.generation) return;
      await consumer.commitOffsets(progress.map(([partition, offset]) => ({ topic: this.config.topics.bars, partition, offset: String(offset) })));
      for (const [p, offset] of progress) if (this.progress.get(p) === offset) this.progress.delete(p);
      this.metrics.commits.inc();
    })()
      .catch((err: Error) => {
        for (const { p, proc, states } of snapshots) if (this.processors.get(p) === proc) proc.markDirty(states);
        log.warn({ err: err.message }, 'checkpoint failed; its symbols go into the next one');
      })
      .finally(() => {
        this.persisting = null;
      });
  }

  /** Graceful stop (SIGTERM): no new batches, the one in flight finishes, a last checkpoint, leave the group. */
  async stop(): Promise<void> {
    if (this.stopping) return this.stopped;
    this.stopping = true;
    log.info('stopping: finishing the batch in flight, then a last checkpoint');
    if (this.commitTimer) clearInterval(this.commitTimer);
    if (this.restarting) clearTimeout(this.restarting);
    const step = async (what: string, work: () => Promise<unknown>) => {
      const t0 = performance.now();
      await work().catch((err: Error) => log.warn({ err: err.message }, `${what} failed`));
      log.debug({ ms: Math.round(performance.now() - t0) }, what);
    };
    try {
      this.consumer?.pause([{ topic: this.config.topics.bars }]);
      // A failed last checkpoint only means the next start re-does the work since the one before.
      await step('last checkpoint', () =>
        this.serial(async () => {
          await this.persisting;
          this.startCheckpoint();
          await this.persisting;
        }),
      );
      await step('consumer disconnect', async () => this.consumer?.disconnect());
      await step('producer disconnect', async () => this.producer?.disconnect());
      await step('state reader stop', async () => this.state?.stop());
      await step('QuestDB features writer close', async () => this.featureWriter?.close());
      for (const [name, w] of this.predictionWriters) await step(`QuestDB predictions writer (${name}) close`, async () => w.close());
      await step('admin disconnect', async () => this.admin?.disconnect());
      await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    } finally {
      log.info('stopped');
      this.resolveStopped();
    }
  }
}
