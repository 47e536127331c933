import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { gitCommit, packageVersion } from '../../codeVersion.js';
import type { ColumnRole } from '../../operators/featureSet.js';
import { PACKAGE_ROOT } from '../../paths.js';
import { writeBundle } from '../../serving/bundle/bundle.js';
import type { BundleManifest } from '../../serving/bundle/bundleManifest.js';
import { type ClassificationMetrics, classificationMetrics } from '../evaluation/classificationMetrics.js';
import { type Calibrator, calibrate, fitCalibrator } from '../models/calibration.js';
import { type ModelKind, modelKind } from '../models/index.js';
import { fitStandardScaler } from '../models/scaler.js';
import { foldsDocument, makeSplits, parseEmbargo, type SplitMethod } from '../splits/index.js';
import type { TrainConfig } from './trainConfig.js';
import { type TrainingData, loadTrainingData, modelInputs } from './trainingRows.js';

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
  cv: { fold: number; metrics: ClassificationMetrics; resumed: boolean }[];
  final: { calibration: ClassificationMetrics };
}

interface FoldCheckpoint {
  configSha256: string;
  /** The dataset, labels, code and the fold's test rows it was made for. */
  dataKey: string;
  fold: number;
  rows: number[];
  p: number[];
  metrics: ClassificationMetrics;
}

const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');

/**
 * Trains a model from a config: cross-validated out-of-fold predictions (each fold checkpointed, so
 * an interrupted run resumes after its last finished fold), then the final model on every eligible
 * row, its scaler fitted on the rows it learns from and its calibrator on a later, purged slice;
 * then the bundle. Same config and seed: the same bundle bytes.
 */
