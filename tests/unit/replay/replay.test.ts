import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { RecordBatchReader, type Table, tableFromIPC } from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadFeatureSet } from '../../../src/operators/featureSet.js';
import { computeFeatures } from '../../../src/streams/operatorJobs.js';
import { concatArrowFiles } from '../../../src/streams/replay/arrowBlocks.js';
import { writeArrowFile } from '../../../src/streams/replay/datasetFiles.js';
import { replay } from '../../../src/streams/replay/replay.js';
import { openDataset } from '../../../src/training/dataset.js';
import { readManifest } from '../../../src/training/datasetManifest.js';
import { WindowView } from '../../../src/training/views.js';
import { DATA_SETS } from '../../helpers/files.js';
import { tempDir } from '../../helpers/tempDir.js';

const root = tempDir('replay');
const featureSet = loadFeatureSet();
const columns = featureSet.columns.map((c) => c.name);

interface Rows {
  ts: number[];
  symbol: string[];
  values: Float64Array[]; // one per feature column, NaN = missing
}

function arrowRows(table: Table): Rows {
  const n = table.numRows;
  const ts = Array.from(table.getChild('ts')!.toArray() as BigInt64Array, Number);
  const symbol = Array.from({ length: n }, (_, i) => table.getChild('symbol')!.get(i) as string);
  const values = columns.map((c) => {
    // Chunk by chunk, honouring the validity bitmap (Vector.get per cell is too slow for 10^7 cells).
    const out = new Float64Array(n);
    let at = 0;
    for (const d of table.getChild(c)!.data) {
      const v = d.values as Float64Array;
      for (let i = 0; i < d.length; i++) out[at + i] = d.getValid(i) ? v[i]! : Number.NaN;
      at += d.length;
    }
    return out;
  });
  return { ts, symbol, values };
}

/**
 * Reads a Parquet file with hyparquet (an independent, pure-JavaScript Parquet reader: not the
 * Rust writer that made the file), back into the same shape.
 */
async function parquetRows(path: string): Promise<Rows> {
  const bytes = readFileSync(path);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const rows = (await parquetReadObjects({ file, compressors, columns: ['ts', 'symbol', ...columns] })) as Record<string, unknown>[];
  const asMs = (v: unknown) => (v instanceof Date ? v.getTime() : Number(v));
  return {
    ts: rows.map((r) => asMs(r.ts)),
    symbol: rows.map((r) => r.symbol as string),
    values: columns.map((c) => Float64Array.from(rows, (r) => (r[c] === null || r[c] === undefined ? Number.NaN : (r[c] as number)))),
  };
}

function expectSameRows(got: Rows, want: Rows): void {
  expect(got.ts).toEqual(want.ts);
  expect(got.symbol).toEqual(want.symbol);
  for (let c = 0; c < columns.length; c++) {
    const g = got.values[c]!;
    const w = want.values[c]!;
    // Bit for bit: compare the raw float64 bytes (NaN payloads aside, both sides write canonical NaN).
    const bad = g.findIndex((x, i) => !Object.is(x, w[i]));
    if (bad >= 0) throw new Error(`column ${columns[bad]} row ${bad}: got ${g[bad]}, want ${w[bad]}`);
  }
}

async function featuresFile(input: string, symbol: string, out: string): Promise<Rows> {
  await computeFeatures(input, { symbol, featureSet, out, rejects: `${out}.rejects.jsonl` });
  return arrowRows(tableFromIPC(readFileSync(out)));
}

function concatRows(parts: Rows[]): Rows {
  return {
    ts: parts.flatMap((p) => p.ts),
    symbol: parts.flatMap((p) => p.symbol),
    values: columns.map((_, c) => Float64Array.from(parts.flatMap((p) => Array.from(p.values[c]!)))),
  };
}

