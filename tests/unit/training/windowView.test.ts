import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type FeatureTable, TabularView, WindowView, loadFeatureTable } from '../../../src/training/index.js';
import { defaultSet, twoSymbolFeatures } from './fixtures.js';

const MINUTE = 60_000;
const COLUMNS = ['close_1m', 'rsi14_5m', 'atr14_1h', 'volume_15m', 'ret1_45m'];
let table: FeatureTable;
let esStart: number;

beforeAll(async () => {
  // BTCUSDT (a few gaps) then ES (daily breaks, a weekend, missing minutes): gaps and a symbol seam.
  table = loadFeatureTable(await twoSymbolFeatures(defaultSet, 'two-default'));
  esStart = table.symbolStart[1]!;
}, 120_000);

/** Brute force, independent of the view: rows i − L + 1 … i are one symbol with no step over the limit. */
function hasWindow(t: FeatureTable, row: number, seqLen: number, maxStepMs: number): boolean {
  const first = row - seqLen + 1;
  if (first < 0) return false;
  for (let r = first + 1; r <= row; r++) {
    if (t.symbolCodes[r] !== t.symbolCodes[row]) return false;
    if (t.ts[r]! - t.ts[r - 1]! > maxStepMs) return false;
  }
  return t.symbolCodes[first] === t.symbolCodes[row];
}

