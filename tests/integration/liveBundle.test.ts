import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QuestDb } from '../../src/streams/questdb/questDb.js';
import { LiveProcess, sharedBarFiles, waitCommitted, writeLiveConfig } from '../helpers/live.js';
import { barflow, consumeUntil, endpoints } from '../helpers/services.js';
import { tempDir } from '../helpers/tempDir.js';

const work = tempDir('live-bundle-it');
const db = new QuestDb(endpoints().questdb);
const FILES = sharedBarFiles();
const tables: string[] = [];
const running: LiveProcess[] = [];
afterAll(async () => {
  for (const p of running) if (p.child.exitCode === null) await p.kill();
  for (const t of tables) await db.execute(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
  await db.close();
});

async function ok(args: string[]): Promise<string> {
  const r = await barflow(args);
  expect(r.code, `barflow ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** `barflow predict` output: its fields (the header after schema_hash) and per `symbol@ts` the values as printed (rows with none left out). */
function predictFile(path: string): { fields: string[]; rows: Map<string, string[]> } {
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const fields = lines[0]!.split(',').slice(5);
  const rows = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const c = line.split(',');
    if (c.slice(5).every((v) => v === '')) continue;
    rows.set(`${c[1]}@${c[0]}`, c.slice(5));
  }
  return { fields, rows };
}

/** History → dataset (once) → labels → a bundle of the given model → barflow predict over the same bars. */
let dataset: string | null = null;
async function trainAndPredict(name: string, model: string, extra: string[] = []): Promise<{ bundle: string; want: ReturnType<typeof predictFile> }> {
  if (dataset === null) {
    dataset = join(work, 'ds');
    await ok(['replay', ...FILES.flatMap((f) => ['-i', f.file]), '-o', dataset, '--format', 'arrow', '--quiet']);
    await ok(['label', '-d', dataset]);
  }
  const bundle = join(work, name);
  writeFileSync(join(work, `${name}.yaml`), [`name: ${name}`, `dataset: ${dataset}`, `labels: { target: tb }`, `cv: { method: purged_kfold, k: 2 }`, `model: ${model}`, ...extra, `out: ${bundle}`, ''].join('\n'));
  await ok(['train', '-c', join(work, `${name}.yaml`)]);
  await ok(['predict', '-b', bundle, '-d', dataset, '-o', join(work, `${name}.predict.csv`)]);
  return { bundle, want: predictFile(join(work, `${name}.predict.csv`)) };
}

/** The live topology on the same bars, killed once mid-stream; its predictions, once per row (re-sent copies identical). */
async function liveRun(bundle: string, model: string, fields: readonly string[]): Promise<{ live: Map<string, string[]>; predictionsTable: string }> {
  const { file, names } = writeLiveConfig(work, { bundle: { path: bundle } });
  tables.push(names.featuresTable, names.predictionsTable);
  const producing = Promise.all(FILES.map((f) => ok(['produce', '-i', f.file, '-s', f.symbol, '-t', names.bars, '--rate', '6000', '--json', '--rejects', join(work, `${f.symbol}.rejects.jsonl`)])));
  let p = new LiveProcess(file);
  running.push(p);
  await p.ready();
  await new Promise((r) => setTimeout(r, 1500 + Math.random() * 1500));
  await p.kill();
  p = new LiveProcess(file);
  running.push(p);
  await p.ready();
  await producing;
  await waitCommitted(names.group, names.bars);
  expect(await p.stop()).toBe(0);
  const live = new Map<string, string[]>();
  const all = new Map<string, string>();
  let read = 0;
  let expected = 0;
  for (const f of FILES) expected += readFileSync(f.file, 'utf8').trim().split('\n').length - 1;
  await consumeUntil(
    names.predictions,
    (seen) => {
      for (; read < seen.length; read++) {
        const text = seen[read]!.message.value!.toString('utf8');
        const m = JSON.parse(text) as Record<string, unknown>;
        const id = `${m.symbol}@${m.ts}`;
        const before = all.get(id);
        if (before !== undefined && before !== text) throw new Error(`prediction ${id} was sent twice with different values:\n${before}\n${text}`);
        all.set(id, text);
        expect(m.model).toBe(model);
        // The raw JSON numbers, as written: compared as text they are compared bit for bit.
        const raw = fields.map((f) => {
          const match = new RegExp(`"${f}":([^,}]+)`).exec(text)![1]!;
          return match === 'null' ? '' : match;
        });
        if (raw.some((v) => v !== '')) live.set(id, raw);
      }
      return all.size >= expected;
    },
    180_000,
    `a prediction for each of ${expected} bars`,
  );
  return { live, predictionsTable: names.predictionsTable };
}

function expectSame(expected: ReturnType<typeof predictFile>, live: Map<string, string[]>): void {
  const want = expected.rows;
  for (const [id, fields] of want) {
    const got = live.get(id);
    if (got === undefined) throw new Error(`no live prediction for ${id}`);
    if (got.join(',') !== fields.join(',')) throw new Error(`${id}: live ${got.join(',')} vs predict ${fields.join(',')}`);
  }
  expect(live.size).toBe(want.size);
}

describe('barflow live serving a trained bundle', { timeout: 600_000 }, () => {
  it('XGBoost (tabular): predictions equal barflow predict on the same bars bit for bit, across a kill -9 and restart; rows in QuestDB carry the model', async () => {
    const { bundle, want } = await trainAndPredict('it-xgb', '{ kind: xgboost, params: { numRounds: 40, maxDepth: 3 } }');
    expect(want.rows.size).toBeGreaterThan(1000);
    const { live, predictionsTable } = await liveRun(bundle, 'it-xgb', want.fields);
    expectSame(want, live);
    await db.waitForWal(predictionsTable);
    const [stored] = await db.query<{ n: string; models: string }>(`SELECT count() n, count_distinct(model) models FROM ${predictionsTable}`);
    expect(Number(stored!.models)).toBe(1);
    expect(Number(stored!.n)).toBeGreaterThanOrEqual(want.rows.size);
  });

  it('LightGBM (quantile, five levels, ONNX): every field, the two beyond the contract\'s too, equals barflow predict bit for bit across a kill -9; quantiles ordered', async () => {
    const { bundle, want } = await trainAndPredict('it-lgbm', '{ kind: lightgbm, params: { numRounds: 40, numLeaves: 8 } }', ['objective: quantile', 'quantiles: [0.05, 0.25, 0.5, 0.75, 0.95]']);
    expect(want.fields).toEqual(['p_up', 'e_r', 'q05', 'q50', 'q95', 'uncertainty', 'regime_score', 'q25', 'q75']);
    expect(want.rows.size).toBeGreaterThan(1000);
    for (const v of want.rows.values()) {
      const [q05, q50, q95, q25, q75] = [v[2], v[3], v[4], v[7], v[8]].map(Number);
      expect(q05! <= q25! && q25! <= q50! && q50! <= q75! && q75! <= q95!).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')).model.files).toContain('model/model.onnx');
    const { live } = await liveRun(bundle, 'it-lgbm', want.fields);
    expectSame(want, live);
  });

  it('LSTM (window view, ONNX): the live windows survive the kill -9 in the state snapshots, and predictions equal barflow predict bit for bit', async () => {
    const { bundle, want } = await trainAndPredict('it-lstm', '{ kind: lstm, params: { units: 4, epochs: 1, batchSize: 512 } }', ['features: [close_1m, rsi14_1m, atr14_1m, macdhist_5m, rsi14_15m]', 'view: { seqLen: 8 }']);
    expect(want.rows.size).toBeGreaterThan(1000);
    // Served through ONNX (exported from the TensorFlow.js weights).
    expect(JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')).model).toMatchObject({ format: 'onnx', files: expect.arrayContaining(['model/model.onnx']) });
    const { live } = await liveRun(bundle, 'it-lstm', want.fields);
    expectSame(want, live);
  });

  // The graph nets of issue 16: causal shifted-slice convolutions and the last step (TCN); max
  // pooling, reshapes and fixed interpolation kernels (N-HiTS, quantile); and of issue 18.
  it.each([
    ['TCN', 'it-tcn', '{ kind: tcn, params: { filters: 4, kernelSize: 3, levels: 2, epochs: 1, batchSize: 512 } }', []],
    ['N-HiTS', 'it-nhits', '{ kind: nhits, params: { units: 16, horizon: 4, epochs: 1, batchSize: 512 } }', ['objective: quantile']],
    // Issue 18: RevIN, patches, attention and layer norm (PatchTST); variable selection, an LSTM,
    // causal interpretable attention and the GRNs' ELU (TFT).
    ['PatchTST', 'it-patchtst', '{ kind: patchtst, params: { patchLen: 4, stride: 2, dModel: 8, heads: 2, epochs: 1, batchSize: 512 } }', ['objective: quantile']],
    ['TFT', 'it-tft', '{ kind: tft, params: { hidden: 8, heads: 2, epochs: 1, batchSize: 512 } }', ['objective: quantile']],
  ])('%s (window view, ONNX): predictions equal barflow predict bit for bit across a kill -9', async (_label, name, model, extra) => {
    const { bundle, want } = await trainAndPredict(name, model, ['features: [close_1m, rsi14_1m, atr14_1m, macdhist_5m, rsi14_15m]', 'view: { seqLen: 8 }', ...extra]);
    expect(want.rows.size).toBeGreaterThan(1000);
    expect(JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')).model).toMatchObject({ format: 'onnx', files: expect.arrayContaining(['model/model.onnx']) });
    const { live } = await liveRun(bundle, name, want.fields);
    expectSame(want, live);
  });
});

describe('barflow live serving an ensemble with a regime (issue 17)', { timeout: 600_000 }, () => {
  it('stacking (a tabular and a window base, ridge meta on their outputs and the filtered regime): every field, regime_score too, equals barflow predict bit for bit across a kill -9 (the HMM filter\'s state in the snapshots)', async () => {
    const { bundle, want } = await trainAndPredict(
      'it-stack',
      '{ kind: stacking, base: [ { kind: lightgbm, params: { numRounds: 20, numLeaves: 7 } }, { kind: dlinear, params: { epochs: 1, movingAverage: 5 }, view: { seqLen: 8 } } ], meta: { kind: ridge }, innerFolds: 2, regimeInputs: true }',
      ['features: [rsi14_1m, natr14_1m, retstd20_1m, rsi14_15m]', 'regime: { method: hmm, states: 2 }'],
    );
    expect(want.rows.size).toBeGreaterThan(1000);
    const regime = want.fields.indexOf('regime_score');
    for (const v of want.rows.values()) if (v[0] !== '') expect(Number.isFinite(Number(v[regime]))).toBe(true);
    const { live } = await liveRun(bundle, 'it-stack', want.fields);
    expectSame(want, live);
  });
});
