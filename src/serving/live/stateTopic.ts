import type { Admin, Consumer, Kafka } from 'kafkajs';
import { logger } from '../../log.js';
import { LiveSymbol } from './liveSymbol.js';
import type { SnapshotWriter } from './snapshotWriter.js';

const log = logger('state-topic');

interface Stored {
  offset: number;
  value: Buffer;
}

/**
 * The compacted topic of per-symbol operator state. Each snapshot goes to the state partition with
 * the number of the bar partition it belongs to (written with an explicit partition, not by key
 * hash), so restoring one bar partition needs that one state partition.
 *
 * Reading: kafkajs cannot assign partitions by hand, so one consumer per process (in a group of its
 * own, never committing) reads the whole topic from the start and keeps, per symbol, the snapshot
 * with the highest input offset. It reads only while a restore waits for it, and rests (paused)
 * in between. Highest rather than last written: a process that lost its
 * partitions but did not know yet (a stale member) may write a snapshot after the new owner wrote
 * a later one; the older one must not win.
 */
export class StateTopic {
  private readonly byPartition = new Map<number, Map<string, Stored>>();
  /** Next offset to read per state partition. */
  private readonly position = new Map<number, number>();
  private readonly reader: Consumer;
  private readonly admin: Admin;
  private waiters: (() => void)[] = [];
  private stopping = false;
  /** catchUp calls under way (the reader is paused when there are none). */
  private readers = 0;

  constructor(
    kafka: Kafka,
    readonly topic: string,
    groupId: string,
    /** Writes snapshots from a thread of its own. */
    private readonly writer: SnapshotWriter,
  ) {
    this.reader = kafka.consumer({
      groupId,
      sessionTimeout: 30_000,
      maxBytesPerPartition: 8 << 20,
      maxWaitTimeInMs: 500,
      retry: { retries: 10, maxRetryTime: 10_000, restartOnFailure: async () => !this.stopping },
    });
    this.admin = kafka.admin();
  }

  async start(): Promise<void> {
    await this.admin.connect();
    await this.reader.connect();
    await this.reader.subscribe({ topic: this.topic, fromBeginning: true });
    await this.reader.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        let stored = this.byPartition.get(batch.partition);
        if (stored === undefined) this.byPartition.set(batch.partition, (stored = new Map()));
        for (const m of batch.messages) {
          if (m.key === null || m.value === null) continue;
          const symbol = m.key.toString('utf8');
          const offset = LiveSymbol.offsetOf(m.value);
          const have = stored.get(symbol);
          if (have === undefined || offset >= have.offset) stored.set(symbol, { offset, value: m.value });
        }
        const last = batch.messages.at(-1);
        if (last) this.position.set(batch.partition, Number(last.offset) + 1);
        this.wake();
      },
    });
    this.reader.pause([{ topic: this.topic }]);
  }

  /**
   * Resolves when everything written to these partitions before the call has been read, so a
   * restore sees the latest snapshots (ours included).
   */
  async catchUp(partitions: number[], timeoutMs = 60_000): Promise<void> {
    this.readers++;
    this.reader.resume([{ topic: this.topic }]);
    try {
      await this.readTo(partitions, timeoutMs);
    } finally {
      // Between restores the reader rests: reading our own snapshots back would double the traffic.
      if (--this.readers === 0) this.reader.pause([{ topic: this.topic }]);
    }
  }

  private async readTo(partitions: number[], timeoutMs: number): Promise<void> {
    const ends = await this.admin.fetchTopicOffsets(this.topic);
    const due = new Map(ends.map((e) => [e.partition, Number(e.high)]));
    const behind = () => partitions.filter((p) => (this.position.get(p) ?? lowOf(ends, p)) < (due.get(p) ?? 0));
    const deadline = Date.now() + timeoutMs;
    while (behind().length > 0) {
      if (Date.now() > deadline) throw new Error(`state topic ${this.topic}: partitions ${behind().join(', ')} not read to their end within ${timeoutMs / 1000} s`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
  }

  /** The latest snapshot of every symbol of a bar partition. */
  snapshots(partition: number): [string, Buffer][] {
    return [...(this.byPartition.get(partition) ?? new Map<string, Stored>())].map(([symbol, s]) => [symbol, s.value]);
  }

  /** Writes snapshots taken earlier (acks=all), in produce requests of a bounded size. */
  write(partition: number, snapshots: readonly { symbol: string; value: Buffer }[]): Promise<void> {
    return this.writer.write(this.topic, partition, snapshots);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    // The reader never commits, so nothing is lost by not waiting long for kafkajs to leave its
    // group (it can take a session timeout when a fetch is in flight).
    const left = this.reader.disconnect().catch((err: Error) => log.warn({ err: err.message }, 'state reader did not disconnect cleanly'));
    await Promise.race([left, new Promise((r) => setTimeout(r, 1000).unref())]);
    await this.admin.disconnect().catch(() => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

function lowOf(ends: { partition: number; low: string }[], p: number): number {
  return Number(ends.find((e) => e.partition === p)?.low ?? 0);
}
