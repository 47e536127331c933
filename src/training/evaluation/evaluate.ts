import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBundle } from '../../serving/bundle/bundle.js';
import { BundlePredictor } from '../../serving/bundle/bundlePredictor.js';
import type { BacktestConfig } from '../backtest/backtestConfig.js';
import type { BacktestResult } from '../backtest/backtestTypes.js';
import { runBacktest } from '../backtest/runBacktest.js';
import { openDataset } from '../dataset.js';
import { openLabels } from '../labels/labelSet.js';
import { alignByGroup } from '../predictionsFile.js';
import { type ClassificationMetrics, type ReliabilityBin, classificationMetrics, reliabilityTable } from './classificationMetrics.js';

export interface Evaluation {
  /** `oof`: the bundle's own out-of-fold predictions on its training dataset; `holdout`: the bundle run over another dataset. */
  source: 'oof' | 'holdout';
  backtest: BacktestResult;
  classification: { title: string; overall: ClassificationMetrics; perGroup: { name: string; metrics: ClassificationMetrics }[]; reliability: ReliabilityBin[] } | null;
  note?: string;
}

/**
 * Out-of-sample evaluation of a bundle. On the dataset it was trained on, only the out-of-fold
 * predictions made during cross-validation count (each row predicted by a model that never saw
 * it or its purged neighbours), with the bundle's folds. On another dataset (later data), the
 * bundle predicts every row.
 */
export async function evaluateBundle(bundleDir: string, datasetDir: string, config: BacktestConfig, command: string[]): Promise<Evaluation> {
  const probe = openDataset(datasetDir, { columns: [] });
  const bundle = loadBundle(bundleDir, probe.manifest.featureSet.schemaHash);
  const m = bundle.manifest;
  const tmp = mkdtempSync(join(tmpdir(), 'barflow-evaluate-'));
  try {
    // The bundle's own out-of-fold predictions count only against the labels they were made for.
    const labelsNow = (probe.manifest.labels ?? []).find((l) => l.name === m.training.labels.set);
    const sameData = probe.manifest.fingerprint === m.training.dataset.fingerprint;
    if (sameData && labelsNow !== undefined && labelsNow.sha256 !== m.training.labels.sha256) {
      throw new Error(`${datasetDir}: label set ${m.training.labels.set} changed since bundle ${m.name} was trained (sha256 ${labelsNow.sha256.slice(0, 12)}, the bundle's ${m.training.labels.sha256.slice(0, 12)}): train again, or evaluate on later data`);
    }
    const predictions = join(tmp, 'predictions.csv');
    let folds: string | undefined;
    if (sameData) {
      writeFileSync(predictions, bundle.file('oof-predictions.csv'));
      folds = join(tmp, 'folds.json');
      writeFileSync(folds, bundle.file('folds.json'));
    } else {
      const predictor = await BundlePredictor.open(bundleDir, probe.manifest.featureSet.schemaHash);
      const table = openDataset(datasetDir, { columns: m.features.columns }).table;
      const pred = await predictor.predictTable(table, Int32Array.from({ length: table.n }, (_, i) => i));
      // Only rows after everything training saw (its last row and its last label end) are out of sample.
      const spans = (JSON.parse(Buffer.from(bundle.file('folds.json')).toString('utf8')) as { spans: { ts: number[]; t1: (number | null)[] } }).spans;
      let seen = Number.NEGATIVE_INFINITY;
      for (const t of spans.ts) seen = Math.max(seen, t);
      for (const t of spans.t1) if (t !== null) seen = Math.max(seen, t);
      const lines = ['ts,symbol,p_up'];
      for (let i = 0; i < table.n; i++) if (table.ts[i]! > seen && !Number.isNaN(pred.fields.p_up[i]!)) lines.push(`${new Date(table.ts[i]!).toISOString()},${table.symbols[table.symbolCodes[i]!]},${pred.fields.p_up[i]}`);
      if (lines.length === 1) throw new Error(`${datasetDir}: no row is after the data bundle ${m.name} was trained on (its last bar or label end is ${new Date(seen).toISOString()}); evaluate it on its training dataset (out-of-fold) or on later data`);
      writeFileSync(predictions, `${lines.join('\n')}\n`);
    }
    const backtest = runBacktest({ dataset: datasetDir, predictions, config, folds, command });
    backtest.provenance.bundle = `${bundleDir} (${m.name} ${m.version}, ${m.model.kind})`;
    // Name where the predictions and folds came from, not the temporary copies read.
    backtest.provenance.predictions = sameData ? join(bundleDir, 'oof-predictions.csv') : `${m.name} ${m.version} over ${datasetDir}`;
    if (sameData) backtest.provenance.folds = join(bundleDir, 'folds.json');
    backtest.provenance.evaluatedOn = sameData ? 'out-of-fold predictions of the bundle\'s cross-validation' : 'the bundle run over this dataset';
    // Classification needs the bundle's target in this dataset's labels.
    let classification: Evaluation['classification'] = null;
    let note: string | undefined;
    const labelSets = probe.manifest.labels ?? [];
    if (!labelSets.some((l) => l.name === m.training.labels.set && l.targets.some((t) => t.name === m.training.labels.target))) {
      note = `no label set ${m.training.labels.set} with target ${m.training.labels.target} in ${datasetDir}: classification metrics skipped`;
    } else {
      const target = openLabels(probe, m.training.labels.set).column(m.training.labels.target);
      const groups = alignByGroup(probe.table, predictions, ['p_up'], sameData ? 'fold' : undefined);
      const all: { p: number[]; y: number[] } = { p: [], y: [] };
      const perGroup: { name: string; metrics: ClassificationMetrics }[] = [];
      for (const [g, a] of groups) {
        const p: number[] = [];
        const y: number[] = [];
        const values = a.columns.get('p_up')!;
        for (let r = 0; r < values.length; r++) {
          if (!a.present[r] || Number.isNaN(values[r]!) || Number.isNaN(target[r]!)) continue;
          p.push(values[r]!);
          y.push(target[r]! > 0 ? 1 : 0);
        }
        if (sameData) perGroup.push({ name: `fold ${g}`, metrics: classificationMetrics(p, y) });
        all.p.push(...p);
        all.y.push(...y);
      }
      classification = { title: `${m.training.labels.target} > 0`, overall: classificationMetrics(all.p, all.y), perGroup, reliability: reliabilityTable(all.p, all.y, 10) };
    }
    return { source: sameData ? 'oof' : 'holdout', backtest, classification, note };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
