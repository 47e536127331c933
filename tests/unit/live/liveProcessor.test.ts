import fc from 'fast-check';
import { firstValueFrom, from, toArray } from 'rxjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Bar } from '../../../src/bars/bar.js';
import type { Violation } from '../../../src/bars/rejects.js';
import { loadFeatureSet } from '../../../src/operators/featureSet.js';
import { type BarEvent, featureRows } from '../../../src/operators/rx.js';
import { encodeBar, encodeWatermark } from '../../../src/streams/kafka/barMessage.js';
import { type LiveMessage, type LiveOutput, LiveProcessor } from '../../../src/serving/live/liveProcessor.js';
import { LiveSymbol } from '../../../src/serving/live/liveSymbol.js';
import { DATA_SETS, type DataFile, REAL_FILES, readAll } from '../../helpers/files.js';

const featureSet = loadFeatureSet();

/** Collects a processor's outputs, rows copied (the engine rewrites its buffer). */
class Collected implements LiveOutput {
  rows: { symbol: string; ts: number; values: Float64Array; offset: number }[] = [];
  rejects: { offset: number; violation: Violation }[] = [];
  duplicates: number[] = [];
  row(symbol: string, ts: number, values: Float64Array, m: LiveMessage): void {
    this.rows.push({ symbol, ts, values: values.slice(), offset: m.offset });
  }
  reject(m: LiveMessage, violation: Violation): void {
    this.rejects.push({ offset: m.offset, violation });
  }
  duplicate(m: LiveMessage): void {
    this.duplicates.push(m.offset);
  }
}

const message = (offset: number, key: string, value: string): LiveMessage => ({ partition: 0, offset, key: Buffer.from(key), value: Buffer.from(value), timestamp: 0 });

/** Two real series interleaved in time on one partition, as the bar topic holds them. */
async function interleaved(files: readonly DataFile[]): Promise<Bar[]> {
  const a = (await readAll(files[0]!.file, { symbol: 'A' })).bars.slice(0, 1500);
  const b = (await readAll(files[1]!.file, { symbol: 'B' })).bars.slice(0, 1500);
  return [...a, ...b].sort((x, y) => x.ts - y.ts || x.symbol.localeCompare(y.symbol));
}
let stream: Bar[] = [];
beforeAll(async () => {
  stream = await interleaved(REAL_FILES);
});

function run(proc: LiveProcessor, bars: readonly Bar[], fromOffset = 0, out = new Collected()): Collected {
  bars.forEach((bar, i) => {
    if (i >= fromOffset) proc.process(message(i, bar.symbol, encodeBar(bar)), out);
  });
  return out;
}

function expectSameRows(got: Collected['rows'], want: Collected['rows']): void {
  expect(got.length).toBe(want.length);
  got.forEach((r, i) => {
    const w = want[i]!;
    expect([r.symbol, r.ts]).toEqual([w.symbol, w.ts]);
    const bad = r.values.findIndex((v, c) => !Object.is(v, w.values[c]));
    if (bad >= 0) throw new Error(`row ${i} (${r.symbol} ${r.ts}) column ${featureSet.columns[bad]!.name}: ${r.values[bad]} vs ${w.values[bad]}`);
  });
}

describe.each(DATA_SETS)('LiveProcessor against replay ($name)', ({ files }) => {
  let stream: Bar[] = [];
  beforeAll(async () => {
    stream = await interleaved(files);
  });

  it('gives the rows of the replay operator (featureRows), bit for bit', async () => {
    const live = run(new LiveProcessor(featureSet, 65536), stream);
    const replay = await firstValueFrom(from(stream as BarEvent[]).pipe(featureRows(featureSet), toArray()));
    expectSameRows(
      live.rows,
      replay.map((r) => ({ symbol: r.symbol, ts: r.ts, values: r.values, offset: 0 })),
    );
    expect(live.rejects).toEqual([]);
  });

  it('restored from a checkpoint and re-delivered from any committed offset at or before it, continues with the same rows and skips what the snapshot covers', () => {
    const whole = run(new LiveProcessor(featureSet, 65536), stream);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: stream.length - 1 }), fc.integer({ min: 0, max: 50 }), (checkpoint, back) => {
        const first = new LiveProcessor(featureSet, 65536);
        run(first, stream.slice(0, checkpoint));
        const snapshots = first.takeDirty().map((s) => [s.symbol, s.snapshot()] as const);
        // The crash: a new processor, the snapshots, and messages again from the committed offset.
        const committed = Math.max(0, checkpoint - back);
        const second = new LiveProcessor(featureSet, 65536);
        for (const [symbol, bytes] of snapshots) second.restore(symbol, bytes);
        const out = run(second, stream, committed);
        expect(second.skipped).toBe(checkpoint - committed);
        expectSameRows(out.rows, whole.rows.filter((r) => r.offset >= checkpoint));
      }),
      { numRuns: 25 },
    );
  });
});

