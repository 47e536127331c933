import { rmSync } from 'node:fs';
import type { Reject } from '../bars/rejects.js';
import { TextFile } from './textFile.js';

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
  private out: TextFile | null = null;
  written = 0;

  constructor(readonly target: string) {
    rmSync(target, { force: true });
  }

  async write(rejects: readonly Reject[]): Promise<void> {
    if (rejects.length === 0) return;
    this.out ??= new TextFile(this.target);
    let text = '';
    for (const r of rejects) text += `${JSON.stringify(r)}\n`;
    this.written += rejects.length;
    await this.out.write(text);
  }

  async close(): Promise<void> {
    await this.out?.close();
    this.out = null;
  }
}
