import { createWriteStream, mkdirSync, rmSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { dirname } from 'node:path';
import type { Reject } from '../bars/rejects.js';

/** Where refused records go. Implementations must keep every reject they are given. */
export interface RejectSink {
  /** Human-readable destination, for summaries. */
  readonly target: string;
  write(rejects: readonly Reject[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * JSON Lines file, one reject per line: `{"source","line","reason","detail","raw"}`. Each run
 * replaces the file, and it is only created when there is something to write, so a file left from
 * an earlier run never passes for this run's rejects and a clean input leaves no file behind.
 */
export class RejectFile implements RejectSink {
  private out: WriteStream | null = null;
  written = 0;

  constructor(readonly target: string) {
    rmSync(target, { force: true });
  }

  async write(rejects: readonly Reject[]): Promise<void> {
    if (rejects.length === 0) return;
    if (this.out === null) {
      mkdirSync(dirname(this.target), { recursive: true });
      this.out = createWriteStream(this.target);
    }
    let text = '';
    for (const r of rejects) text += `${JSON.stringify(r)}\n`;
    this.written += rejects.length;
    if (!this.out.write(text)) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    if (this.out === null) return;
    const out = this.out;
    this.out = null;
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}
