import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { replay } from '../../../src/streams/replay/replay.js';
import { openDataset } from '../../../src/training/dataset.js';
import { readLabelConfig } from '../../../src/training/labels/labelConfig.js';
import { type LabelTable, openLabels, writeLabels } from '../../../src/training/labels/labelSet.js';
import { BARRIER_STATUS, type BarPath, type BarrierParams, allocateBarrierOutputs, labelTripleBarrier } from '../../../src/training/labels/tripleBarrier.js';
import { labelForwardReturns } from '../../../src/training/labels/forwardReturns.js';
import { tempDir } from '../../helpers/tempDir.js';

const MIN = 60_000;

/** A path from rows of [open, high, low, close]; ATR 1 on every row unless given. */
function path(bars: [number, number, number, number][], atr = 1): BarPath {
  return {
    ts: Float64Array.from(bars, (_, i) => i * MIN),
    open: Float64Array.from(bars, (b) => b[0]),
    high: Float64Array.from(bars, (b) => b[1]),
    low: Float64Array.from(bars, (b) => b[2]),
    close: Float64Array.from(bars, (b) => b[3]),
    atr: Float64Array.from(bars, () => atr),
  };
}

function first(p: BarPath, params: Partial<BarrierParams> = {}, side?: number) {
  const out = allocateBarrierOutputs(p.ts.length);
  labelTripleBarrier(p, { k: 2, maxBars: 3, bothTouched: 'stop', ...params }, out, 0, side === undefined ? undefined : new Float64Array(p.ts.length).fill(side));
  return { label: out.label[0], t1: out.t1[0], exit: out.exitPrice[0], ret: out.ret[0], retAtr: out.retAtr[0], status: BARRIER_STATUS[out.status[0]!] };
}

describe('triple barrier on hand-made paths (entry 100, ATR 1, k 2: barriers 102 / 98)', () => {
  it('up first: the upper barrier touched by a high, exit at the barrier', () => {
    const r = first(path([[100, 100, 100, 100], [100, 101, 99, 100.5], [100.5, 102.5, 100, 102], [102, 102, 97, 97]]));
    expect(r).toEqual({ label: 1, t1: 2 * MIN, exit: 102, ret: 102 / 100 - 1, retAtr: 2, status: 'upper' });
  });

  it('down first, although the close never goes below the barrier (a close-only check would miss it)', () => {
    const r = first(path([[100, 100, 100, 100], [100, 100.5, 97.9, 99.5], [99.5, 103, 99, 103]]));
    expect(r).toMatchObject({ label: -1, t1: MIN, exit: 98, status: 'lower', retAtr: -2 });
  });

  it('both barriers in one bar: the stop by default, the target or 0 on request', () => {
    const p = path([[100, 100, 100, 100], [100, 102.2, 97.5, 100.3]]);
    expect(first(p)).toMatchObject({ label: -1, exit: 98, status: 'both_stop', t1: MIN });
    expect(first(p, { bothTouched: 'target' })).toMatchObject({ label: 1, exit: 102, status: 'both_target' });
    expect(first(p, { bothTouched: 'neutral' })).toMatchObject({ label: 0, exit: 100.3, status: 'both_neutral' });
    // For a short side the stop is the upper barrier.
    expect(first(p, {}, -1)).toMatchObject({ label: 1, exit: 102, status: 'both_stop' });
  });

  it('a bar that opens beyond a barrier exits at its open (the gap), not at the barrier', () => {
    expect(first(path([[100, 100, 100, 100], [103, 104, 97, 103.5]]))).toMatchObject({ label: 1, exit: 103, status: 'upper', retAtr: 3 });
    expect(first(path([[100, 100, 100, 100], [96, 103, 95, 99]]))).toMatchObject({ label: -1, exit: 96, status: 'lower' });
  });

  it('time-out: 0 at the close of the last bar of the window', () => {
    const r = first(path([[100, 100, 100, 100], [100, 101, 99, 100], [100, 101, 99, 100.5], [100.5, 101.9, 98.1, 101], [101, 200, 0, 100]]));
    expect(r).toEqual({ label: 0, t1: 3 * MIN, exit: 101, ret: 101 / 100 - 1, retAtr: 1, status: 'time' });
  });

  it('end of data before the window ends and no touch: marked past_end, label missing, not guessed', () => {
    const r = first(path([[100, 100, 100, 100], [100, 101, 99, 100], [100, 101, 99, 100]]));
    expect(r.status).toBe('past_end');
    expect(r.label).toBeNaN();
    expect(r.t1).toBeNaN();
    // A touch before the data ends is a known label, however short the rest of the data.
    expect(first(path([[100, 100, 100, 100], [100, 102, 99, 101]]))).toMatchObject({ label: 1, status: 'upper' });
  });

  it('no ATR at the row (warm-up): no barriers, label missing', () => {
    const p = path([[100, 100, 100, 100], [100, 103, 97, 100]], Number.NaN);
    expect(first(p)).toMatchObject({ status: 'no_atr' });
    expect(first(p).label).toBeNaN();
  });

  it('forward returns: h bars ahead, NaN within h bars of the end', () => {
    const ts = Float64Array.from([0, 1, 2, 5], (m) => m * MIN);
    const close = Float64Array.from([100, 110, 99, 121]);
    const v = new Float64Array(4);
    const t1 = new Float64Array(4);
    labelForwardReturns(ts, close, 2, false, v, t1, 0);
    expect(Array.from(v.subarray(0, 2))).toEqual([99 / 100 - 1, 121 / 110 - 1]);
    expect(Array.from(t1.subarray(0, 2))).toEqual([2 * MIN, 5 * MIN]);
    expect(Number.isNaN(v[2]!) && Number.isNaN(v[3]!)).toBe(true);
  });
});

