import type { Admin, Consumer } from 'kafkajs';
import { logger } from '../../log.js';
import type { LiveMetrics } from './liveMetrics.js';
import type { LiveProcessor } from './liveProcessor.js';
import type { LiveSymbol } from './liveSymbol.js';
import type { StateTopic } from './stateTopic.js';

const log = logger('live');

export interface CheckpointerOptions {
  admin: Admin;
  state: StateTopic;
  metrics: LiveMetrics;
  /** The bar topic and how a group without committed offsets starts on it. */
  topic: string;
  groupId: string;
  fromBeginning: boolean;
  intervalMs: number;
  newProcessor: () => LiveProcessor;
  /** Makes the outputs written so far durable (QuestDB): before snapshots that cover them are written. */
  drainOutputs: () => Promise<void>;
}

/**
 * Restores partitions from the state topic and checkpoints them: the state of every assigned
 * partition of the current group generation, what has been acknowledged of it, and when it can be
 * captured.
 *
 * Every `intervalMs` each partition with progress is checkpointed, one partition at a time, in two
 * halves. Captured at once, when no batch is between being processed and being acknowledged (the
 * fetch cycle's batches have all been sent and acknowledged, so every output of the captured
 * messages is in Kafka): the offset reached and exact snapshots of the partition's symbols changed
 * since its last checkpoint. Persisted in the background while batches go on: outputs drained,
 * snapshots written (SnapshotWriter, on a thread of its own), then the offset committed. In that
 * order, so that a committed offset is always covered by snapshots, and a snapshot by its outputs.
 * One persists at a time; a failed one gives its symbols back to the next.
 *
 * Captured between fetch cycles rather than between partitions' batches, and one partition per
 * quiet moment, so a checkpoint falls after a burst's outputs, not inside the burst: capturing the
 * snapshots of 1,000 symbols takes 100-450 ms of the event loop (docs/benchmarks.md).
 */
export class Checkpointer {
  /** Processors of the partitions assigned in the current generation. */
  readonly processors = new Map<number, LiveProcessor>();
  /** Next offset to commit per partition, for the current generation. */
  private readonly progress = new Map<number, number>();
  private generation = 0;
  /** Batches processed and not yet acknowledged (any generation). */
  private inFlight = 0;
  private due = false;
  private lastCapture = performance.now();
  private persisting: Promise<void> | null = null;
  /** Partitions of the checkpoint under way still to capture, one per quiet moment. */
  private pendingCapture: number[] = [];

  constructor(private readonly o: CheckpointerOptions) {}

  /** A new group generation (or a restart): the states of the last one are dropped. */
  reset(generation: number): void {
    this.generation = generation;
    this.processors.clear();
    this.progress.clear();
    this.pendingCapture = [];
  }

  /**
   * Restores a partition's states from the state topic and returns the offset to read from: the
   * group's committed offset. With none, snapshots belong to another group or an earlier run that
   * never committed, so they are ignored and the start is the beginning (or the end) of the
   * partition, committed at once so that a restart before the first checkpoint starts there too.
   */
  async restore(p: number, consumer: Consumer): Promise<number> {
    const o = this.o;
    const generation = this.generation;
    const [committed] = (await o.admin.fetchOffsets({ groupId: o.groupId, topics: [o.topic] }))[0]!.partitions.filter((x) => x.partition === p);
    let start = Number(committed?.offset ?? -1);
    const proc = o.newProcessor();
    if (start < 0) {
      const ends = await o.admin.fetchTopicOffsets(o.topic);
      const end = ends.find((e) => e.partition === p)!;
      start = Number(o.fromBeginning ? end.low : end.high);
      await consumer.commitOffsets([{ topic: o.topic, partition: p, offset: String(start) }]);
      const ignored = o.state.snapshots(p).length;
      if (ignored > 0) log.warn({ partition: p, ignored }, 'no committed offset: snapshots in the state topic are from another group or run, ignored');
      log.info({ partition: p, from: start }, 'partition starts without state (no committed offset)');
    } else {
      await o.state.catchUp([p]);
      const snapshots = o.state.snapshots(p);
      for (const [symbol, bytes] of snapshots) proc.restore(symbol, bytes);
      o.metrics.restores.inc(snapshots.length);
      log.info({ partition: p, from: start, symbols: snapshots.length }, 'partition restored');
    }
    if (generation === this.generation) this.processors.set(p, proc);
    return start;
  }

