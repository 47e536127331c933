import type { Bar } from '../bars/bar.js';
import type { CsvBarReader, CsvReadSummary } from './csv/csvBarReader.js';
import type { RejectSink } from './rejectSink.js';

/** Anything bars can be written to in batches (QuestDB, Kafka, a CSV file). */
export interface BarSink {
  write(bars: readonly Bar[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Moves every batch of a reader into a bar sink and its rejects into a reject sink. Both sinks are
 * closed (flushed) even when the reader stops with an error, so the valid bars read before a
 * strict-mode reject or a broken file still land.
 */
export async function pumpBars(
  reader: CsvBarReader,
  sink: BarSink,
  rejects: RejectSink,
  onBatch?: (reader: CsvBarReader) => void,
): Promise<CsvReadSummary> {
  let failure: unknown = null;
  try {
    for await (const batch of reader) {
      // Rejects first: if the bar sink then fails, the batch's rejects are already on record.
      if (batch.rejects.length > 0) await rejects.write(batch.rejects);
      if (batch.bars.length > 0) await sink.write(batch.bars);
      onBatch?.(reader);
    }
  } catch (err) {
    failure = err;
  }
  const closing = await Promise.allSettled([sink.close(), rejects.close()]);
  if (failure !== null) throw failure;
  for (const c of closing) if (c.status === 'rejected') throw c.reason;
  return reader.summary();
}
