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
import { type Objective, type ObjectiveSpec, quantileName } from '../objectives/objective.js';
import { alignByGroup, predictionColumns } from '../predictionsFile.js';
import { objectiveTargets } from '../train/trainingRows.js';
import { type ClassificationMetrics, type ReliabilityBin, classificationMetrics, reliabilityTable } from './classificationMetrics.js';
import { type ObjectiveMetrics, objectiveMetrics } from './objectiveMetrics.js';

export interface Evaluation {
  /** `oof`: the bundle's own out-of-fold predictions on its training dataset; `holdout`: the bundle run over another dataset. */
  source: 'oof' | 'holdout';
  objective: Objective;
  /** Null for a bundle without p_up (regression, quantile): the backtest trades on P(up). */
  backtest: BacktestResult | null;
  classification: { title: string; overall: ClassificationMetrics; perGroup: { name: string; metrics: ClassificationMetrics }[]; reliability: ReliabilityBin[] } | null;
  /** The objective's metrics (objectiveMetrics), overall and per fold; null without the bundle's labels. */
  metrics: { overall: ObjectiveMetrics; perGroup: { name: string; metrics: ObjectiveMetrics }[] } | null;
  /** Quantile bundles: the nominal and observed coverage of each interval between symmetric levels, overall and per fold. */
  coverage: { levels: [number, number]; nominal: number; observed: number; perGroup: { name: string; observed: number }[] }[] | null;
  /** Where the evaluation came from and what it covered, for reports without a backtest. */
  provenance: { bundle: string; predictions: string; evaluatedOn: string };
  note?: string;
}

/**
 * Out-of-sample evaluation of a bundle. On the dataset it was trained on, only the out-of-fold
 * predictions made during cross-validation count (each row predicted by a model that never saw
 * it or its purged neighbours), with the bundle's folds. On another dataset (later data), the
 * bundle predicts every row after everything its training saw.
 */
