import type { Float64, RecordBatch } from 'apache-arrow';
import type { FeatureSet } from '../../operators/featureSet.js';
import type { FeatureRow } from '../../operators/rx.js';
import type { QuestDbEndpoint } from '../questdb/endpoint.js';
import { QuestDbFeatureWriter, ensureFeatureTable } from '../questdb/featureWriter.js';
import { QuestDb } from '../questdb/questDb.js';
import { checkTableName } from '../../topology/topology.js';
import { featureBatches } from './datasetFiles.js';
import type { SymbolOutput } from './replayTypes.js';

export interface BackfillResult {
  table: string;
  /** Rows sent in this run. */
  sent: number;
  /** Rows skipped because the table already held them (an earlier, interrupted run). */
  skipped: number;
  /** Symbols whose stored rows did not match a prefix of this run's rows, so were sent again whole. */
  resent: string[];
  rowsPerSecond: number;
}

/**
 * Writes a replay's rows into a QuestDB features table, resumably. What an earlier run stored is
 * found per symbol (count and last ts, after its WAL is applied); when the stored rows are exactly
 * this run's rows up to that ts, only the rows after it are sent. Otherwise (a hole left by a
 * request that failed while a later one succeeded, or rows of another input) the symbol is sent
 * whole: DEDUP UPSERT KEYS(ts, symbol) makes re-sent rows replace themselves, so either way the
 * table ends as after one uninterrupted run.
 */
export async function backfillQuestDb(
  endpoint: QuestDbEndpoint,
  table: string,
  featureSet: FeatureSet,
  outputs: readonly SymbolOutput[],
  onRows?: (rows: number) => void,
): Promise<BackfillResult> {
  checkTableName(table);
  const db = new QuestDb(endpoint);
  let writer: QuestDbFeatureWriter | null = null;
  const started = performance.now();
  let sent = 0;
  let skipped = 0;
  const resent: string[] = [];
  try {
    await ensureFeatureTable(db, table, featureSet);
    await db.waitForWal(table);
    const stored = await storedRows(db, table);
    writer = await QuestDbFeatureWriter.open(endpoint, featureSet, { table });
    const row: FeatureRow = { symbol: '', ts: 0, values: new Float64Array(featureSet.columns.length), schemaHash: featureSet.schemaHash };
    const w = writer;
    /** Sends the symbol's rows whose ts is in (after, upTo]; returns how many rows were at or before `after`. */
    const send = async (out: SymbolOutput, after: number, upTo: number): Promise<number> => {
      row.symbol = out.symbol;
      let before = 0;
      for await (const batch of featureBatches([out])) {
        const ts = batch.getChildAt(0)!.data[0]!.values as BigInt64Array;
        const columns = columnValues(batch);
        for (let i = 0; i < batch.numRows; i++) {
          const t = Number(ts[i]!);
          if (t <= after) {
            before++;
            continue;
          }
          if (t > upTo) break;
          row.ts = t;
          for (let c = 0; c < columns.length; c++) row.values[c] = columns[c]![i]!;
          w.add(row);
          sent++;
        }
        await w.flush();
        onRows?.(sent + skipped);
      }
      return before;
    };
    for (const out of outputs) {
      const have = stored.get(out.symbol);
      if (have === undefined) {
        await send(out, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
        continue;
      }
      // One pass sends what comes after the stored rows and counts ours up to them; only when the
      // counts differ (a hole) is the file read again, for the rows up to the last stored one.
      const ours = await send(out, have.last, Number.POSITIVE_INFINITY);
      if (ours === have.count) {
        skipped += ours;
      } else {
        resent.push(out.symbol);
        await send(out, Number.NEGATIVE_INFINITY, have.last);
      }
    }
    await writer.close();
    writer = null;
  } finally {
    await writer?.close().catch(() => undefined);
    await db.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { table, sent, skipped, resent, rowsPerSecond: seconds > 0 ? Math.round(sent / seconds) : 0 };
}

/** The float64 values of a batch's feature columns (NaN where null: the writer stores NaN there). */
function columnValues(batch: RecordBatch): Float64Array[] {
  const out: Float64Array[] = [];
  for (let c = 2; c < batch.numCols; c++) out.push(batch.getChildAt<Float64>(c)!.data[0]!.values);
  return out;
}

async function storedRows(db: QuestDb, table: string): Promise<Map<string, { count: number; last: number }>> {
  const rows = await db.query<{ symbol: string; n: string | number; last: number }>(`SELECT symbol, count() n, max(ts) last FROM ${table} GROUP BY symbol`);
  return new Map(rows.map((r) => [r.symbol, { count: Number(r.n), last: r.last }]));
}
