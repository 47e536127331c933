/**
 * Per model kind (and objective), side by side: training rows/s (`barflow train` as a whole: the
 * CV folds and the final fit, over the eligible rows), the throughput of whole batches through the
 * serving path (BundlePredictor.predictTable, as `barflow predict`), and the latency of one row at a
 * time through the live serving path (BundlePredictor.predictLive: the row's features or window →
 * scaler → the kind's scorer → the output contract), as the live topology sees a quiet market.
 * The bundles are trained here on the bundled samples, so the section needs no services.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BundlePredictor } from '../dist/serving/bundle/bundlePredictor.js';
import { replay } from '../dist/streams/replay/replay.js';
import { openDataset } from '../dist/training/dataset.js';
import { readLabelConfig } from '../dist/training/labels/labelConfig.js';
import { writeLabels } from '../dist/training/labels/labelSet.js';
import { parseTrainConfig } from '../dist/training/train/trainConfig.js';
import { trainFromConfig } from '../dist/training/train/trainRun.js';
import { modelKind } from '../dist/training/models/index.js';
import { XgboostLibraryMissingError, xgboostLibrary } from '../dist/training/models/xgboost/xgboostLibrary.js';
import { LightgbmLibraryMissingError, lightgbmLibrary } from '../dist/training/models/lightgbm/lightgbmLibrary.js';
import type { FeatureTable } from '../dist/training/featureTable.js';
import type { LiveRow } from '../dist/training/views/modelView.js';
import { section } from './harness.js';

export interface InferenceFigures {
  kind: string;
  objective: string;
  runtime: string;
  p50_us: number;
  p99_us: number;
  batch_rows_per_s: number;
  train_rows_per_s: number;
  /** Neural kinds: seconds per epoch of one fit (the run's seconds over its 3 fits and its epochs). */
  train_s_per_epoch: number | null;
}

const ORT = 'ONNX, onnxruntime-node';
const MODELS: { kind: string; objective: string; runtime: string; params: Record<string, unknown> }[] = [
  { kind: 'logistic', objective: 'binary', runtime: ORT, params: { l2: 1 } },
  { kind: 'linear', objective: 'regression', runtime: ORT, params: { penalty: 'ridge', l2: 1 } },
  { kind: 'xgboost', objective: 'binary', runtime: ORT, params: { numRounds: 300, maxDepth: 4 } },
  { kind: 'lightgbm', objective: 'binary', runtime: ORT, params: { numRounds: 300, numLeaves: 15 } },
  { kind: 'lightgbm', objective: 'quantile', runtime: ORT, params: { numRounds: 300, numLeaves: 15 } },
  { kind: 'lstm', objective: 'binary', runtime: ORT, params: { units: 16, epochs: 1, batchSize: 512 } },
  // The window forecasters at their default sizes, one epoch each (docs/models-conv.md).
  ...['tcn', 'inceptiontime', 'resnet1d', 'dlinear', 'nbeats', 'nhits'].map((kind) => ({ kind, objective: 'binary', runtime: ORT, params: { epochs: 1 } })),
  // The attention and probabilistic forecasters at their default sizes, one epoch each, on the
  // quantile objective they exist for (docs/models-attention.md).
  ...['patchtst', 'itransformer', 'tft', 'deepar', 'quantile_rnn'].map((kind) => ({ kind, objective: 'quantile', runtime: ORT, params: { epochs: 1 } })),
];

/** A native library a kind needs: its loader, the error it throws when the library is missing, and how to get it. */
const NATIVE: Record<string, { load: () => unknown; missing: new (...args: never[]) => Error; how: string }> = {
  xgboost: { load: xgboostLibrary, missing: XgboostLibraryMissingError, how: 'run scripts/ensure-xgboost.sh, or set BARFLOW_LIBXGBOOST' },
  lightgbm: { load: lightgbmLibrary, missing: LightgbmLibraryMissingError, how: 'run scripts/ensure-lightgbm.sh, or set BARFLOW_LIBLIGHTGBM' },
};

/**
 * The kinds this machine can run: all of them, less a tree kind whose shared library is missing
 * (`npm run bench` runs the ensure scripts first). A skipped kind is said on its own line and left
 * out of the figures; the rest still run. BENCH_MODELS=logistic,lstm picks kinds.
 */
export function benchedModels(env: NodeJS.ProcessEnv = process.env, log: (line: string) => void = console.log): typeof MODELS {
  const known = [...new Set(MODELS.map((m) => m.kind))];
  const wanted = env.BENCH_MODELS ? env.BENCH_MODELS.split(',').map((k) => k.trim()) : known;
  const unknown = wanted.filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new Error(`BENCH_MODELS: ${unknown.join(', ')} not among ${known.join(', ')}`);
  const missing = new Set<string>();
  for (const kind of wanted) {
    const native = NATIVE[kind];
    if (native === undefined) continue;
    try {
      native.load();
    } catch (err) {
      if (!(err instanceof native.missing)) throw err;
      log(`inference: ${kind} skipped: its shared library is missing (${native.how}): ${(err as Error).message.split('\n')[0]}`);
      missing.add(kind);
    }
  }
  return MODELS.filter((m) => wanted.includes(m.kind) && !missing.has(m.kind));
}

function percentiles(times: number[]): [number, number] {
  times.sort((a, b) => a - b);
  return [Number(times[Math.floor(times.length * 0.5)]!.toFixed(1)), Number(times[Math.floor(times.length * 0.99)]!.toFixed(1))];
}

