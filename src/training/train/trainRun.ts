import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { gitCommit, packageVersion } from '../../codeVersion.js';
import type { ColumnRole } from '../../operators/featureSet.js';
import { PACKAGE_ROOT } from '../../paths.js';
import { writeBundle } from '../../serving/bundle/bundle.js';
import type { BundleManifest } from '../../serving/bundle/bundleManifest.js';
import { type BundleCommon, ensemblePath } from '../ensembles/ensembleTrain.js';
import { type ObjectiveMetrics, meanOfMetrics, metricsFromJson, objectiveMetrics } from '../evaluation/objectiveMetrics.js';
import type { TrainInput } from '../models/index.js';
import type { Objective, ObjectiveSpec } from '../objectives/objective.js';
import { declaredOutputs } from '../objectives/outputContract.js';
import { filterTable, fitRegime } from '../regime/regimeModel.js';
import { foldsDocument, makeSplits, parseEmbargo, type SplitMethod } from '../splits/index.js';
import { singlePath } from './singleTrain.js';
import { type TrainConfig, isEnsemble, isStacking } from './trainConfig.js';
import type { FitContext, TrainPath } from './trainPath.js';

export interface TrainProgress {
  /** `step`: an epoch (neural) or a round (trees) inside the current fit. */
  stage: 'fold' | 'final' | 'step';
  step?: { fit: string; step: number; steps: number; loss?: number; seconds: number; etaSeconds: number };
  fold: number;
  folds: number;
  seconds: number;
  etaSeconds: number;
  resumed?: boolean;
}

export interface TrainResult {
  manifest: BundleManifest;
  objective: Objective;
  cv: { fold: number; metrics: ObjectiveMetrics; resumed: boolean }[];
  final: { calibration: ObjectiveMetrics };
}

interface FoldCheckpoint {
  configSha256: string;
  /** The dataset, labels, code and the fold's test rows it was made for. */
  dataKey: string;
  fold: number;
  rows: number[];
  /** The declared outputs of each test row, row-major (null for NaN). */
  outputs: (number | null)[];
  metrics: ObjectiveMetrics;
  /** What the path keeps of the fold for the final fit (an ensemble's base outputs, a jackknife+ fold model). */
  keep?: unknown;
}

const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');

/** The contract's objective of a config: its quantile levels, and the conformal interval when asked for. */
export function objectiveSpecOf(config: TrainConfig): ObjectiveSpec {
  const spec: ObjectiveSpec = { objective: config.objective, quantiles: config.objective === 'quantile' ? config.quantiles : [] };
  const c = config.conformal;
  if (c === undefined) return spec;
  const forQuantile = c.method === 'cqr' || (c.method === 'adaptive' && config.objective === 'quantile');
  if (forQuantile && config.objective !== 'quantile') throw new Error(`conformal ${c.method} conformalises a quantile model's interval: use objective quantile (or conformal split / jackknife_plus for objective regression)`);
  if (!forQuantile && config.objective !== 'regression') throw new Error(`conformal ${c.method} gives an interval around a regression model's e_r: use objective regression (or conformal cqr with objective quantile)`);
  if (c.method === 'jackknife_plus' && config.cv.method === 'cpcv') throw new Error('conformal jackknife_plus needs each row tested by one fold: use cv.method purged_kfold or walk_forward, not cpcv');
  return { ...spec, interval: { method: c.method, coverage: c.coverage, ...(c.method === 'jackknife_plus' ? { folds: 0 } : {}), ...(c.method === 'adaptive' ? { gamma: c.gamma } : {}) } };
}

/**
 * Trains a model from a config: cross-validated out-of-fold predictions (each fold checkpointed, so
 * an interrupted run resumes after its last finished fold), then the final model on every eligible
 * row, its scaler fitted on the rows it learns from and its calibrator on a later, purged slice;
 * then the bundle. One model or an ensemble (ensembles/ensembleTrain.ts); a regime filter fitted
 * per fold on its training rows. Same config and seed: the same bundle bytes.
 */
