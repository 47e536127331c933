import { formatTs } from '../../bars/bar.js';
import type { FeatureSet } from '../../operators/featureSet.js';
import type { FeatureRow } from '../../operators/rx.js';
import type { FeatureSink } from '../featureSink.js';
import { TextFile } from '../textFile.js';

/**
 * Feature rows as CSV: `ts,symbol,<columns…>`, ts as ISO `Z` (the 1-minute bar's open time), a
 * missing value as an empty field, numbers exactly as JavaScript's String(x) prints them (shortest
 * round-trip form), so that the file reads back to the same float64 values (−0 reads back as 0).
 */
export class FeatureCsvWriter implements FeatureSink {
  private readonly out: TextFile;
  private chunk: string;
  rows = 0;

  constructor(path: string, featureSet: FeatureSet) {
    this.out = new TextFile(path);
    this.chunk = `ts,symbol,${featureSet.columns.map((c) => c.name).join(',')}\n`;
  }

  add(row: FeatureRow): void {
    let line = `${formatTs(row.ts)},${row.symbol}`;
    const v = row.values;
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      line += Number.isNaN(x) ? ',' : `,${String(x)}`;
    }
    this.chunk += `${line}\n`;
    this.rows++;
  }

  async flush(): Promise<void> {
    if (this.chunk === '') return;
    const text = this.chunk;
    this.chunk = '';
    await this.out.write(text);
  }

  async close(): Promise<void> {
    await this.flush();
    await this.out.close();
  }
}