/** A dataset row as the live topology hands it to a bundle: its values in the bundle's column order and, for a window view, its window. */
function liveRow(table: FeatureTable, columns: readonly string[], seqLen: number, row: number): LiveRow {
  const cols = columns.map((c) => table.column(c));
  const values = Float64Array.from(cols, (c) => c[row]!);
  if (seqLen <= 1) return { values, window: null };
  const window = new Float64Array(seqLen * cols.length);
  for (let k = 0; k < seqLen; k++) cols.forEach((c, j) => (window[k * cols.length + j] = c[row - seqLen + 1 + k]!));
  return { values, window };
}

export async function inferenceBench(): Promise<InferenceFigures[]> {
  const models = benchedModels();
  if (models.length === 0) return [];
  const work = mkdtempSync(join(tmpdir(), 'barflow-bench-inference-'));
  try {
    const ds = join(work, 'ds');
    await replay({ source: { kind: 'files', patterns: ['data/samples/*.csv'] }, out: ds, formats: ['arrow'], workers: 1, command: ['bench'] });
    writeLabels(ds, readLabelConfig('topology/labels.yaml'), readFileSync('topology/labels.yaml', 'utf8'), ['bench']);
    const trained: { m: (typeof MODELS)[number]; p: BundlePredictor; trainRowsPerS: number; perEpoch: number | null }[] = [];
    for (const m of models) {
      const name = `${m.kind}-${m.objective}`;
      const doc = { name: `bench-${name}`, dataset: ds, labels: { target: 'tb' }, objective: m.objective, cv: { method: 'purged_kfold', k: 2 }, view: { seqLen: 32 }, model: { kind: m.kind, params: m.params }, out: join(work, name) };
      const t0 = performance.now();
      const r = await trainFromConfig(parseTrainConfig(doc, 'bench'), JSON.stringify(doc));
      const seconds = (performance.now() - t0) / 1000;
      const rows = r.cv.reduce((a, c) => a + c.metrics.n!, 0);
      const epochs = typeof m.params.epochs === 'number' ? m.params.epochs : null;
      const perEpoch = epochs === null ? null : Number((seconds / 3 / epochs).toFixed(2));
      trained.push({ m, p: await BundlePredictor.open(join(work, name)), trainRowsPerS: Math.round(rows / seconds), perEpoch });
      console.log(`${name}: trained in ${seconds.toFixed(1)} s (${rows} eligible rows, 2 folds + the final fit: ${Math.round(rows / seconds)} rows/s${perEpoch === null ? '' : `, ${perEpoch} s per epoch of a fit`})`);
    }
    const table = openDataset(ds).table;
    const answered = Int32Array.from({ length: table.n - 2000 }, (_, i) => 2000 + i);
    const batch = await section(
      `Batch inference through the serving path (${answered.length} rows)`,
      trained.map(({ m, p }) => ({ name: `${m.kind} ${m.objective} (${m.runtime}), batches of 8,192`, once: async () => (await p.predictTable(table, answered)).rows.length })),
    );
    const out: InferenceFigures[] = [];
    for (const [i, { m, p, trainRowsPerS, perEpoch }] of trained.entries()) {
      const manifest = p.bundle.manifest;
      const columns = manifest.features.columns;
      const seqLen = Number(manifest.model.view.params.seqLen ?? 1);
      const index = Int32Array.from(columns, (_, j) => j);
      const times: number[] = [];
      // Warm-up first (JIT, onnxruntime's first runs), then 5,000 rows timed one by one.
      for (let k = 0; k < 500; k++) await p.predictLive([liveRow(table, columns, seqLen, answered[k]!)], index);
      // Rows built before the clock runs (a window is 37 KB): the timing is the serving path's.
      const prepared = Array.from({ length: 1000 }, (_, k) => [liveRow(table, columns, seqLen, answered[(k * 7) % answered.length]!)]);
      for (let k = 0; k < 5000; k++) {
        const rows = prepared[k % prepared.length]!;
        const t = performance.now();
        await p.predictLive(rows, index);
        times.push((performance.now() - t) * 1000);
      }
      const [p50, p99] = percentiles(times);
      // The floor: the kind's scorer alone (onnxruntime's session.run) on one prepared float32 row.
      const scorer = await modelKind(m.kind).load({ format: manifest.model.format, files: new Map(manifest.model.files.map((f) => [f.slice('model/'.length), p.bundle.file(f)])) }, { objective: manifest.model.objective, quantiles: manifest.model.quantiles });
      const dims = seqLen > 1 ? [1, seqLen, columns.length] : [1, columns.length];
      const x = new Float32Array(seqLen * columns.length).fill(0.1);
      const floor: number[] = [];
      for (let k = 0; k < 5500; k++) {
        const t = performance.now();
        await scorer.score(x, dims);
        if (k >= 500) floor.push((performance.now() - t) * 1000);
      }
      const [f50, f99] = percentiles(floor);
      console.log(`${m.kind} ${m.objective} (${m.runtime}) one row: predictLive p50 ${p50} µs, p99 ${p99} µs; the scorer alone (session.run) p50 ${f50} µs, p99 ${f99} µs`);
      out.push({ kind: m.kind, objective: m.objective, runtime: m.runtime, p50_us: p50, p99_us: p99, batch_rows_per_s: batch[i]!.perSecond, train_rows_per_s: trainRowsPerS, train_s_per_epoch: perEpoch });
    }
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await inferenceBench()));
