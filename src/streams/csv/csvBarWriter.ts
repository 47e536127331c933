import { type Bar, formatTs } from '../../bars/bar.js';
import { formatNumber } from '../../bars/numbers.js';
import { TextFile } from '../textFile.js';

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
  private readonly out: TextFile;
  private header = `${BAR_CSV_HEADER}\n`;
  rows = 0;

  constructor(readonly target: string) {
    this.out = new TextFile(target);
  }

  async write(bars: readonly Bar[]): Promise<void> {
    let text = this.header;
    this.header = '';
    for (const bar of bars) text += `${formatBarCsv(bar)}\n`;
    this.rows += bars.length;
    await this.out.write(text);
  }

  async close(): Promise<void> {
    if (this.header !== '') await this.out.write(this.header);
    await this.out.close();
  }
}