describe('LiveProcessor', () => {
  it('applies the ordering rules: late and conflicting duplicates are rejected, exact duplicates dropped, and the rows stay those of the valid bars', () => {
    const bars = stream.filter((b) => b.symbol === 'A').slice(0, 200);
    const proc = new LiveProcessor(featureSet, 65536);
    const out = new Collected();
    let offset = 0;
    const send = (value: string) => proc.process(message(offset++, 'A', value), out);
    bars.forEach((b, i) => {
      send(encodeBar(b));
      if (i === 50) send(encodeBar(b)); // exact duplicate
      if (i === 60) send(encodeBar({ ...b, volume: b.volume + 1 })); // conflicting duplicate
      if (i === 70) send(encodeBar(bars[10]!)); // late
    });
    expect(out.duplicates.length).toBe(1);
    expect(out.rejects.map((r) => r.violation.reason)).toEqual(['conflicting_duplicate', 'late']);
    const clean = run(new LiveProcessor(featureSet, 65536), bars);
    expectSameRows(out.rows, clean.rows);
  });

  it('a watermark message closes quiet buckets exactly as a watermark record in replay', async () => {
    const bars = stream.filter((b) => b.symbol === 'A').slice(0, 120);
    const cut = 61;
    const wm = bars[cut]!.ts + 7 * 60_000;
    const events: BarEvent[] = [...bars.slice(0, cut), { kind: 'watermark', symbol: 'A', ts: wm }, ...bars.slice(cut).map((b) => ({ ...b, ts: b.ts + 10 * 60_000 }))];
    const replay = await firstValueFrom(from(events).pipe(featureRows(featureSet), toArray()));
    const proc = new LiveProcessor(featureSet, 65536);
    const out = new Collected();
    events.forEach((e, i) => proc.process(message(i, 'A', 'kind' in e ? encodeWatermark(e.symbol, e.ts) : encodeBar(e)), out));
    expectSameRows(
      out.rows,
      replay.map((r) => ({ symbol: r.symbol, ts: r.ts, values: r.values, offset: 0 })),
    );
    // A bar before the watermark is late.
    proc.process(message(events.length, 'A', encodeBar({ ...bars[cut]!, ts: wm - 60_000 })), out);
    expect(out.rejects.at(-1)?.violation.reason).toBe('late');
  });

  it('refuses oversized, unkeyed and key-mismatched messages with their reasons', () => {
    const proc = new LiveProcessor(featureSet, 300);
    const out = new Collected();
    const b = stream[0]!;
    proc.process(message(0, b.symbol, encodeBar(b).replace('}', `,"pad":"${'x'.repeat(400)}"}`)), out);
    proc.process({ partition: 0, offset: 1, key: null, value: Buffer.from(encodeBar(b)), timestamp: 0 }, out);
    proc.process(message(2, 'OTHER', encodeBar(b)), out);
    proc.process({ partition: 0, offset: 3, key: Buffer.from(b.symbol), value: null, timestamp: 0 }, out);
    expect(out.rejects.map((r) => r.violation.reason)).toEqual(['oversized_message', 'malformed_record', 'malformed_record', 'malformed_record']);
    expect(out.rows.length).toBe(0);
  });
});

describe('LiveSymbol snapshots', () => {
  it('round-trip offset, last bar and engine, and a key without a bar', () => {
    const proc = new LiveProcessor(featureSet, 65536);
    run(proc, stream.slice(0, 300));
    proc.process(message(300, 'NOBAR', 'not json'), new Collected());
    for (const s of proc.takeDirty()) {
      const back = LiveSymbol.restore(s.symbol, s.snapshot(), featureSet);
      expect(back.offset).toBe(s.offset);
      expect(LiveSymbol.offsetOf(s.snapshot())).toBe(s.offset);
      expect(back.lastBar).toEqual(s.lastBar);
      expect(back.engine === null).toBe(s.engine === null);
      if (s.engine) expect(Buffer.from(back.engine!.snapshot()).equals(Buffer.from(s.engine.snapshot()))).toBe(true);
    }
  });

  it('refuses a snapshot of another feature set, naming the symbol', () => {
    const proc = new LiveProcessor(featureSet, 65536);
    run(proc, stream.slice(0, 10));
    const [s] = proc.takeDirty();
    const other = { ...featureSet, schemaHash: 'f'.repeat(64) };
    expect(() => LiveSymbol.restore(s!.symbol, s!.snapshot(), other)).toThrow(new RegExp(`state snapshot of ${s!.symbol}: .*another feature set`));
  });
});