describe.each(DATA_SETS)('barflow replay (files: $name)', { timeout: 120_000 }, ({ name, files }) => {
  const work = join(root, name.replace(/\W/g, '-'));
  mkdirSync(work, { recursive: true });
  const btc = files[0]!;
  const es = files[1]!;
  let btcRows: Rows;
  let esRows: Rows;
  let dataset: string;
  beforeAll(async () => {
    btcRows = await featuresFile(btc.file, btc.symbol, join(work, 'btc-features.arrow'));
    esRows = await featuresFile(es.file, es.symbol, join(work, 'es-features.arrow'));
    dataset = join(work, 'ds-two-workers');
    await replay({ source: { kind: 'files', patterns: [btc.file, es.file] }, out: dataset, workers: 2, command: ['test'] });
  }, 120_000);

  it('equals `barflow features` row for row, bit for bit, symbol by symbol (Arrow read back)', () => {
    expectSameRows(arrowRows(tableFromIPC(readFileSync(join(dataset, 'features.arrow')))), concatRows([btcRows, esRows]));
  });

  it('writes Parquet that an independent reader (hyparquet) reads back to the same rows, bit for bit', async () => {
    expectSameRows(await parquetRows(join(dataset, 'features.parquet')), concatRows([btcRows, esRows]));
  });

  it('writes, by copying record batches, the Arrow file apache-arrow\'s own writer makes from them', async () => {
    const file = join(dataset, 'features.arrow');
    const again = join(work, 'rewritten.arrow');
    await writeArrowFile(again, (async function* () {
      for (const b of RecordBatchReader.from(readFileSync(file))) yield b;
    })(), () => {
      throw new Error('not empty');
    });
    expect(readFileSync(again).equals(readFileSync(file))).toBe(true);
  });

  it('gives byte-identical files and manifest for 1 and 2 workers, and on a second run', async () => {
    const one = join(work, 'ds-one-worker');
    await replay({ source: { kind: 'files', patterns: [btc.file, es.file] }, out: one, workers: 1, command: ['test'] });
    for (const f of ['features.arrow', 'features.parquet', 'manifest.json']) {
      expect(readFileSync(join(one, f)).equals(readFileSync(join(dataset, f))), f).toBe(true);
    }
    const again = join(work, 'ds-again');
    await replay({ source: { kind: 'files', patterns: [es.file, btc.file] }, out: again, workers: 2, command: ['test'] });
    expect(readFileSync(join(again, 'features.arrow')).equals(readFileSync(join(dataset, 'features.arrow')))).toBe(true);
    expect(readManifest(join(again, 'manifest.json')).fingerprint).toBe(readManifest(join(dataset, 'manifest.json')).fingerprint);
  }, 120_000);

  it('writes the same Parquet bytes for the same rows however many files the process wrote before', async () => {
    // parquet-wasm's writer state lives in one WASM instance per process: an earlier write must
    // not change a later file (it did, through the order of the file's key-value metadata).
    const first = readFileSync(join(dataset, 'features.parquet'));
    for (let k = 0; k < 4; k++) {
      const out = join(work, `ds-parquet-${k}`);
      await replay({ source: { kind: 'files', patterns: [btc.file, es.file] }, out, workers: 1, formats: ['parquet'], command: ['test'] });
      expect(readFileSync(join(out, 'features.parquet')).equals(first), `write ${k + 2} in this process`).toBe(true);
    }
  }, 120_000);

  it('records a manifest that a zod schema accepts, with row counts, ranges and the fingerprint', () => {
    const m = readManifest(join(dataset, 'manifest.json'));
    expect(m.rows).toBe(btcRows.ts.length + esRows.ts.length);
    expect(m.symbols.map((s) => [s.symbol, s.rows])).toEqual([
      ['BTCUSDT', btcRows.ts.length],
      ['ES', esRows.ts.length],
    ]);
    expect(m.symbols[0]!.from).toBe(new Date(btcRows.ts[0]!).toISOString().replace('.000Z', 'Z'));
    expect(m.featureSet.schemaHash).toBe(featureSet.schemaHash);
    expect(m.featureSet.columns).toEqual(columns);
    expect(m.inputs.map((i) => i.sha256)).toHaveLength(2);
    expect(m.command).toEqual(['test']);
  });

  it('opens as a dataset whose views select rows by index from the replayed table', () => {
    const { table, manifest } = openDataset(dataset);
    expect(table.n).toBe(manifest.rows);
    const view = new WindowView(table, { columns: ['close_1m', 'rsi14_5m'], seqLen: 3, dtype: 'float64' });
    const rows = view.validRows();
    const last = rows[rows.length - 1]!;
    const { data, shape } = view.batch([last]);
    expect(shape).toEqual([1, 3, 2]);
    expect(data[4]).toBe(table.column('close_1m')[last]);
    expect(() => openDataset(work)).toThrow(/no manifest.json/);
  });

  it('changes the fingerprint when one input byte or one feature parameter changes', async () => {
    const base = readManifest(join(dataset, 'manifest.json')).fingerprint;
    const text = readFileSync(es.file, 'utf8');
    const lines = text.split('\n');
    // One digit of the last bar's volume: still a valid file, one byte different.
    const last = lines.length - (lines.at(-1) === '' ? 2 : 1);
    lines[last] = lines[last]!.replace(/\d(?=[^\d]*$)/, (d) => String((Number(d) + 1) % 10));
    const edited = join(work, 'edited', 'ES_edited.csv');
    mkdirSync(join(work, 'edited'), { recursive: true });
    writeFileSync(edited, lines.join('\n'));
    const a = await replay({ source: { kind: 'files', patterns: [btc.file, edited] }, out: join(work, 'ds-edited'), workers: 1 });
    expect(a.fingerprint).not.toBe(base);

    const yaml = readFileSync(join(import.meta.dirname, '../../../topology/features/default.yaml'), 'utf8').replace('period: 14 }', 'period: 15 }');
    const fsFile = join(work, 'rsi15.yaml');
    writeFileSync(fsFile, yaml);
    const b = await replay({ source: { kind: 'files', patterns: [btc.file, es.file] }, featureSetFile: fsFile, out: join(work, 'ds-rsi15'), workers: 1 });
    expect(b.fingerprint).not.toBe(base);
  }, 120_000);

  it('carries a symbol\'s state across its files: a file cut in two gives the rows of the whole', async () => {
    const [header, ...body] = readFileSync(btc.file, 'utf8').trimEnd().split('\n');
    const half = Math.floor(body.length / 2);
    const dir = join(work, 'split');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'BTCUSDT_part1.csv'), `${[header, ...body.slice(0, half)].join('\n')}\n`);
    writeFileSync(join(dir, 'BTCUSDT_part2.csv'), `${[header, ...body.slice(half)].join('\n')}\n`);
    const s = await replay({ source: { kind: 'files', patterns: [join(dir, '*.csv')] }, out: join(work, 'ds-split'), workers: 2, formats: ['arrow'] });
    expect(s.inputs.map((i) => i.source)).toEqual([join(dir, 'BTCUSDT_part1.csv'), join(dir, 'BTCUSDT_part2.csv')]);
    expectSameRows(arrowRows(tableFromIPC(readFileSync(join(work, 'ds-split', 'features.arrow')))), btcRows);
    // One symbol's file is moved into place; it must be what the concatenation would have written.
    concatArrowFiles([join(work, 'ds-split', 'features.arrow')], join(work, 'split-concat.arrow'));
    expect(readFileSync(join(work, 'split-concat.arrow')).equals(readFileSync(join(work, 'ds-split', 'features.arrow')))).toBe(true);
  }, 120_000);

  it('refuses a later file that goes back in time, naming it, and keeps every valid row', async () => {
    const [header, ...body] = readFileSync(btc.file, 'utf8').trimEnd().split('\n');
    const dir = join(work, 'overlap');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'BTCUSDT_a.csv'), `${[header, ...body.slice(0, 1000)].join('\n')}\n`);
    writeFileSync(join(dir, 'BTCUSDT_b.csv'), `${[header, ...body.slice(990, 2000)].join('\n')}\n`);
    const s = await replay({ source: { kind: 'files', patterns: [join(dir, '*.csv')] }, out: join(work, 'ds-overlap'), workers: 1, formats: ['arrow'] });
    expect(s.rows).toBe(2000);
    expect(s.rejects.total).toBe(10);
    expect(s.rejects.byReason).toEqual({ ts_not_increasing: 9, duplicate: 1 });
    const rejects = readFileSync(join(work, 'ds-overlap', 'rejects.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rejects[0].source).toBe(join(dir, 'BTCUSDT_b.csv'));
    expect(rejects[0].detail).toMatch(/earlier input/);
  }, 120_000);

  it.each([
    ['BTCUSDT_ts_ms_utc.parquet', 'BTCUSDT.expected.csv', 'BTCUSDT'],
    ['multi_symbol.parquet', 'multi_symbol.expected.csv', undefined],
    ['multi_symbol_dict.arrow', 'multi_symbol.expected.csv', undefined],
  ])('reads bars from %s to the same dataset as from the same bars in CSV', async (columnar, csv, symbol) => {
    const dir = join(import.meta.dirname, '../../fixtures/columnar');
    const a = join(work, `col-${columnar}`);
    const b = join(work, `csv-${columnar}`);
    await replay({ source: { kind: 'files', patterns: [join(dir, columnar)], symbol }, out: a, workers: 1, formats: ['arrow'] });
    await replay({ source: { kind: 'files', patterns: [join(dir, csv)], symbol }, out: b, workers: 1, formats: ['arrow'] });
    const rows = readManifest(join(a, 'manifest.json')).rows;
    expect(rows).toBeGreaterThan(0);
    expect(readManifest(join(b, 'manifest.json')).rows).toBe(rows);
    expect(readFileSync(join(a, 'features.arrow')).equals(readFileSync(join(b, 'features.arrow')))).toBe(true);
  });

  it('says clearly what is wrong with its arguments', async () => {
    await expect(replay({ source: { kind: 'files', patterns: [join(work, 'nope-*.csv')] }, out: join(work, 'x1') })).rejects.toThrow(/no file matches/);
    await expect(replay({ source: { kind: 'files', patterns: [join(work, 'missing.csv')] }, out: join(work, 'x2') })).rejects.toThrow(/input not found/);
    await expect(replay({ source: { kind: 'files', patterns: [btc.file] } })).rejects.toThrow(/nothing to write/);
  });
});
