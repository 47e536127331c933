import type { Bar } from '../../bars/bar.js';
import { BARS_TABLE } from './barWriter.js';
import type { QuestDb } from './questDb.js';
import { checkTableName } from '../../topology/topology.js';

export interface BarQuery {
  symbol: string;
  /** Inclusive lower bound, epoch ms. */
  from?: number;
  /** Exclusive upper bound, epoch ms. */
  to?: number;
  table?: string;
  pageSize?: number;
}

type BarRow = Omit<Bar, 'symbol'> & Record<string, unknown>;


/**
 * Reads a symbol's bars back in time order, one page at a time (keyset pagination on the
 * designated timestamp, which dedup keeps unique per symbol), so memory stays constant however
 * large the table is.
 */
export async function* readBars(db: QuestDb, q: BarQuery): AsyncGenerator<Bar[]> {
  const table = checkTableName(q.table ?? BARS_TABLE);
  const pageSize = q.pageSize ?? 50_000;
  let lower = q.from;
  let inclusive = true;
  for (;;) {
    const conditions = ['symbol = $1'];
    const params: unknown[] = [q.symbol];
    if (lower !== undefined) {
      params.push(toMicros(lower));
      conditions.push(inclusive ? `ts >= $${params.length}` : `ts > $${params.length}`);
    }
    if (q.to !== undefined) {
      params.push(toMicros(q.to));
      conditions.push(`ts < $${params.length}`);
    }
    const rows = await db.query<BarRow>(
      `SELECT ts, open, high, low, close, volume FROM ${table} WHERE ${conditions.join(' AND ')} ORDER BY ts LIMIT ${pageSize}`,
      params,
    );
    if (rows.length === 0) return;
    yield rows.map((r) => ({ symbol: q.symbol, ts: r.ts, open: r.open, high: r.high, low: r.low, close: r.close, volume: r.volume }));
    if (rows.length < pageSize) return;
    lower = rows[rows.length - 1]!.ts;
    inclusive = false;
  }
}

/** QuestDB compares TIMESTAMP with integer microseconds; text avoids 2^53 issues for far bounds. */
function toMicros(ms: number): string {
  return (BigInt(Math.trunc(ms)) * 1000n).toString();
}
