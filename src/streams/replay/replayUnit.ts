import { join } from 'node:path';
import { Subject } from 'rxjs';
import type { Bar } from '../../bars/bar.js';
import { type Reject, RejectCounts, type RejectReason, StrictRejectError } from '../../bars/rejects.js';
import { checkOrder } from '../../bars/validation.js';
import { type FeatureSet, loadFeatureSet } from '../../operators/featureSet.js';
import { type BarEvent, type FeatureRow, featureRows } from '../../operators/rx.js';
import { FeatureArrowWriter } from '../arrow/featureArrowWriter.js';
import { RejectFile } from '../rejectSink.js';
import { openBarSource, replayReject } from './barSources.js';
import type { InputResult, ReplayUnit, SymbolOutput, UnitConfig, UnitProgress, UnitResult } from './replayTypes.js';

/**
 * Rows per Arrow record batch in every replay output. Fixed (not derived from the worker count or
 * the input size) because batch boundaries are part of the file's bytes.
 */
export const REPLAY_BATCH_ROWS = 8192;

/** Splits a unit's feature rows into one temporary Arrow file per symbol. */
class SymbolSplitSink {
  private readonly writers = new Map<string, { writer: FeatureArrowWriter; out: SymbolOutput }>();

  constructor(
    private readonly featureSet: FeatureSet,
    private readonly dir: string,
    private readonly unit: number,
  ) {}

  add(row: FeatureRow): void {
    let entry = this.writers.get(row.symbol);
    if (entry === undefined) {
      // Symbols may hold / or :, so the file is named by position, not by symbol.
      const file = join(this.dir, `u${this.unit}-s${this.writers.size}.arrow`);
      entry = { writer: new FeatureArrowWriter(file, this.featureSet, REPLAY_BATCH_ROWS), out: { symbol: row.symbol, rows: 0, first: row.ts, last: row.ts, file } };
      this.writers.set(row.symbol, entry);
    }
    entry.writer.add(row);
    entry.out.rows++;
    entry.out.last = row.ts;
  }

  async close(): Promise<SymbolOutput[]> {
    const entries = [...this.writers.values()];
    await Promise.all(entries.map((e) => e.writer.close()));
    return entries.map((e) => e.out);
  }
}

/**
 * Runs one unit: its inputs in order through ONE `featureRows` pipeline, so each symbol's state
 * continues from file to file. (The live topology drives the same FeatureEngine per symbol from its
 * Kafka batches instead; the parity tests hold the two paths to the same bytes.) A bar that does not come
 * after its symbol's last bar of an earlier input is refused here, with the input that has it.
 */
export async function runUnit(unit: ReplayUnit, config: UnitConfig, onProgress?: (p: UnitProgress) => void): Promise<UnitResult> {
  const featureSet = loadFeatureSet(config.featureSetFile);
  const sink = new SymbolSplitSink(featureSet, config.tmpDir, unit.id);
  const rejectsPath = join(config.tmpDir, `u${unit.id}.rejects.jsonl`);
  const rejects = new RejectFile(rejectsPath);
  const events = new Subject<BarEvent>();
  let failure: unknown = null;
  events.pipe(featureRows(featureSet, { reuse: true })).subscribe({ next: (row) => sink.add(row), error: (err) => (failure = err) });
  const lastBars = new Map<string, Bar>();
  const inputs: InputResult[] = [];
  let rejected = 0;
  try {
    for (const [k, input] of unit.inputs.entries()) {
      const source = openBarSource(input, config.read, config.questdb);
      let bytes = 0;
      let rows = 0;
      const late = new RejectCounts();
      for await (const batch of source) {
        const extra: Reject[] = [];
        for (const bar of batch.bars) {
          // Within an input the reader has checked the order already; across inputs it is checked here.
          const violation = k > 0 ? checkOrder(lastBars.get(bar.symbol), bar) : null;
          if (violation !== null) {
            const reject = replayReject(source.name, bar, violation.reason, `${violation.detail} (an earlier input of this replay has it)`);
            if (config.read.strict) throw new StrictRejectError(reject);
            extra.push(reject);
            late.add(violation.reason);
            continue;
          }
          lastBars.set(bar.symbol, bar);
          events.next(bar);
        }
        if (failure !== null) throw failure;
        const refused = extra.length > 0 ? [...batch.rejects, ...extra] : batch.rejects;
        if (refused.length > 0) await rejects.write(refused);
        rejected += refused.length;
        onProgress?.({ bytes: source.bytesRead - bytes, rows: source.rowsRead - rows });
        bytes = source.bytesRead;
        rows = source.rowsRead;
      }
      const result = await source.result();
      result.bars -= late.total;
      for (const [reason, n] of Object.entries(late.toJSON()) as [RejectReason, number][]) result.rejects[reason] = (result.rejects[reason] ?? 0) + n;
      inputs.push(result);
    }
    events.complete();
    if (failure !== null) throw failure;
  } finally {
    await rejects.close();
  }
  const symbols = await sink.close();
  return { unit: unit.id, inputs, symbols, rejectsFile: rejected > 0 ? rejectsPath : null, rejects: rejected };
}