export async function evaluateBundle(bundleDir: string, datasetDir: string, config: BacktestConfig, command: string[]): Promise<Evaluation> {
  const probe = openDataset(datasetDir, { columns: [] });
  const bundle = loadBundle(bundleDir, probe.manifest.featureSet.schemaHash);
  const m = bundle.manifest;
  const spec: ObjectiveSpec = { objective: m.model.objective, quantiles: m.model.quantiles };
  const fields = m.model.outputs;
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
      const table = openDataset(datasetDir, { columns: predictor.inputColumns }).table;
      const pred = await predictor.predictTable(table, Int32Array.from({ length: table.n }, (_, i) => i));
      // Only rows after everything training saw (its last row and its last label end) are out of sample.
      const spans = (JSON.parse(Buffer.from(bundle.file('folds.json')).toString('utf8')) as { spans: { ts: number[]; t1: (number | null)[] } }).spans;
      let seen = Number.NEGATIVE_INFINITY;
      for (const t of spans.ts) seen = Math.max(seen, t);
      for (const t of spans.t1) if (t !== null) seen = Math.max(seen, t);
      const lead = pred.fields[fields[0]!]!;
      const lines = [`ts,symbol,${fields.join(',')}`];
      for (let i = 0; i < table.n; i++) {
        if (!(table.ts[i]! > seen) || Number.isNaN(lead[i]!)) continue;
        lines.push(`${new Date(table.ts[i]!).toISOString()},${table.symbols[table.symbolCodes[i]!]},${fields.map((f) => (Number.isNaN(pred.fields[f]![i]!) ? '' : String(pred.fields[f]![i]))).join(',')}`);
      }
      if (lines.length === 1) throw new Error(`${datasetDir}: no row is after the data bundle ${m.name} was trained on (its last bar or label end is ${new Date(seen).toISOString()}); evaluate it on its training dataset (out-of-fold) or on later data`);
      writeFileSync(predictions, `${lines.join('\n')}\n`);
    }
    const provenance = {
      bundle: `${bundleDir} (${m.name} ${m.version}, ${m.model.kind}, objective ${spec.objective})`,
      // Name where the predictions and folds came from, not the temporary copies read.
      predictions: sameData ? join(bundleDir, 'oof-predictions.csv') : `${m.name} ${m.version} over ${datasetDir}`,
      evaluatedOn: sameData ? "out-of-fold predictions of the bundle's cross-validation" : 'the bundle run over this dataset',
    };
    let backtest: BacktestResult | null = null;
    let note: string | undefined;
    if (fields.includes('p_up')) {
      backtest = runBacktest({ dataset: datasetDir, predictions, config, folds, command });
      backtest.provenance.bundle = provenance.bundle;
      backtest.provenance.predictions = provenance.predictions;
      if (sameData) backtest.provenance.folds = join(bundleDir, 'folds.json');
      backtest.provenance.evaluatedOn = provenance.evaluatedOn;
    } else note = `objective ${spec.objective} gives no p_up: no backtest (it trades on P(up))`;
    // Metrics need the bundle's target in this dataset's labels.
    let classification: Evaluation['classification'] = null;
    let metrics: Evaluation['metrics'] = null;
    let coverage: Evaluation['coverage'] = null;
    const labelSets = probe.manifest.labels ?? [];
    if (!labelSets.some((l) => l.name === m.training.labels.set && l.targets.some((t) => t.name === m.training.labels.target))) {
      note = [note, `no label set ${m.training.labels.set} with target ${m.training.labels.target} in ${datasetDir}: metrics skipped`].filter(Boolean).join('; ');
    } else {
      const labels = openLabels(probe, m.training.labels.set);
      const name = m.training.labels.target;
      const target = labels.column(name);
      const ret = labels.entry.columns.includes(`${name}_ret`) ? labels.column(`${name}_ret`) : target;
      const y = objectiveTargets(spec.objective, target, ret, name);
      // A format 1 bundle's out-of-fold file holds p_up only (of its declared fields): the others are NaN here.
      const inFile = new Set(predictionColumns(predictions));
      const groups = alignByGroup(probe.table, predictions, fields.filter((f) => inFile.has(f)), sameData ? 'fold' : undefined);
      const needed = metricFields(spec);
      const all: { out: number[]; y: number[]; p: number[]; up: number[] } = { out: [], y: [], p: [], up: [] };
      const perGroup: { name: string; metrics: ClassificationMetrics }[] = [];
      const perGroupObjective: { name: string; metrics: ObjectiveMetrics }[] = [];
      for (const [g, a] of groups) {
        const out: number[] = [];
        const yg: number[] = [];
        const p: number[] = [];
        const up: number[] = [];
        const cols = fields.map((f) => columnOf(a, f, probe.table.n));
        const check = needed.map((f) => columnOf(a, f, probe.table.n));
        for (let r = 0; r < probe.table.n; r++) {
          if (!a.present[r] || Number.isNaN(y[r]!) || check.some((c) => Number.isNaN(c[r]!))) continue;
          for (const c of cols) out.push(c[r]!);
          yg.push(y[r]!);
          if (fields.includes('p_up')) {
            p.push(a.columns.get('p_up')![r]!);
            up.push(target[r]! > 0 ? 1 : 0);
          }
        }
        const groupName = `fold ${g}`;
        if (sameData) {
          perGroupObjective.push({ name: groupName, metrics: objectiveMetrics(spec, fields, Float64Array.from(out), yg) });
          if (p.length > 0) perGroup.push({ name: groupName, metrics: classificationMetrics(p, up) });
        }
        all.out.push(...out);
        all.y.push(...yg);
        all.p.push(...p);
        all.up.push(...up);
      }
      metrics = { overall: objectiveMetrics(spec, fields, Float64Array.from(all.out), all.y), perGroup: perGroupObjective };
      if (fields.includes('p_up')) classification = { title: `${name} > 0`, overall: classificationMetrics(all.p, all.up), perGroup, reliability: reliabilityTable(all.p, all.up, 10) };
      if (spec.objective === 'quantile') coverage = intervalCoverage(spec.quantiles, fields, Float64Array.from(all.out), all.y, perGroupObjective.length > 0 ? groupsOf(groups, fields, needed, y, probe.table.n) : []);
    }
    return { source: sameData ? 'oof' : 'holdout', objective: spec.objective, backtest, classification, metrics, coverage, provenance, ...(note === undefined ? {} : { note }) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

type Groups = ReturnType<typeof alignByGroup>;

/** The fields an objective's metrics read: rows missing one of them are not scored. */
function metricFields(spec: ObjectiveSpec): string[] {
  switch (spec.objective) {
    case 'binary':
      return ['p_up'];
    case 'multiclass':
      return ['p_down', 'p_timeout', 'p_up'];
    case 'regression':
      return ['e_r'];
    case 'quantile':
      return spec.quantiles.map(quantileName);
  }
}

/** A field's values on the dataset's rows; NaN throughout for a field the file does not hold. */
function columnOf(a: Groups extends Map<number, infer V> ? V : never, field: string, n: number): Float64Array {
  return a.columns.get(field) ?? new Float64Array(n).fill(Number.NaN);
}

/** Per group: its rows' declared outputs and targets (rows with every metric field present). */
function groupsOf(groups: Groups, fields: readonly string[], needed: readonly string[], y: Float64Array, n: number): { name: string; out: Float64Array; y: number[] }[] {
  return [...groups].map(([g, a]) => {
    const cols = fields.map((f) => columnOf(a, f, n));
    const check = needed.map((f) => columnOf(a, f, n));
    const out: number[] = [];
    const yg: number[] = [];
    for (let r = 0; r < n; r++) {
      if (!a.present[r] || Number.isNaN(y[r]!) || check.some((c) => Number.isNaN(c[r]!))) continue;
      for (const c of cols) out.push(c[r]!);
      yg.push(y[r]!);
    }
    return { name: `fold ${g}`, out: Float64Array.from(out), y: yg };
  });
}

/** Coverage of each central interval [q_a, q_(1−a)] the levels hold: nominal 1 − 2a against observed. */
function intervalCoverage(levels: readonly number[], fields: readonly string[], out: Float64Array, y: number[], groups: { name: string; out: Float64Array; y: number[] }[]): NonNullable<Evaluation['coverage']> {
  const w = fields.length;
  const pairs: [number, number][] = [];
  for (let i = 0; i < levels.length; i++) {
    const j = levels.findIndex((l) => Math.abs(l - (1 - levels[i]!)) < 1e-12);
    if (j > i) pairs.push([i, j]);
  }
  const observed = (o: Float64Array, ys: number[], lo: number, hi: number) => {
    let inside = 0;
    for (let r = 0; r < ys.length; r++) if (ys[r]! >= o[r * w + lo]! && ys[r]! <= o[r * w + hi]!) inside++;
    return ys.length > 0 ? inside / ys.length : Number.NaN;
  };
  const column = (level: number) => fields.indexOf(quantileName(level));
  return pairs.map(([i, j]) => ({
    levels: [levels[i]!, levels[j]!],
    nominal: levels[j]! - levels[i]!,
    observed: observed(out, y, column(levels[i]!), column(levels[j]!)),
    perGroup: groups.map((g) => ({ name: g.name, observed: observed(g.out, g.y, column(levels[i]!), column(levels[j]!)) })),
  }));
}
