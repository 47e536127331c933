import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Admin, EachBatchPayload, Kafka } from 'kafkajs';
import { logger } from '../../log.js';
import { type FeatureSet, loadFeatureSet } from '../../operators/featureSet.js';
import { createKafka } from '../../streams/kafka/kafkaClient.js';
import { topicMetadataWithLeaders } from '../../streams/kafka/topics.js';
import type { QuestDbEndpoint } from '../../streams/questdb/endpoint.js';
import { QuestDbFeatureWriter } from '../../streams/questdb/featureWriter.js';
import { ensureTopic } from '../../topology/apply.js';
import { loadTopology } from '../../topology/topology.js';
import { DriftPredictor, predictionSchema } from '../predictor.js';
import { Checkpointer } from './checkpointer.js';
import { ConsumerRuntime } from './consumerRuntime.js';
import { LiveModel, bundleRows, syncRows } from './liveModel.js';
import type { LiveConfig } from './liveConfig.js';
import { LiveMetrics, serveMetrics } from './liveMetrics.js';
import { LiveOutputs } from './liveOutputs.js';
import { LiveProcessor } from './liveProcessor.js';
import { SnapshotWriter } from './snapshotWriter.js';
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
 * docs/live.md for the design; this class wires its parts:
 *
 * - ConsumerRuntime: the consumer in its group, the producers, restarts with backoff;
 * - one LiveProcessor per assigned bar partition, restored by the Checkpointer from the state
 *   topic when the partition arrives and positioned at the group's committed offset;
 * - LiveOutputs: the batches of one fetch are processed together and their outputs sent in one
 *   produce request (acks=all), predictions in one model call; a batch's offsets are resolved once
 *   that request is acknowledged; QuestDB rows are posted in the background, bounded;
 * - the Checkpointer: every `commitIntervalMs`, between fetch cycles, snapshots of the changed
 *   symbols (each with the offset of the last message it covers), then, in the background,
 *   QuestDB made durable, the snapshots written, the offsets committed. A crash anywhere
 *   re-delivers messages after the last commit; those a snapshot covers are skipped, the rest are
 *   processed again into the same rows (at-least-once, identical copies).
 */