export async function trainFromConfig(config: TrainConfig, configText: string, onProgress?: (p: TrainProgress) => void): Promise<TrainResult> {
  const kind = modelKind(config.model.kind);
  const parsed = kind.params.safeParse(config.model.params);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`model.params.${issue.path.join('.')}: ${issue.message}`);
  }
  const params = parsed.data;
  const data = loadTrainingData(config, kind.view);
  const fsFile = data.dataset.manifest.featureSet.file;
  const fsPath = isAbsolute(fsFile) ? fsFile : resolve(PACKAGE_ROOT, fsFile);
  const fsBytes = existsSync(fsPath) ? readFileSync(fsPath) : null;
  if (fsBytes === null || sha(fsBytes) !== data.dataset.manifest.featureSet.fileSha256) {
    throw new Error(`the dataset was made with feature-set file ${fsFile}, which is ${fsBytes === null ? 'missing' : 'changed since'}: the bundle must carry the exact file`);
  }
  const configSha256 = sha(configText);
  const checkpointDir = `${config.out}.checkpoint`;
  mkdirSync(checkpointDir, { recursive: true });

  const embargo = typeof config.cv.embargo === 'number' ? { bars: config.cv.embargo } : parseEmbargo(config.cv.embargo);
  const method: SplitMethod =
    config.cv.method === 'cpcv'
      ? { method: 'cpcv', groups: config.cv.groups, testGroups: config.cv.testGroups, embargo }
      : config.cv.method === 'walk_forward'
        ? { method: 'walk_forward', folds: config.cv.k, mode: 'expanding', embargo }
        : { method: 'purged_kfold', k: config.cv.k, embargo };
  const spans = { ts: data.dataset.table.ts, t1: data.t1 };
  const plan = makeSplits(spans, method);
  const dataKey = (test: Int32Array) =>
    sha(JSON.stringify([data.dataset.manifest.fingerprint, data.labels.entry.sha256, packageVersion(), gitCommit(), sha(new Uint8Array(test.buffer, test.byteOffset, test.byteLength))]));

  const cv: TrainResult['cv'] = [];
  const oof: { row: number; p: number; fold: number }[] = [];
  const started = performance.now();
  for (const fold of plan.folds) {
    const path = join(checkpointDir, `fold-${fold.index}.json`);
    let cp: FoldCheckpoint | null = null;
    if (existsSync(path)) {
      const saved = JSON.parse(readFileSync(path, 'utf8')) as FoldCheckpoint;
      if (saved.configSha256 !== configSha256 || saved.dataKey !== dataKey(fold.test)) throw new Error(`${path} was made with another config, dataset, labels or code; delete ${checkpointDir} to start over`);
      // JSON has no NaN (an AUC of a one-class fold): null is NaN again, as in a straight run.
      for (const k of Object.keys(saved.metrics) as (keyof ClassificationMetrics)[]) if (saved.metrics[k] === null) saved.metrics[k] = Number.NaN;
      cp = saved;
    }
    const resumed = cp !== null;
    if (cp === null) {
      const fit = await fitOnRows(kind, params, config, data, fold.train, join(checkpointDir, `fold-${fold.index}`), stepReporter(`fold ${fold.index + 1}/${plan.folds.length}`, plan.folds.length, onProgress));
      const test = Array.from(fold.test);
      const p = await predictRows(fit, config, data, kind, test);
      cp = { configSha256, dataKey: dataKey(fold.test), fold: fold.index, rows: test, p: Array.from(p), metrics: classificationMetrics(p, test.map((r) => data.y[r]!)) };
      writeFileSync(`${path}.tmp`, JSON.stringify(cp));
      renameSync(`${path}.tmp`, path);
    }
    cp.rows.forEach((row, i) => oof.push({ row, p: cp!.p[i]!, fold: fold.index }));
    cv.push({ fold: fold.index, metrics: cp.metrics, resumed });
    const seconds = (performance.now() - started) / 1000;
    const done = cv.length;
    onProgress?.({ stage: 'fold', fold: done, folds: plan.folds.length, seconds, etaSeconds: (seconds / done) * (plan.folds.length + 1 - done), resumed });
  }

  const final = await fitOnRows(kind, params, config, data, data.eligible, join(checkpointDir, 'final'), stepReporter('final model', plan.folds.length, onProgress));
  onProgress?.({ stage: 'final', fold: plan.folds.length, folds: plan.folds.length, seconds: (performance.now() - started) / 1000, etaSeconds: 0 });

  const metadata = { model: config.name, version: config.version, schema_hash: data.dataset.manifest.featureSet.schemaHash };
  const exported = await final.model.export(metadata);
  const files = new Map<string, Uint8Array>();
  for (const [name, bytes] of exported.files) files.set(`model/${name}`, bytes);
  const json = (v: unknown) => Buffer.from(`${JSON.stringify(v, null, 2)}\n`);
  files.set('features.yaml', fsBytes);
  files.set('scaler.json', json(final.scaler));
  files.set('calibrator.json', json({ calibrator: final.calibrator, expectedReturn: final.expectedReturn }));
  const cvMean = meanMetrics(cv.map((c) => c.metrics));
  files.set('metrics.json', json({ cv: { method: plan.method, folds: cv.map((c) => ({ fold: c.fold, ...c.metrics })), mean: cvMean }, final: { calibrationRows: final.calibrationMetrics } }));
  files.set('training-config.yaml', Buffer.from(configText));
  const table = data.dataset.table;
  oof.sort((a, b) => a.fold - b.fold || a.row - b.row);
  files.set('oof-predictions.csv', Buffer.from(`ts,symbol,p_up,fold\n${oof.map((o) => `${new Date(table.ts[o.row]!).toISOString().replace('.000Z', 'Z')},${table.symbols[table.symbolCodes[o.row]!]},${o.p},${o.fold}`).join('\n')}\n`));
  files.set('folds.json', json(foldsDocument(plan, spans, { dir: config.dataset, fingerprint: data.dataset.manifest.fingerprint, labelSet: data.labels.name, target: config.labels.target, labelSha256: data.labels.entry.sha256 })));
  const manifest = writeBundle(
    config.out,
    {
      format: 'barflow.bundle',
      formatVersion: 1,
      name: config.name,
      version: config.version,
      model: {
        kind: kind.name,
        family: kind.family,
        view: kind.view,
        causal: kind.causal,
        format: exported.format,
        files: [...exported.files.keys()].map((f) => `model/${f}`),
        viewParams: kind.view === 'window' ? { seqLen: config.view.seqLen } : {},
        outputs: [...kind.outputs],
      },
      features: { file: 'features.yaml', schemaHash: data.dataset.manifest.featureSet.schemaHash, columns: data.columns, ...inputRoles(data.columns, data.dataset.manifest.featureSet.roles) },
      scaler: 'scaler.json',
      calibrator: 'calibrator.json',
      metrics: 'metrics.json',
      training: {
        config: 'training-config.yaml',
        configSha256,
        seed: config.seed,
        dataset: { dir: config.dataset, fingerprint: data.dataset.manifest.fingerprint },
        labels: { set: data.labels.name, target: config.labels.target, sha256: data.labels.entry.sha256 },
        code: { package: 'barflow', version: packageVersion(), gitCommit: gitCommit() },
      },
    },
    files,
  );
  rmSync(checkpointDir, { recursive: true, force: true });
  return { manifest, cv, final: { calibration: final.calibrationMetrics } };
}