  /** A batch starts being processed: no capture until it is acknowledged. */
  begin(): void {
    this.inFlight++;
  }

  /** The batch's outputs were acknowledged: messages up to `next` (exclusive) are done. */
  acknowledged(p: number, next: number, generation: number): void {
    if (generation === this.generation) this.progress.set(p, next);
  }

  /** The batch is over (acknowledged or failed); the last one of a fetch cycle captures a due checkpoint. */
  end(consumer: Consumer | null): void {
    this.inFlight--;
    if (this.due && this.inFlight === 0 && consumer !== null) this.capture(consumer);
  }

  /** The timer: a checkpoint is due every `intervalMs`; taken now when no batch is in flight (quiet times). */
  tick(consumer: Consumer | null): void {
    if (performance.now() - this.lastCapture >= this.o.intervalMs) this.due = true;
    if (this.due && this.inFlight === 0 && consumer !== null) this.capture(consumer);
  }

  /** The last checkpoint at a stop: once nothing is in flight, capture and persist what is left. */
  async final(consumer: Consumer | null): Promise<void> {
    while (this.inFlight > 0) await new Promise((r) => setTimeout(r, 10));
    await this.persisting;
    if (consumer === null) return;
    this.pendingCapture = [];
    this.due = true;
    do {
      this.capture(consumer);
      await this.persisting;
    } while (this.due);
  }

  /**
   * Takes one partition's checkpoint: the first due partition with progress. A checkpoint of every
   * partition at once held the event loop for the snapshots of all dirty symbols (1,000 symbols:
   * 250-450 ms, and the next burst waited behind it); one partition at a time is a fraction of
   * that, and the guarantees are per partition anyway (its committed offset covered by its
   * snapshots). The rest are taken at the next quiet moments.
   */
  private capture(consumer: Consumer): void {
    if (this.persisting !== null) return; // still due: the next quiet moment after it takes it
    if (this.pendingCapture.length === 0) {
      this.lastCapture = performance.now();
      this.pendingCapture = [...this.progress.keys()].sort((a, b) => a - b);
    }
    let p = this.pendingCapture.shift();
    while (p !== undefined && !this.progress.has(p)) p = this.pendingCapture.shift();
    if (this.pendingCapture.length === 0) this.due = false;
    if (p === undefined) return;
    const o = this.o;
    const generation = this.generation;
    const offset = this.progress.get(p)!;
    this.progress.delete(p);
    const t0 = performance.now();
    const proc = this.processors.get(p);
    const states = proc?.takeDirty() ?? [];
    const values = states.map((st: LiveSymbol) => ({ symbol: st.symbol, value: st.snapshot() }));
    const t1 = performance.now();
    const partition = p;
    this.persisting = (async () => {
      await o.drainOutputs();
      const t2 = performance.now();
      if (values.length > 0) await o.state.write(partition, values);
      if (generation !== this.generation) return;
      await consumer.commitOffsets([{ topic: o.topic, partition, offset: String(offset) }]);
      o.metrics.commits.inc();
      log.debug({ partition, symbols: values.length, captureMs: t1 - t0, drainMs: t2 - t1, writeMs: performance.now() - t2 }, 'checkpoint');
    })()
      .catch((err: Error) => {
        if (proc !== undefined && this.processors.get(partition) === proc) proc.markDirty(states);
        // An offset not committed stays to be committed by the next checkpoint (unless a newer one came).
        if (generation === this.generation && !this.progress.has(partition)) this.progress.set(partition, offset);
        log.warn({ partition, err: err.message }, 'checkpoint failed; its symbols go into the next one');
      })
      .finally(() => {
        this.persisting = null;
      });
  }

  describe(): { restored: number[] } {
    return { restored: [...this.processors.keys()].sort((a, b) => a - b) };
  }
}
