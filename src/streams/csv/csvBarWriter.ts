import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { dirname } from 'node:path';
import { type Bar, formatTs } from '../../bars/bar.js';
import { formatNumber } from '../../bars/numbers.js';

export const BAR_CSV_HEADER = 'ts,open,high,low,close,volume';

/** One bar as a line of the barflow CSV format (no symbol column), without the newline. */
export function formatBarCsv(bar: Bar): string {
  return `${formatTs(bar.ts)},${formatNumber(bar.open)},${formatNumber(bar.high)},${formatNumber(bar.low)},${formatNumber(bar.close)},${formatNumber(bar.volume)}`;
}

/**
 * Writes bars in the format of `shared/data` (`ts,open,high,low,close,volume`, ISO `Z` times,
 * shortest round-trip numbers), to a file or to stdout with `-`. Honours back-pressure.
 */
export class CsvBarWriter {
  private readonly out: WriteStream | NodeJS.WriteStream;
  rows = 0;

  constructor(readonly target: string) {
    if (target === '-') {
      this.out = process.stdout;
    } else {
      mkdirSync(dirname(target), { recursive: true });
      this.out = createWriteStream(target);
    }
    this.out.write(`${BAR_CSV_HEADER}\n`);
  }

  async write(bars: readonly Bar[]): Promise<void> {
    let text = '';
    for (const bar of bars) text += `${formatBarCsv(bar)}\n`;
    this.rows += bars.length;
    if (!this.out.write(text)) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    if (this.out === process.stdout) return;
    const out = this.out as WriteStream;
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}