export class LiveTopology {
  readonly metrics = new LiveMetrics();
  featureSet!: FeatureSet;
  private model: LiveModel | null = null;
  private kafka!: Kafka;
  private admin!: Admin;
  private runtime!: ConsumerRuntime;
  private checkpointer!: Checkpointer;
  private state!: StateTopic;
  private snapshotWriter: SnapshotWriter | null = null;
  private featureWriter: QuestDbFeatureWriter | null = null;
  private readonly predictionWriters = new Map<string, QuestDbFeatureWriter>();
  private outputs!: LiveOutputs;
  private server: Server | null = null;
  metricsUrl = '';
  private stopping = false;
  private commitTimer: NodeJS.Timeout | null = null;
  private stopped!: Promise<void>;
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
    const partitions = await this.prepareTopics();
    if (c.questdb.enabled) {
      this.featureWriter = await QuestDbFeatureWriter.open(this.endpoints.questdb, this.featureSet, { table: c.questdb.featuresTable, waitForWal: false });
      if (this.model !== null) {
        for (const m of [this.model.primary, this.model.fallback]) {
          if (m === null || this.predictionWriters.has(m.name)) continue;
          this.predictionWriters.set(m.name, await QuestDbFeatureWriter.open(this.endpoints.questdb, predictionSchema(m), { table: c.questdb.predictionsTable, waitForWal: false, tags: { model: m.name } }));
        }
      }
    }
    this.runtime = new ConsumerRuntime(
      this.kafka,
      {
        groupId: c.kafka.groupId,
        topic: c.topics.bars,
        fromBeginning: c.kafka.fromBeginning,
        sessionTimeoutMs: c.kafka.sessionTimeoutMs,
        heartbeatIntervalMs: c.kafka.heartbeatIntervalMs,
        concurrency: partitions.bars,
      },
      {
        joined: (generation) => this.checkpointer.reset(generation),
        batch: (payload, generation) => this.processBatch(payload, generation),
        failed: () => {
          this.checkpointer.reset(-1);
          this.outputs.discard();
          this.snapshotWriter?.reset();
        },
      },
    );
    this.outputs = new LiveOutputs({
      featureSet: this.featureSet,
      format: c.featureFormat,
      topics: { features: c.topics.features, predictions: c.topics.predictions, dlq: c.topics.dlq, source: c.topics.bars },
      model: this.model,
      features: this.featureWriter,
      predictions: this.model === null ? null : this.predictionWriters,
      metrics: this.metrics,
      producer: () => this.runtime.outputs!,
      partitions,
    });
    this.snapshotWriter = new SnapshotWriter({ brokers: this.endpoints.brokers, clientId: `${c.kafka.clientId}-snapshots`, retries: 8 });
    this.state = new StateTopic(this.kafka, c.topics.state, `${c.kafka.groupId}.state-reader.${randomUUID()}`, this.snapshotWriter);
    this.checkpointer = new Checkpointer({
      admin: this.admin,
      state: this.state,
      metrics: this.metrics,
      topic: c.topics.bars,
      groupId: c.kafka.groupId,
      fromBeginning: c.kafka.fromBeginning,
      intervalMs: c.commitIntervalMs,
      newProcessor: () => new LiveProcessor(this.featureSet, c.maxMessageBytes, this.model?.window, this.model?.regime),
      drainOutputs: async () => {
        await this.featureWriter?.drain();
        for (const w of this.predictionWriters.values()) await w.drain();
      },
    });
    await this.state.start();
    const served = await serveMetrics(this.metrics, this, c.metrics.host, c.metrics.port);
    this.server = served.server;
    this.metricsUrl = served.url;
    await this.runtime.start();
    // Checkpoints are taken between fetch cycles; the timer marks them due and covers quiet times.
    // Often: a checkpoint goes one partition per quiet moment, and the check is a comparison.
    this.commitTimer = setInterval(() => this.checkpointer.tick(this.runtime.consumer), Math.min(c.commitIntervalMs, 100));
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
    return this.runtime.ready();
  }

  describe(): Record<string, unknown> {
    return { joined: this.runtime.joined, partitions: this.runtime.assigned, restored: this.checkpointer.describe().restored, generation: this.runtime.generation, stopping: this.stopping };
  }

  /** Creates missing topics; returns the partition counts of the bar topic and of the outputs. */
  private async prepareTopics(): Promise<{ bars: number; features: number; predictions: number; dlq: number }> {
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
    const predicting = c.model !== null || c.bundle !== null;
    const needed = [c.topics.bars, c.topics.state, c.topics.features, c.topics.dlq, ...(predicting ? [c.topics.predictions] : [])];
    const meta = await topicMetadataWithLeaders(this.admin, needed, c.topics.create ? 30_000 : 5_000).catch((err: Error) => {
      throw new Error(`topics ${needed.join(', ')} must exist (set topics.create or run barflow topology apply): ${err.message}`);
    });
    const count = (t: string) => meta.topics.find((m) => m.name === t)?.partitions.length ?? 0;
    if (count(c.topics.state) < count(c.topics.bars)) {
      throw new Error(`state topic ${c.topics.state} has ${count(c.topics.state)} partitions, fewer than the ${count(c.topics.bars)} of ${c.topics.bars}: each bar partition keeps its snapshots in the state partition of the same number`);
    }
    return { bars: count(c.topics.bars), features: count(c.topics.features), predictions: predicting ? count(c.topics.predictions) : 1, dlq: count(c.topics.dlq) };
  }

  private async processBatch({ batch, resolveOffset, isRunning, isStale }: EachBatchPayload, generation: number): Promise<void> {
    if (this.stopping || batch.messages.length === 0) return;
    const p = batch.partition;
    const cp = this.checkpointer;
    const consumer = this.runtime.consumer;
    try {
      let proc = cp.processors.get(p);
      if (proc === undefined) {
        const start = await cp.restore(p, consumer!);
        if (generation !== this.runtime.generation) return;
        if (start !== Number(batch.firstOffset())) {
          // kafkajs may go on from where it had read before a rejoin; the states restored are
          // those of the last checkpoint, so read again from there.
          consumer?.seek({ topic: batch.topic, partition: p, offset: String(start) });
          return;
        }
        proc = cp.processors.get(p)!;
      }
      cp.begin();
      try {
        const tBatch = performance.now();
        let last = -1;
        for (const m of batch.messages) {
          if (!isRunning() || isStale()) break;
          const t0 = performance.now();
          proc.process({ partition: p, offset: Number(m.offset), key: m.key, value: m.value, timestamp: Number(m.timestamp) }, this.outputs);
          this.metrics.barSeconds.observe((performance.now() - t0) / 1000);
          last = Number(m.offset);
        }
        const tSend = performance.now();
        await this.outputs.flush();
        log.debug({ partition: p, messages: batch.messages.length, sinceProducedMs: Date.now() - Number(batch.messages[0]!.timestamp), processMs: tSend - tBatch, sendMs: performance.now() - tSend }, 'batch');
        if (last < 0) return;
        this.metrics.barsIn.inc(last - Number(batch.firstOffset()) + 1);
        this.metrics.skipped.inc(proc.skipped);
        proc.skipped = 0;
        this.metrics.lag.set({ partition: String(p) }, Math.max(0, Number(batch.highWatermark) - last - 1));
        resolveOffset(String(last));
        cp.acknowledged(p, last + 1, generation);
        // Backpressure: QuestDB is often the slowest output; beyond its requests in flight and one
        // more queued, the next batch waits (memory stays bounded); below that it does not.
        await this.featureWriter?.relieve();
        for (const w of this.predictionWriters.values()) await w.relieve();
      } finally {
        cp.end(this.runtime.consumer);
      }
    } catch (err) {
      // The states may be ahead of what was sent: forget them all and start over from the last
      // checkpoint with a new consumer.
      cp.reset(-1);
      throw new BatchFailed(`partition ${p}: ${(err as Error).message}`);
    }
  }

  /** Graceful stop (SIGTERM): no new batches, the ones in flight finish, a last checkpoint, leave the group. */
  async stop(): Promise<void> {
    if (this.stopping) return this.stopped;
    this.stopping = true;
    log.info('stopping: finishing the batches in flight, then a last checkpoint');
    if (this.commitTimer) clearInterval(this.commitTimer);
    const step = async (what: string, work: () => Promise<unknown>) => {
      const t0 = performance.now();
      await work().catch((err: Error) => log.warn({ err: err.message }, `${what} failed`));
      log.debug({ ms: Math.round(performance.now() - t0) }, what);
    };
    try {
      // A start that failed early (topics, QuestDB) has no runtime yet: nothing to checkpoint.
      if (this.runtime) {
        this.runtime.pause();
        // A failed last checkpoint only means the next start re-does the work since the one before.
        await step('last checkpoint', () => this.checkpointer.final(this.runtime.consumer));
        await this.runtime.close(step);
      }
      await step('snapshot writer close', async () => this.snapshotWriter?.close());
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
