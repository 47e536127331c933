/**
 * Inference through the serving path (BundlePredictor: feature columns → scaler → model →
 * calibrator → the output contract), per model kind: the latency of one row at a time (as the
 * live topology sees a quiet market) and the throughput of whole batches (barflow predict). The
 * bundles are trained here on the bundled samples, so the section needs no services.
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
import { XgboostLibraryMissingError, xgboostLibrary } from '../dist/training/models/xgboost/xgboostLibrary.js';
import { section } from './harness.js';

export interface InferenceFigures {
  kind: string;
  runtime: string;
  p50_us: number;
  p99_us: number;
  batch_rows_per_s: number;
}

const MODELS: { kind: string; runtime: string; params: Record<string, unknown> }[] = [
  { kind: 'logistic', runtime: 'onnxruntime-node', params: { l2: 1 } },
  { kind: 'xgboost', runtime: 'onnxruntime-node', params: { numRounds: 300, maxDepth: 4 } },
  { kind: 'lstm', runtime: 'TensorFlow.js (wasm)', params: { units: 16, epochs: 1, batchSize: 512 } },
];

/**
 * The kinds this machine can run: all of them, less XGBoost when its shared library is missing
 * (`npm run bench` tries scripts/ensure-xgboost.sh first, which needs root to install it). A
 * skipped kind is said on its own line and left out of the figures; the rest still run.
 * BENCH_MODELS=logistic,lstm picks kinds.
 */
export function benchedModels(env: NodeJS.ProcessEnv = process.env, log: (line: string) => void = console.log): typeof MODELS {
  const wanted = env.BENCH_MODELS ? env.BENCH_MODELS.split(',').map((k) => k.trim()) : MODELS.map((m) => m.kind);
  const unknown = wanted.filter((k) => !MODELS.some((m) => m.kind === k));
  if (unknown.length > 0) throw new Error(`BENCH_MODELS: ${unknown.join(', ')} not among ${MODELS.map((m) => m.kind).join(', ')}`);
  return MODELS.filter((m) => {
    if (!wanted.includes(m.kind)) return false;
    if (m.kind !== 'xgboost') return true;
    try {
      xgboostLibrary();
      return true;
    } catch (err) {
      if (!(err instanceof XgboostLibraryMissingError)) throw err;
      log(`inference: xgboost skipped: its shared library is missing (run scripts/ensure-xgboost.sh as root, or set BARFLOW_LIBXGBOOST): ${err.message.split('\n')[0]}`);
      return false;
    }
  });
}

export async function inferenceBench(): Promise<InferenceFigures[]> {
  const models = benchedModels();
  if (models.length === 0) return [];
  const work = mkdtempSync(join(tmpdir(), 'barflow-bench-inference-'));
  try {
    const ds = join(work, 'ds');
    await replay({ source: { kind: 'files', patterns: ['data/samples/*.csv'] }, out: ds, formats: ['arrow'], workers: 1, command: ['bench'] });
    writeLabels(ds, readLabelConfig('topology/labels.yaml'), readFileSync('topology/labels.yaml', 'utf8'), ['bench']);
    const predictors: { m: (typeof MODELS)[number]; p: BundlePredictor }[] = [];
    for (const m of models) {
      const doc = { name: `bench-${m.kind}`, dataset: ds, labels: { target: 'tb' }, cv: { method: 'purged_kfold', k: 2 }, view: { seqLen: 32 }, model: { kind: m.kind, params: m.params }, out: join(work, m.kind) };
      await trainFromConfig(parseTrainConfig(doc, 'bench'), JSON.stringify(doc));
      predictors.push({ m, p: await BundlePredictor.open(join(work, m.kind)) });
    }
    const table = openDataset(ds).table;
    const rows = predictors[0]!.p.bundle.manifest.features.columns.length > 0 ? Int32Array.from({ length: table.n }, (_, i) => i) : new Int32Array(0);
    const answered = Int32Array.from(Array.from(rows).filter((r) => r >= 2000));
    const batch = await section(
      `Batch inference through the serving path (${table.n} rows, ${predictors[0]!.p.bundle.manifest.features.columns.length} features)`,
      predictors.map(({ m, p }) => ({ name: `${m.kind} (${m.runtime}), batches of 8,192`, once: async () => (await p.predictTable(table, answered)).rows.length })),
    );
    const out: InferenceFigures[] = [];
    for (const [i, { m, p }] of predictors.entries()) {
      const times: number[] = [];
      for (let k = 0; k < (m.kind === 'lstm' ? 300 : 2000); k++) {
        const row = answered.subarray(k, k + 1);
        const t = performance.now();
        await p.predictTable(table, row);
        times.push((performance.now() - t) * 1000);
      }
      times.sort((a, b) => a - b);
      const p50 = Number(times[Math.floor(times.length * 0.5)]!.toFixed(1));
      const p99 = Number(times[Math.floor(times.length * 0.99)]!.toFixed(1));
      console.log(`${m.kind} (${m.runtime}) one row at a time: p50 ${p50} µs, p99 ${p99} µs`);
      out.push({ kind: m.kind, runtime: m.runtime, p50_us: p50, p99_us: p99, batch_rows_per_s: batch[i]!.perSecond });
    }
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await inferenceBench()));