export async function trainFromConfig(config: TrainConfig, configText: string, onProgress?: (p: TrainProgress) => void): Promise<TrainResult> {
  const spec = objectiveSpecOf(config);
  const embargo = typeof config.cv.embargo === 'number' ? { bars: config.cv.embargo } : parseEmbargo(config.cv.embargo);
  const configSha256 = sha(configText);
  let common: (() => BundleCommon) | undefined;
  // The paths open the dataset; their fits read the schema hash from this object once it is known.
  const metadata = { model: config.name, version: config.version, schema_hash: '' };
  const path: TrainPath = isEnsemble(config.model) ? ensemblePath(config, spec, metadata, embargo, () => common!()) : singlePath(config, spec, metadata);
  const data = path.data;
  const schemaHash = data.dataset.manifest.featureSet.schemaHash;
  metadata.schema_hash = schemaHash;
  const fsFile = data.dataset.manifest.featureSet.file;
  const fsPath = isAbsolute(fsFile) ? fsFile : resolve(PACKAGE_ROOT, fsFile);
  const fsBytes = existsSync(fsPath) ? readFileSync(fsPath) : null;
  if (fsBytes === null || sha(fsBytes) !== data.dataset.manifest.featureSet.fileSha256) {
    throw new Error(`the dataset was made with feature-set file ${fsFile}, which is ${fsBytes === null ? 'missing' : 'changed since'}: the bundle must carry the exact file`);
  }
  const checkpointDir = `${config.out}.checkpoint`;
  mkdirSync(checkpointDir, { recursive: true });
  const method: SplitMethod =
    config.cv.method === 'cpcv'
      ? { method: 'cpcv', groups: config.cv.groups, testGroups: config.cv.testGroups, embargo }
      : config.cv.method === 'walk_forward'
        ? { method: 'walk_forward', folds: config.cv.k, mode: 'expanding', embargo }
        : { method: 'purged_kfold', k: config.cv.k, embargo };
  const spans = { ts: data.dataset.table.ts, t1: data.t1 };
  const plan = makeSplits(spans, method);
  if (spec.interval?.folds !== undefined) spec.interval.folds = plan.folds.length;
  const dataKey = (test: Int32Array) =>
    sha(JSON.stringify([data.dataset.manifest.fingerprint, data.labels.entry.sha256, packageVersion(), gitCommit(), sha(new Uint8Array(test.buffer, test.byteOffset, test.byteLength))]));
  const contractFields = declaredOutputs(spec);
  const fields = [...contractFields, ...(config.regime === undefined ? [] : ['regime_score'])];
  const width = fields.length;
  const table = data.dataset.table;
  const regimeOf = (rows: ArrayLike<number>) => {
    if (config.regime === undefined) return { doc: null, probs: null };
    const doc = fitRegime(config.regime, table, rows, config.seed);
    return { doc, probs: filterTable(doc, table) };
  };
  const context = (dir: string, probs: Float64Array | null, label: string): FitContext => ({ regime: probs, dir, step: (l) => stepReporter(l === '' ? label : l, plan.folds.length, onProgress) });

  const cv: TrainResult['cv'] = [];
  const oof: { row: number; values: Float64Array; fold: number }[] = [];
  const kept: { test: number[]; keep?: unknown }[] = [];
  const started = performance.now();
  for (const fold of plan.folds) {
    const cpPath = join(checkpointDir, `fold-${fold.index}.json`);
    let cp: FoldCheckpoint | null = null;
    if (existsSync(cpPath)) {
      const saved = JSON.parse(readFileSync(cpPath, 'utf8')) as FoldCheckpoint;
      if (saved.configSha256 !== configSha256 || saved.dataKey !== dataKey(fold.test)) throw new Error(`${cpPath} was made with another config, dataset, labels or code; delete ${checkpointDir} to start over`);
      cp = { ...saved, metrics: metricsFromJson(saved.metrics) };
    }
    const resumed = cp !== null;
    if (cp === null) {
      const test = Array.from(fold.test);
      const { doc, probs } = regimeOf(fold.train);
      const r = await path.fold(fold.index, fold.train, test, context(join(checkpointDir, `fold-${fold.index}`), probs, `fold ${fold.index + 1}/${plan.folds.length}`));
      const out = withRegime(r.outputs, test, contractFields.length, probs, doc?.hmm.states ?? 0, doc?.highState ?? 0);
      const outputs = Array.from(out, (v) => (Number.isNaN(v) ? null : v));
      cp = { configSha256, dataKey: dataKey(fold.test), fold: fold.index, rows: test, outputs, metrics: objectiveMetrics(spec, fields, out, test.map((row) => data.y[row]!)), ...(r.keep === undefined ? {} : { keep: r.keep }) };
      writeFileSync(`${cpPath}.tmp`, JSON.stringify(cp));
      renameSync(`${cpPath}.tmp`, cpPath);
    }
    const saved = cp;
    saved.rows.forEach((row, i) => oof.push({ row, values: Float64Array.from(saved.outputs.slice(i * width, (i + 1) * width), (v) => v ?? Number.NaN), fold: fold.index }));
    kept.push({ test: saved.rows, keep: saved.keep });
    cv.push({ fold: fold.index, metrics: saved.metrics, resumed });
    const seconds = (performance.now() - started) / 1000;
    const done = cv.length;
    onProgress?.({ stage: 'fold', fold: done, folds: plan.folds.length, seconds, etaSeconds: (seconds / done) * (plan.folds.length + 1 - done), resumed });
  }
  path.finishOof?.(oof);
  if (path.finishOof !== undefined && spec.interval?.method === 'jackknife_plus') {
    // The folds' metrics with the intervals finishOof filled in.
    for (const c of cv) {
      const rows = oof.filter((o) => o.fold === c.fold);
      const out = new Float64Array(rows.length * width);
      rows.forEach((o, i) => out.set(o.values, i * width));
      c.metrics = objectiveMetrics(spec, fields, out, rows.map((o) => data.y[o.row]!));
    }
  }

  const { doc: regimeDoc, probs: finalProbs } = regimeOf(path.eligible);
  const labels = { set: data.labels.name, target: config.labels.target, sha256: data.labels.entry.sha256 };
  const training = { config: 'training-config.yaml', configSha256, seed: config.seed, dataset: { dir: config.dataset, fingerprint: data.dataset.manifest.fingerprint }, labels, code: { package: 'barflow' as const, version: packageVersion(), gitCommit: gitCommit() } };
  const featuresSection = { file: 'features.yaml', schemaHash, columns: data.columns, ...inputRoles(data.columns, data.dataset.manifest.featureSet.roles) };
  common = () => ({
    manifest: { format: 'barflow.bundle', formatVersion: 2, name: config.name, version: config.version, features: featuresSection, scaler: 'scaler.json', calibrator: 'calibrator.json', metrics: 'metrics.json', training },
    featuresFile: fsBytes,
    exporterVersion: packageVersion(),
  });
  const final = await path.final(path.eligible, kept, context(join(checkpointDir, 'final'), finalProbs, 'final model'));
  onProgress?.({ stage: 'final', fold: plan.folds.length, folds: plan.folds.length, seconds: (performance.now() - started) / 1000, etaSeconds: 0 });

  const files = new Map<string, Uint8Array>(final.files);
  const json = (v: unknown) => Buffer.from(`${JSON.stringify(v, null, 2)}\n`);
  files.set('features.yaml', fsBytes);
  files.set('calibrator.json', json(final.contract.toJson()));
  if (regimeDoc !== null) files.set('regime.json', json(regimeDoc));
  const cvMean = meanOfMetrics(cv.map((c) => c.metrics));
  const cvDoc = { method: plan.method, ...(isEnsemble(config.model) ? { nested: { innerFolds: isStacking(config.model) ? config.model.innerFolds : 3, note: 'each outer fold\'s bases and meta-learner were fitted on its training rows only (inner purged folds for the meta-learner\'s rows)' } } : {}), folds: cv.map((c) => ({ fold: c.fold, ...c.metrics })), mean: cvMean };
  files.set('metrics.json', json({ objective: spec.objective, cv: cvDoc, final: { calibrationRows: final.calibrationMetrics }, ...(final.metrics ?? {}), ...(regimeDoc === null ? {} : { regime: { states: regimeDoc.hmm.states, iterations: regimeDoc.iterations, logLikelihood: regimeDoc.logLikelihood } }) }));
  files.set('training-config.yaml', Buffer.from(configText));
  oof.sort((a, b) => a.fold - b.fold || a.row - b.row);
  const cell = (v: number) => (Number.isNaN(v) ? '' : String(v));
  const oofLines = oof.map((o) => `${new Date(table.ts[o.row]!).toISOString().replace('.000Z', 'Z')},${table.symbols[table.symbolCodes[o.row]!]},${Array.from(o.values, cell).join(',')},${o.fold}`);
  files.set('oof-predictions.csv', Buffer.from(`ts,symbol,${fields.join(',')},fold\n${oofLines.join('\n')}\n`));
  files.set('folds.json', json(foldsDocument(plan, spans, { dir: config.dataset, fingerprint: data.dataset.manifest.fingerprint, labelSet: data.labels.name, target: config.labels.target, labelSha256: data.labels.entry.sha256 })));
  const c = common();
  const manifest = writeBundle(
    config.out,
    {
      ...c.manifest,
      scaler: final.scaler,
      model: { ...final.model, objective: spec.objective, quantiles: [...spec.quantiles], ...(spec.interval === undefined ? {} : { interval: spec.interval }), outputs: fields, exporter: { package: 'barflow', version: packageVersion() } },
      ...(regimeDoc === null ? {} : { regime: { method: 'hmm' as const, file: 'regime.json', columns: regimeDoc.columns, states: regimeDoc.hmm.states } }),
      ...(final.ensemble === undefined ? {} : { ensemble: final.ensemble }),
    },
    files,
  );
  rmSync(checkpointDir, { recursive: true, force: true });
  return { manifest, objective: spec.objective, cv, final: { calibration: final.calibrationMetrics } };
}