/** Bit equality of two typed arrays (toEqual is slow on large ones). */
function sameBits(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

const params = fc.record({
  seqLen: fc.integer({ min: 1, max: 240 }),
  maxGapMinutes: fc.constantFrom(1, 2, 3, 5, 60, 1000),
  allowGaps: fc.boolean(),
  dtype: fc.constantFrom('float32' as const, 'float64' as const),
});

describe('TabularView', () => {
  it('returns the table values row-major, float32-rounded for float32', () => {
    const rows = Int32Array.from([0, 5, esStart - 1, esStart, table.n - 1, 5]);
    for (const dtype of ['float64', 'float32'] as const) {
      const view = new TabularView(table, { columns: COLUMNS, dtype });
      const { data, shape } = view.rows(rows);
      expect(shape).toEqual([rows.length, COLUMNS.length]);
      expect(data).toBeInstanceOf(dtype === 'float32' ? Float32Array : Float64Array);
      rows.forEach((row, i) =>
        COLUMNS.forEach((c, j) => {
          const v = table.column(c)[row]!;
          expect(Object.is(data[i * COLUMNS.length + j], dtype === 'float32' ? Math.fround(v) : v)).toBe(true);
        }),
      );
    }
  });

  it('lists rows with no missing value and batches them, reusing an output buffer', () => {
    const view = new TabularView(table, { columns: COLUMNS, dtype: 'float64' });
    const complete = view.completeRows();
    expect(complete.length).toBeGreaterThan(0);
    expect(complete.length).toBeLessThan(table.n);
    expect(view.rows(complete).data.some(Number.isNaN)).toBe(false);
    const all = view.rows(complete).data;
    let at = 0;
    for (const part of view.batches(complete, 1000)) {
      expect(sameBits(part.data, all.subarray(at, at + part.data.length))).toBe(true);
      at += part.data.length;
    }
    expect(at).toBe(all.length);
    const out = new Float64Array(10 * COLUMNS.length);
    expect(view.rows(complete.subarray(0, 10), out).data).toBe(out);
    expect(() => view.rows(complete.subarray(0, 11), out)).toThrow(/out buffer must be a Float64Array of at least 55 elements/);
  });

  it('refuses unknown columns and indices that are not rows', () => {
    expect(() => new TabularView(table, { columns: ['close_1m', 'rsi_2m'] })).toThrow(/unknown column "rsi_2m"/);
    expect(() => new TabularView(table, { columns: ['close_1m', 'close_1m'] })).toThrow(/column close_1m is listed twice/);
    expect(() => new TabularView(table, { columns: ['close_1m'], dtype: 'int8' as 'float32' })).toThrow(/unknown dtype "int8"/);
    const view = new TabularView(table, { columns: COLUMNS });
    for (const bad of [-1, table.n, 1.5, Number.NaN]) expect(() => view.rows([0, bad])).toThrow(/indices\[1\] is .*, not a row of the table/);
  });
});

describe('WindowView', { timeout: 60_000 }, () => {
  it('valid rows are exactly those with a full gap-free single-symbol window (brute force)', () => {
    for (const [seqLen, maxGapMinutes, allowGaps] of [
      [60, 1, false],
      [30, 5, false],
      [120, 1, true],
    ] as const) {
      const view = new WindowView(table, { columns: COLUMNS, seqLen, maxGapMinutes, allowGaps });
      const valid = new Set(view.validRows());
      const limit = allowGaps ? Number.POSITIVE_INFINITY : maxGapMinutes * MINUTE;
      let expected = 0;
      for (let row = 0; row < table.n; row++) {
        const ok = hasWindow(table, row, seqLen, limit);
        if (ok) expected++;
        if (ok !== valid.has(row)) throw new Error(`row ${row}: brute force says ${ok}, the view ${valid.has(row)} (seqLen ${seqLen})`);
      }
      expect(valid.size).toBe(expected);
    }
    // With gaps allowed only symbols cut windows.
    const anyGap = new WindowView(table, { columns: COLUMNS, seqLen: 100, allowGaps: true });
    expect(anyGap.validRows().length).toBe(esStart - 99 + (table.n - esStart - 99));
    // The real files do have gaps, so the default (1 minute) drops rows.
    expect(new WindowView(table, { columns: COLUMNS, seqLen: 100 }).validRows().length).toBeLessThan(anyGap.validRows().length);
  });

  it('property: windows end at their row, hold the table values, never look ahead, cross no symbol and no gap over the limit', () => {
    fc.assert(
      fc.property(params, fc.array(fc.nat(), { minLength: 1, maxLength: 16 }), ({ seqLen, maxGapMinutes, allowGaps, dtype }, picks) => {
        const view = new WindowView(table, { columns: COLUMNS, seqLen, maxGapMinutes, allowGaps, dtype });
        const valid = view.validRows();
        if (valid.length === 0) return;
        const rows = picks.map((p) => valid[p % valid.length]!);
        const { data, shape } = view.batch(rows);
        const f = COLUMNS.length;
        expect(shape).toEqual([rows.length, seqLen, f]);
        rows.forEach((row, i) => {
          for (let k = 0; k < seqLen; k++) {
            const r = row - seqLen + 1 + k;
            // (a) causality: every window row's time is at or before the row's own.
            if (!(table.ts[r]! <= table.ts[row]!)) throw new Error(`window of row ${row} holds row ${r} from later`);
            // (c) one symbol, and gaps within the limit unless allowed.
            if (table.symbolCodes[r] !== table.symbolCodes[row]) throw new Error(`window of row ${row} crosses symbols at ${r}`);
            if (k > 0 && !allowGaps && table.ts[r]! - table.ts[r - 1]! > maxGapMinutes * MINUTE) throw new Error(`window of row ${row} crosses a gap at ${r}`);
            // (d) values: the table's, float32-rounded for float32.
            for (let c = 0; c < f; c++) {
              const v = table.column(COLUMNS[c]!)[r]!;
              if (!Object.is(data[(i * seqLen + k) * f + c], dtype === 'float32' ? Math.fround(v) : v)) throw new Error(`row ${row} step ${k} column ${COLUMNS[c]}`);
            }
          }
        });
      }),
      { numRuns: 150 },
    );
  });

  it('batches() gives the same windows as one batch', () => {
    const view = new WindowView(table, { columns: COLUMNS, seqLen: 20, dtype: 'float64' });
    const valid = view.validRows().subarray(0, 1000);
    const whole = view.batch(valid);
    let at = 0;
    for (const part of view.batches(valid, 128)) {
      expect(part.shape).toEqual([part.rows.length, 20, COLUMNS.length]);
      expect(sameBits(part.data, whole.data.subarray(at, at + part.data.length))).toBe(true);
      at += part.data.length;
    }
    expect(at).toBe(whole.data.length);
  });

  it('explains a row without a window: its symbol, its time and why', () => {
    const view = new WindowView(table, { columns: COLUMNS, seqLen: 60 });
    expect(() => view.batch([esStart + 10])).toThrow(
      new RegExp(`row ${esStart + 10} \\(ES 2023-09-24T22:10:00Z\\) has no window of 60 rows: only 11 rows of ES up to it \\(its first row is 2023-09-24T22:00:00Z\\)`),
    );
    // The first ES row after a gap: a window of 60 would cross it.
    let afterGap = -1;
    for (let r = esStart + 1; r < table.n && afterGap < 0; r++) if (table.ts[r]! - table.ts[r - 1]! > MINUTE) afterGap = r;
    const gap = (table.ts[afterGap]! - table.ts[afterGap - 1]!) / MINUTE;
    expect(() => view.batch([afterGap + 2])).toThrow(new RegExp(`row ${afterGap + 2} \\(ES .*\\) has no window of 60 rows: only 3 rows since a gap of ${gap} minutes .*maxGapMinutes 1; pass allowGaps`));
    expect(() => view.batch([table.n])).toThrow(/indices\[0\] is \d+, not a row of the table \(0 … \d+\)/);
    expect(() => new WindowView(table, { columns: COLUMNS, seqLen: 0 })).toThrow(/seqLen must be a positive integer/);
    expect(() => new WindowView(table, { columns: COLUMNS, seqLen: 5, maxGapMinutes: 0 })).toThrow(/maxGapMinutes must be positive/);
    expect(() => new WindowView(table, { columns: ['close_1m', 'nope'], seqLen: 5 })).toThrow(/unknown column "nope"/);
  });
});
