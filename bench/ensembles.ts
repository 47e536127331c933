/**
 * Ensembles through the live serving path, one row at a time (issue 17): a three-model soft vote
 * and a stack of the same three bases (ridge meta-learner), each base a heterogeneous kind
 * (logistic and LightGBM on the row, DLinear on a 16-row window). The latency is the whole
 * BundlePredictor binding the live topology calls: every base's sample, scaler, scorer and
 * contract, the meta-learner and the ensemble's contract. Bundles are trained here on the bundled
 * samples, so the section needs no services. The seeds' factory quoted about 6 ms for three-model
 * voting; the target is p99 ≤ 1 ms.
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
import type { LiveRow } from '../dist/training/views/modelView.js';

export interface EnsembleFigures {
  ensemble: string;
  p50_us: number;
  p99_us: number;
  /** The bases alone, one after another, each through its own binding: what pooling adds is the difference. */
  bases_p50_us: number;
}

const BASES = [
  { kind: 'logistic', params: {} },
  { kind: 'lightgbm', params: { numRounds: 100, numLeaves: 15 } },
  { kind: 'dlinear', params: { epochs: 1, movingAverage: 5 }, view: { seqLen: 16 } },
];

const ENSEMBLES: { name: string; model: Record<string, unknown> }[] = [
  { name: 'voting (3 bases, fitted weights)', model: { kind: 'voting', base: BASES, weights: 'fitted' } },
  { name: 'stacking (3 bases, ridge meta)', model: { kind: 'stacking', base: BASES, meta: { kind: 'ridge' }, innerFolds: 2 } },
];

function percentile(times: number[], q: number): number {
  const s = [...times].sort((a, b) => a - b);
  return Number(s[Math.floor(s.length * q)]!.toFixed(1));
}

export async function ensembleBench(): Promise<EnsembleFigures[]> {
  const work = mkdtempSync(join(tmpdir(), 'barflow-bench-ensembles-'));
  try {
    const ds = join(work, 'ds');
    await replay({ source: { kind: 'files', patterns: ['data/samples/*.csv'] }, out: ds, formats: ['arrow'], workers: 1, command: ['bench'] });
    writeLabels(ds, readLabelConfig('topology/labels.yaml'), readFileSync('topology/labels.yaml', 'utf8'), ['bench']);
    const table = openDataset(ds).table;
    const names = table.columnNames;
    const cols = names.map((c) => table.column(c));
    const out: EnsembleFigures[] = [];
    for (const e of ENSEMBLES) {
      const dir = join(work, e.name.split(' ')[0]!);
      const doc = { name: 'bench-ensemble', dataset: ds, labels: { target: 'tb' }, cv: { method: 'purged_kfold', k: 2 }, model: e.model, out: dir };
      const t0 = performance.now();
      await trainFromConfig(parseTrainConfig(doc, 'bench'), JSON.stringify(doc));
      console.log(`${e.name}: trained in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const p = await BundlePredictor.open(dir);
      const live = p.bindLive(names);
      const bases = await Promise.all(BASES.map((_, b) => BundlePredictor.open(join(dir, 'bases', String(b)))));
      const baseLive = bases.map((b) => b.bindLive(names));
      const w = live.window!;
      // Rows built before the clock runs: the full feature row and the window the live state keeps.
      const rows: LiveRow[][] = Array.from({ length: 1000 }, (_, k) => {
        const r = table.n - 1 - k * 7;
        const values = Float64Array.from(cols, (c) => c[r]!);
        const window = new Float64Array(w.length * w.columns.length);
        for (let s = 0; s < w.length; s++) w.columns.forEach((j, m) => (window[s * w.columns.length + m] = cols[j]![r - w.length + 1 + s]!));
        return [{ values, window }];
      });
      const time = async (call: (rows: LiveRow[]) => Promise<unknown>) => {
        for (let k = 0; k < 500; k++) await call(rows[k % rows.length]!);
        const times: number[] = [];
        for (let k = 0; k < 5000; k++) {
          const t = performance.now();
          await call(rows[k % rows.length]!);
          times.push((performance.now() - t) * 1000);
        }
        return times;
      };
      const times = await time((r) => live.predict(r));
      const baseTimes = await time(async (r) => {
        for (const b of baseLive) await b.predict(r);
      });
      const figures = { ensemble: e.name, p50_us: percentile(times, 0.5), p99_us: percentile(times, 0.99), bases_p50_us: percentile(baseTimes, 0.5) };
      console.log(`${e.name} one row through the live serving path: p50 ${figures.p50_us} µs, p99 ${figures.p99_us} µs (its three bases alone, in turn: p50 ${figures.bases_p50_us} µs)`);
      out.push(figures);
    }
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await ensembleBench()));
