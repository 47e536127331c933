import { Sender } from '@questdb/nodejs-client';
import type { Bar } from '../../bars/bar.js';
import type { QuestDbEndpoint } from './endpoint.js';

export const BARS_TABLE = 'bars_1m';

/**
 * Writes bars to a QuestDB table over ILP/HTTP, with the bar's own open time as the designated
 * timestamp so that the table's DEDUP UPSERT KEYS(ts, symbol) make re-sent bars harmless.
 */
export class QuestDbBarWriter {
  rows = 0;

  private constructor(
    private readonly sender: Sender,
    readonly table: string,
  ) {}

  static async open(endpoint: QuestDbEndpoint, table: string = BARS_TABLE): Promise<QuestDbBarWriter> {
    return new QuestDbBarWriter(await Sender.fromConfig(endpoint.ilp), table);
  }

  async write(bars: readonly Bar[]): Promise<void> {
    const s = this.sender;
    for (const bar of bars) {
      await s
        .table(this.table)
        .symbol('symbol', bar.symbol)
        .floatColumn('open', bar.open)
        .floatColumn('high', bar.high)
        .floatColumn('low', bar.low)
        .floatColumn('close', bar.close)
        .floatColumn('volume', bar.volume)
        .at(bar.ts, 'ms');
    }
    this.rows += bars.length;
  }

  /** Sends whatever is buffered and waits for QuestDB to acknowledge it. */
  async flush(): Promise<void> {
    await this.sender.flush();
  }

  /** Flushes what is buffered, and releases the connection even when that flush fails. */
  async close(): Promise<void> {
    try {
      await this.sender.flush();
    } finally {
      await this.sender.close();
    }
  }
}
