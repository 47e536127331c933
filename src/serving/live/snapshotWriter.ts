import { Worker } from 'node:worker_threads';
import { compiledWorkerScript } from '../../paths.js';

export interface SnapshotThreadSettings {
  brokers: string[];
  clientId: string;
  retries: number;
}

export type SnapshotThreadRequest =
  | { type: 'write'; id: number; topic: string; partition: number; snapshots: { symbol: string; value: Uint8Array }[] }
  | { type: 'close'; id: number };

type SnapshotThreadReply = { type: 'done' | 'closed'; id: number } | { type: 'error'; id: number; message: string };

/**
 * Writes checkpoint snapshots to the state topic from a thread of its own. A checkpoint of 1,000
 * symbols is about 22 MB; encoding, checksumming and sending it with kafkajs took 300 to 700 ms
 * of the event loop, during which the next burst's bars waited (docs/benchmarks.md). On its own
 * thread (and its own connection) that work runs beside the bursts. The snapshots themselves are
 * still captured on the main thread, between fetch cycles, where the states are consistent with the
 * offsets. A thread that dies fails the writes it held; the next write starts a new one.
 */
export class SnapshotWriter {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

  constructor(private readonly settings: SnapshotThreadSettings) {}

  write(topic: string, partition: number, snapshots: readonly { symbol: string; value: Uint8Array }[]): Promise<void> {
    // Copied to the thread (structured clone), not transferred: a small Buffer can share its memory
    // with others in Node's pool.
    return this.request({ type: 'write', id: this.nextId++, topic, partition, snapshots: snapshots.map(({ symbol, value }) => ({ symbol, value })) });
  }

  /**
   * After a failure of the topology (a broker gone, a batch that threw): ends the thread at once,
   * failing the writes it held, so a checkpoint stuck in a send to the old connection gives way to
   * the next one; the next write starts a new thread and producer (as the outputs get a new one).
   */
  reset(): void {
    const worker = this.worker;
    if (worker === null) return;
    this.worker = null;
    for (const p of this.pending.values()) p.reject(new Error('snapshot writer reset after a failure'));
    this.pending.clear();
    void worker.terminate();
  }

  /** Waits for the writes sent so far, disconnects the thread's producer and ends the thread. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (worker === null) return;
    await Promise.race([this.request({ type: 'close', id: this.nextId++ }).catch(() => undefined), new Promise((r) => setTimeout(r, 5000).unref())]);
    this.worker = null;
    await worker.terminate();
  }

  private request(msg: SnapshotThreadRequest): Promise<void> {
    const worker = this.thread();
    return new Promise<void>((resolveWrite, reject) => {
      this.pending.set(msg.id, { resolve: resolveWrite, reject });
      worker.postMessage(msg);
    });
  }

  private thread(): Worker {
    if (this.worker !== null) return this.worker;
    const worker = new Worker(compiledWorkerScript('serving/live/snapshotWriterThread.js', 'the snapshot writer thread'), { workerData: this.settings });
    worker.on('message', (reply: SnapshotThreadReply) => {
      const p = this.pending.get(reply.id);
      if (p === undefined) return;
      this.pending.delete(reply.id);
      if (reply.type === 'error') p.reject(new Error(`state topic write: ${reply.message}`));
      else p.resolve();
    });
    const lost = (why: string) => {
      // A thread ended by reset or close has already settled its writes; the pending ones are a newer thread's.
      if (this.worker !== worker) return;
      this.worker = null;
      for (const p of this.pending.values()) p.reject(new Error(`snapshot writer thread ${why}`));
      this.pending.clear();
    };
    worker.on('error', (err) => lost(`failed: ${err.message}`));
    worker.on('exit', (code) => lost(`exited (${code})`));
    // The thread never keeps the process alive on its own: a stop closes it, a crash need not wait for it.
    worker.unref();
    this.worker = worker;
    return worker;
  }
}
