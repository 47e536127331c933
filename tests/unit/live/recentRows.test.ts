import { beforeAll, describe, expect, it } from 'vitest';
import type { Bar } from '../../../src/bars/bar.js';
import type { Violation } from '../../../src/bars/rejects.js';
import { loadFeatureSet } from '../../../src/operators/featureSet.js';
import { encodeBar } from '../../../src/streams/kafka/barMessage.js';
import { type LiveMessage, type LiveOutput, LiveProcessor } from '../../../src/serving/live/liveProcessor.js';
import type { WindowSpec } from '../../../src/serving/live/recentRows.js';
import { featureTableFromTable } from '../../../src/training/featureTable.js';
import { WindowView } from '../../../src/training/views/windowView.js';
import { REAL_FILES, readAll } from '../../helpers/files.js';
import { Table, TimestampMillisecond, Utf8, makeVector, vectorFromArray } from 'apache-arrow';

const featureSet = loadFeatureSet();
const names = featureSet.columns.map((c) => c.name);
const columns = ['close_1m', 'rsi14_1m', 'atr14_5m'];
const spec: WindowSpec = { length: 8, columns: Int32Array.from(columns, (c) => names.indexOf(c)), maxGapMs: 60_000 };

class Windows implements LiveOutput {
  rows: { ts: number; values: Float64Array; window: Float64Array | null }[] = [];
  row(_s: string, ts: number, values: Float64Array, _m: LiveMessage, window: Float64Array | null): void {
    this.rows.push({ ts, values: values.slice(), window });
  }
  reject(_m: LiveMessage, v: Violation): void {
    throw new Error(`unexpected reject ${v.reason}`);
  }
  duplicate(): void {}
}

const message = (offset: number, bar: Bar): LiveMessage => ({ partition: 0, offset, key: Buffer.from(bar.symbol), value: Buffer.from(encodeBar(bar)), timestamp: 0 });

// ES futures: session gaps and missing minutes break windows, as WindowView breaks them.
let bars: Bar[] = [];
beforeAll(async () => {
  bars = (await readAll(REAL_FILES[1]!.file, { symbol: 'ES' })).bars.slice(0, 3000);
});

describe('live windows (RecentRows) against the batch WindowView', () => {
  it('are the batch windows, bit for bit, row by row; none where the batch has none; the same after a snapshot and restore mid-stream', () => {
    const straight = new Windows();
    const proc = new LiveProcessor(featureSet, 65536, spec);
    bars.forEach((b, i) => proc.process(message(i, b), straight));

    // The same rows as a table, and the batch view over it.
    const n = straight.rows.length;
    const vectors: Record<string, ReturnType<typeof makeVector>> = {
      ts: vectorFromArray(straight.rows.map((r) => r.ts), new TimestampMillisecond()),
      symbol: vectorFromArray(straight.rows.map(() => 'ES'), new Utf8()),
    };
    for (const c of columns) vectors[c] = makeVector(Float64Array.from(straight.rows, (r) => r.values[names.indexOf(c)]!));
    const arrow = new Table(vectors);
    arrow.schema.metadata.set('barflow.schema_hash', featureSet.schemaHash);
    const table = featureTableFromTable('live', arrow);
    const view = new WindowView(table, { columns, seqLen: spec.length, dtype: 'float64' });
    let compared = 0;
    let gaps = 0;
    for (let i = 0; i < n; i++) {
      const w = straight.rows[i]!.window;
      if (!view.isValid(i)) {
        expect(w, `row ${i}`).toBeNull();
        gaps++;
        continue;
      }
      const want = view.batch([i]).data;
      expect(Buffer.from(w!.buffer).equals(Buffer.from(want.buffer)), `row ${i}`).toBe(true);
      compared++;
    }
    expect(compared).toBeGreaterThan(2000);
    expect(gaps).toBeGreaterThan(spec.length); // the data has breaks, not only the first rows

    // Restart at every 250th message from the snapshots taken there.
    for (const cut of [250, 1234, 2500]) {
      const first = new LiveProcessor(featureSet, 65536, spec);
      bars.slice(0, cut).forEach((b, i) => first.process(message(i, b), new Windows()));
      const snaps = first.takeDirty().map((s) => [s.symbol, s.snapshot()] as const);
      const second = new LiveProcessor(featureSet, 65536, spec);
      for (const [symbol, bytes] of snaps) second.restore(symbol, bytes);
      const after = new Windows();
      bars.forEach((b, i) => second.process(message(i, b), after));
      const tail = straight.rows.slice(straight.rows.length - after.rows.length);
      after.rows.forEach((r, k) => {
        const w = tail[k]!.window;
        expect(r.window === null ? null : Buffer.from(r.window.buffer).toString('hex'), `cut ${cut}, row ${k}`).toBe(w === null ? null : Buffer.from(w.buffer).toString('hex'));
      });
    }
  });
});

describe('state snapshots', () => {
  it('restore snapshots of the first and second formats (no recent rows; no regime state), written before window models and regimes, to the same engine state', async () => {
    const { LiveSymbol } = await import('../../../src/serving/live/liveSymbol.js');
    const proc = new LiveProcessor(featureSet, 65536);
    bars.slice(0, 500).forEach((b, i) => proc.process(message(i, b), new Windows()));
    const v3 = proc.takeDirty()[0]!.snapshot();
    // Format 1: a 9-value header (format 1) and the engine right after it; format 2: a 10-value header.
    const v1 = Buffer.concat([v3.subarray(0, 72), v3.subarray(88)]);
    v1.writeDoubleLE(1, 0);
    const v2 = Buffer.concat([v3.subarray(0, 80), v3.subarray(88)]);
    v2.writeDoubleLE(2, 0);
    const a = LiveSymbol.restore('ES', v3, featureSet);
    for (const old of [v1, v2]) {
      const b = LiveSymbol.restore('ES', old, featureSet, spec);
      expect(Buffer.from(b.engine!.snapshot()).equals(Buffer.from(a.engine!.snapshot()))).toBe(true);
      expect(b.offset).toBe(a.offset);
      expect(b.recent!.window()).toBeNull();
    }
    expect(() => LiveSymbol.restore('ES', Buffer.concat([Buffer.from(new Float64Array([7]).buffer), v3.subarray(8)]), featureSet)).toThrow(/format 7, expected 3/);
  });
});