/** The roles of the input columns in input order, when the dataset recorded them. */
function inputRoles(columns: readonly string[], roles: Readonly<Record<string, ColumnRole>> | undefined): { roles?: Record<string, ColumnRole> } {
  return roles === undefined ? {} : { roles: Object.fromEntries(columns.map((c) => [c, roles[c]!])) };
}

interface Fitted {
  model: Awaited<ReturnType<ModelKind['train']>>;
  scaler: ReturnType<typeof fitStandardScaler>;
  calibrator: Calibrator;
  calibrationMetrics: ClassificationMetrics;
  expectedReturn: { up: number; notUp: number };
}

/**
 * Fits on a training set: its last `calibration.fraction` by time calibrates; the rest, purged of
 * rows whose labels end at or after the calibration slice begins, is what the scaler and the model
 * see.
 */
/** Progress inside one fit (epochs, rounds), with its own time estimate. */
function stepReporter(fit: string, folds: number, onProgress?: (p: TrainProgress) => void): TrainInputProgress | undefined {
  if (onProgress === undefined) return undefined;
  const started = performance.now();
  return (p) => {
    const seconds = (performance.now() - started) / 1000;
    onProgress({ stage: 'step', fold: 0, folds, seconds, etaSeconds: 0, step: { fit, step: p.step, steps: p.steps, loss: p.loss, seconds, etaSeconds: (seconds / Math.max(1, p.step)) * (p.steps - p.step) } });
  };
}

type TrainInputProgress = NonNullable<Parameters<ModelKind['train']>[0]['onProgress']>;

async function fitOnRows(kind: ModelKind, params: unknown, config: TrainConfig, data: TrainingData, rows: ArrayLike<number>, checkpointDir: string, onStep?: TrainInputProgress): Promise<Fitted> {
  const ts = data.dataset.table.ts;
  const byTime = Array.from(rows).sort((a, b) => ts[a]! - ts[b]! || a - b);
  const cut = ts[byTime[Math.floor(byTime.length * (1 - config.calibration.fraction))]!]!;
  const calib = byTime.filter((r) => ts[r]! >= cut).sort((a, b) => a - b);
  const fitRows = Int32Array.from(byTime.filter((r) => ts[r]! < cut && data.t1[r]! < cut).sort((a, b) => a - b));
  if (fitRows.length < 10 || calib.length < 10) throw new Error(`too few rows to train (${fitRows.length}) and calibrate (${calib.length}): use more data or fewer folds`);
  const table = data.dataset.table;
  const raw = new Float64Array(fitRows.length * data.columns.length);
  const cols = data.columns.map((c) => table.column(c));
  fitRows.forEach((r, i) => cols.forEach((col, j) => (raw[i * cols.length + j] = col[r]!)));
  const scaler = fitStandardScaler(raw, fitRows.length, data.columns);
  const seqLen = config.view.seqLen;
  const x = modelInputs(data, scaler, kind.view, seqLen, fitRows);
  const y = Float32Array.from(fitRows, (r) => data.y[r]!);
  const model = await kind.train({ x, n: fitRows.length, f: data.columns.length, seqLen: kind.view === 'window' ? seqLen : undefined, y, seed: config.seed, checkpointDir, onProgress: onStep }, params);
  const rawP = await model.predict(modelInputs(data, scaler, kind.view, seqLen, calib), calib.length);
  const yc = calib.map((r) => data.y[r]!);
  const calibrator = fitCalibrator(config.calibration.method, rawP, yc);
  const calibrated = Array.from(rawP, (p) => calibrate(calibrator, p));
  let up = 0;
  let upN = 0;
  let down = 0;
  let downN = 0;
  for (const r of fitRows) {
    const v = data.ret[r]!;
    if (Number.isNaN(v)) continue;
    if (data.y[r] === 1) {
      up += v;
      upN++;
    } else {
      down += v;
      downN++;
    }
  }
  return { model, scaler, calibrator, calibrationMetrics: classificationMetrics(calibrated, yc), expectedReturn: { up: upN > 0 ? up / upN : Number.NaN, notUp: downN > 0 ? down / downN : Number.NaN } };
}

async function predictRows(fit: Fitted, config: TrainConfig, data: TrainingData, kind: ModelKind, rows: number[]): Promise<Float64Array> {
  const raw = await fit.model.predict(modelInputs(data, fit.scaler, kind.view, config.view.seqLen, rows), rows.length);
  return Float64Array.from(raw, (p) => calibrate(fit.calibrator, p));
}

function meanMetrics(ms: ClassificationMetrics[]): Record<string, number> {
  const keys = ['logLoss', 'brier', 'auc', 'accuracy', 'baseRate'] as const;
  return Object.fromEntries(keys.map((k) => [k, ms.reduce((a, m) => a + m[k], 0) / ms.length]));
}
