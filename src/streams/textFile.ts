import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { dirname } from 'node:path';

/**
 * A text output file (or stdout for `-`) written in chunks with back-pressure. A write error (disk
 * full, permission) is caught and thrown from the next `write` or `close` with the path, instead
 * of crashing the process from an unhandled stream event.
 */
export class TextFile {
  private readonly out: WriteStream | NodeJS.WriteStream;
  private failure: Error | null = null;

  constructor(readonly path: string) {
    if (path === '-') {
      this.out = process.stdout;
    } else {
      mkdirSync(dirname(path), { recursive: true });
      this.out = createWriteStream(path);
    }
    this.out.on('error', (err: Error) => {
      this.failure ??= new Error(`cannot write ${path}: ${err.message}`);
    });
  }

  async write(text: string): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.out.write(text)) await Promise.race([once(this.out, 'drain'), once(this.out, 'error')]);
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    if (this.out !== process.stdout) {
      const out = this.out as WriteStream;
      await new Promise<void>((resolve) => out.end(() => resolve()));
    }
    if (this.failure) throw this.failure;
  }
}