/** Appends regime_score (the filtered probability of the high-volatility state) to each test row's contract fields. */
function withRegime(out: Float64Array, test: number[], w: number, probs: Float64Array | null, states: number, high: number): Float64Array {
  if (probs === null) return out;
  const wide = new Float64Array(test.length * (w + 1));
  test.forEach((r, i) => {
    wide.set(out.subarray(i * w, (i + 1) * w), i * (w + 1));
    wide[i * (w + 1) + w] = probs[r * states + high]!;
  });
  return wide;
}

/** The roles of the input columns in input order, when the dataset recorded them. */
function inputRoles(columns: readonly string[], roles: Readonly<Record<string, ColumnRole>> | undefined): { roles?: Record<string, ColumnRole> } {
  return roles === undefined ? {} : { roles: Object.fromEntries(columns.map((c) => [c, roles[c]!])) };
}

/** Progress inside one fit (epochs, rounds), with its own time estimate. */
function stepReporter(fit: string, folds: number, onProgress?: (p: TrainProgress) => void): TrainInputProgress | undefined {
  if (onProgress === undefined) return undefined;
  const started = performance.now();
  return (p) => {
    const seconds = (performance.now() - started) / 1000;
    onProgress({ stage: 'step', fold: 0, folds, seconds, etaSeconds: 0, step: { fit, step: p.step, steps: p.steps, loss: p.loss, seconds, etaSeconds: (seconds / Math.max(1, p.step)) * (p.steps - p.step) } });
  };
}

type TrainInputProgress = NonNullable<TrainInput['onProgress']>;