describe('barflow label on real data, against the independent reference (scripts/fixtures/make_label_fixtures.py)', () => {
  const work = tempDir('labels');
  const dir = join(work, 'ds');
  let labels: LabelTable;
  let symbols: string[];
  let symbolStart: Int32Array;

  beforeAll(async () => {
    await replay({ source: { kind: 'files', patterns: ['data/samples/*.csv'] }, out: dir, formats: ['arrow'], workers: 1, command: ['test'] });
    const configPath = 'tests/fixtures/labels/labels.yaml';
    writeLabels(dir, readLabelConfig(configPath), readFileSync(configPath, 'utf8'), ['test']);
    const ds = openDataset(dir, { columns: [] });
    labels = openLabels(ds, 'reference');
    symbols = ds.table.symbols;
    symbolStart = ds.table.symbolStart;
  }, 120_000);

  it('lists the label set in the manifest with its sha256, targets and counts', () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.labels).toHaveLength(1);
    expect(manifest.labels[0].file).toBe('labels/reference.arrow');
    expect(manifest.labels[0].targets.map((t: { name: string }) => t.name)).toEqual(['tb', 'tbt', 'fwd_1', 'fwd_15', 'meta']);
    expect(labels.targets).toContain('tb');
  });

  for (const symbol of ['BTCUSDT', 'ES']) {
    it(`${symbol}: every label column equals the reference, bit for bit`, () => {
      const k = symbols.indexOf(symbol);
      const s = symbolStart[k]!;
      const rows = parseCsv(readFileSync(`tests/fixtures/labels/${symbol}.labels.csv`), { columns: true }) as Record<string, string>[];
      expect(symbolStart[k + 1]! - s).toBe(rows.length);
      const numeric = ['tb', 'tb_t1', 'tb_exit', 'tb_ret', 'tb_ret_atr', 'tbt', 'tbt_t1', 'tbt_exit', 'fwd_1', 'fwd_1_t1', 'fwd_15', 'fwd_15_t1', 'meta', 'meta_t1', 'meta_side', 'meta_ret'];
      let compared = 0;
      for (const c of numeric) {
        const ours = labels.column(c);
        for (let i = 0; i < rows.length; i++) {
          const want = rows[i]![c] === '' ? Number.NaN : Number(rows[i]![c]);
          const got = ours[s + i]!;
          if (!Object.is(got, want) && !(Number.isNaN(got) && Number.isNaN(want))) expect.fail(`${symbol} row ${i} ${rows[i]!.ts} ${c}: barflow ${got}, reference ${want}`);
          compared++;
        }
      }
      expect(compared).toBe(numeric.length * rows.length);
    });
  }

  it('status columns equal the reference', async () => {
    const { tableFromIPC } = await import('apache-arrow');
    const t = tableFromIPC(readFileSync(join(dir, 'labels/reference.arrow')));
    for (const symbol of ['BTCUSDT', 'ES']) {
      const k = symbols.indexOf(symbol);
      const rows = parseCsv(readFileSync(`tests/fixtures/labels/${symbol}.labels.csv`), { columns: true }) as Record<string, string>[];
      for (const c of ['tb_status', 'tbt_status', 'meta_status']) {
        const col = t.getChild(c)!;
        const want = rows.map((r) => r[c]);
        // The reference has no status for rows without a side; barflow keeps the barrier's.
        const got = rows.map((_, i) => String(col.get(symbolStart[k]! + i)));
        if (c === 'meta_status') {
          expect(got.filter((_, i) => rows[i]!.meta !== '')).toEqual(want.filter((_, i) => rows[i]!.meta !== ''));
          // Rows without a primary side are no_side (the reference leaves their status as the barrier's).
          const sideless = rows.map((r, i) => (r.meta_side === '' || r.meta_side === '0' ? i : -1)).filter((i) => i >= 0);
          expect(sideless.length).toBeGreaterThan(0);
          expect(new Set(sideless.map((i) => got[i]))).toEqual(new Set(['no_side']));
        } else expect(got).toEqual(want);
      }
    }
    // The real data holds every case: both-touched bars, time-outs, past-end rows, warm-up rows.
    const statuses = new Set(Array.from({ length: t.numRows }, (_, i) => String(t.getChild('tb_status')!.get(i))));
    expect([...statuses].sort()).toEqual(['both_stop', 'lower', 'no_atr', 'past_end', 'time', 'upper']);
  });

  it('refuses a config naming a column the dataset lacks, before writing anything', () => {
    const bad = join(work, 'bad.yaml');
    writeFileSync(bad, 'labels:\n  - { name: tb, kind: triple_barrier, atr: atr99_1m }\n');
    expect(() => writeLabels(dir, readLabelConfig(bad), '', [])).toThrow(/needs column atr99_1m, which the dataset/);
    writeFileSync(bad, 'labels:\n  - { name: tb, kind: triple_barrier, k: -1 }\n');
    expect(() => readLabelConfig(bad)).toThrow(/labels\.0\.k/);
    // Two labels that would write the same column (and so the same t1) are refused.
    writeFileSync(bad, 'labels:\n  - { name: a_5, kind: triple_barrier }\n  - { name: a, kind: forward_return, horizons: [5] }\n');
    expect(() => readLabelConfig(bad)).toThrow(/labels\.1\.name: label a would write column a_5, which label a_5 writes too/);
  });
});
