import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { gitCommit, packageVersion } from '../../codeVersion.js';
import type { ColumnRole } from '../../operators/featureSet.js';
import { PACKAGE_ROOT } from '../../paths.js';
import { writeBundle } from '../../serving/bundle/bundle.js';
import type { BundleManifest } from '../../serving/bundle/bundleManifest.js';
import { type ObjectiveMetrics, meanOfMetrics, metricsFromJson, objectiveMetrics } from '../evaluation/objectiveMetrics.js';
import { type Artifact, type ModelKind, type Scorer, type TrainInput, kindsFor, modelKind } from '../models/index.js';
import { type Objective, type ObjectiveSpec, rawOutputs } from '../objectives/objective.js';
import { OutputContract, declaredOutputs, fitContract } from '../objectives/outputContract.js';
import { modelView } from '../views/modelView.js';
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
  const spec: ObjectiveSpec = { objective: config.objective, quantiles: config.objective === 'quantile' ? config.quantiles : [] };
  if (!kind.objectives.includes(spec.objective)) {
    throw new Error(`model kind ${kind.name} does not support objective ${spec.objective} (it supports ${kind.objectives.join(', ')}); kinds for ${spec.objective}: ${kindsFor(spec.objective).join(', ') || 'none'}`);
  }
  const parsed = kind.params.safeParse(config.model.params);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`model.params.${issue.path.join('.')}: ${issue.message}`);
  }
  const params = parsed.data;
  const view = modelView(kind.view);
  const data = loadTrainingData(config, view);
  kind.checkInput?.(view.dims(1, data.columns.length, data.viewParams).slice(1), params);
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
  const metadata = { model: config.name, version: config.version, schema_hash: data.dataset.manifest.featureSet.schemaHash };
  const fields = declaredOutputs(spec);
  const width = fields.length;

  const cv: TrainResult['cv'] = [];
  const oof: { row: number; values: ArrayLike<number | null>; fold: number }[] = [];
  const started = performance.now();
  for (const fold of plan.folds) {
    const path = join(checkpointDir, `fold-${fold.index}.json`);
    let cp: FoldCheckpoint | null = null;
    if (existsSync(path)) {
      const saved = JSON.parse(readFileSync(path, 'utf8')) as FoldCheckpoint;
      if (saved.configSha256 !== configSha256 || saved.dataKey !== dataKey(fold.test)) throw new Error(`${path} was made with another config, dataset, labels or code; delete ${checkpointDir} to start over`);
      cp = { ...saved, metrics: metricsFromJson(saved.metrics) };
    }
    const resumed = cp !== null;
    if (cp === null) {
      const fit = await fitOnRows(kind, params, spec, config, data, fold.train, join(checkpointDir, `fold-${fold.index}`), metadata, stepReporter(`fold ${fold.index + 1}/${plan.folds.length}`, plan.folds.length, onProgress));
      const test = Array.from(fold.test);
      const out = await predictRows(fit, data, test);
      const outputs = Array.from(out, (v) => (Number.isNaN(v) ? null : v));
      cp = { configSha256, dataKey: dataKey(fold.test), fold: fold.index, rows: test, outputs, metrics: objectiveMetrics(spec, fields, out, test.map((r) => data.y[r]!)) };
      writeFileSync(`${path}.tmp`, JSON.stringify(cp));
      renameSync(`${path}.tmp`, path);
    }
    const saved = cp;
    saved.rows.forEach((row, i) => oof.push({ row, values: saved.outputs.slice(i * width, (i + 1) * width), fold: fold.index }));
    cv.push({ fold: fold.index, metrics: saved.metrics, resumed });
    const seconds = (performance.now() - started) / 1000;
    const done = cv.length;
    onProgress?.({ stage: 'fold', fold: done, folds: plan.folds.length, seconds, etaSeconds: (seconds / done) * (plan.folds.length + 1 - done), resumed });
  }

  const final = await fitOnRows(kind, params, spec, config, data, data.eligible, join(checkpointDir, 'final'), metadata, stepReporter('final model', plan.folds.length, onProgress));
  onProgress?.({ stage: 'final', fold: plan.folds.length, folds: plan.folds.length, seconds: (performance.now() - started) / 1000, etaSeconds: 0 });

  const files = new Map<string, Uint8Array>();
  for (const [name, bytes] of final.artifact.files) files.set(`model/${name}`, bytes);
  const json = (v: unknown) => Buffer.from(`${JSON.stringify(v, null, 2)}\n`);
  files.set('features.yaml', fsBytes);
  files.set('scaler.json', json(final.scaler));
  files.set('calibrator.json', json(final.contract.toJson()));
  const cvMean = meanOfMetrics(cv.map((c) => c.metrics));
  files.set('metrics.json', json({ objective: spec.objective, cv: { method: plan.method, folds: cv.map((c) => ({ fold: c.fold, ...c.metrics })), mean: cvMean }, final: { calibrationRows: final.calibrationMetrics } }));
  files.set('training-config.yaml', Buffer.from(configText));
  const table = data.dataset.table;
  oof.sort((a, b) => a.fold - b.fold || a.row - b.row);
  const cell = (v: number | null) => (v === null ? '' : String(v));
  const oofLines = oof.map((o) => `${new Date(table.ts[o.row]!).toISOString().replace('.000Z', 'Z')},${table.symbols[table.symbolCodes[o.row]!]},${Array.from(o.values, cell).join(',')},${o.fold}`);
  files.set('oof-predictions.csv', Buffer.from(`ts,symbol,${fields.join(',')},fold\n${oofLines.join('\n')}\n`));
  files.set('folds.json', json(foldsDocument(plan, spans, { dir: config.dataset, fingerprint: data.dataset.manifest.fingerprint, labelSet: data.labels.name, target: config.labels.target, labelSha256: data.labels.entry.sha256 })));
  const manifest = writeBundle(
    config.out,
    {
      format: 'barflow.bundle',
      formatVersion: 2,
      name: config.name,
      version: config.version,
      model: {
        kind: kind.name,
        family: kind.family,
        causal: kind.causal,
        format: final.artifact.format,
        files: [...final.artifact.files.keys()].map((f) => `model/${f}`),
        view: { name: kind.view, params: data.viewParams },
        objective: spec.objective,
        quantiles: [...spec.quantiles],
        outputs: fields,
        rawOutputs: rawOutputs(spec),
        exporter: { package: 'barflow', version: packageVersion() },
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
  return { manifest, objective: spec.objective, cv, final: { calibration: final.calibrationMetrics } };
}

/** The roles of the input columns in input order, when the dataset recorded them. */
function inputRoles(columns: readonly string[], roles: Readonly<Record<string, ColumnRole>> | undefined): { roles?: Record<string, ColumnRole> } {
  return roles === undefined ? {} : { roles: Object.fromEntries(columns.map((c) => [c, roles[c]!])) };
}

interface Fitted {
  artifact: Artifact;
  scorer: Scorer;
  scaler: ReturnType<typeof fitStandardScaler>;
  contract: OutputContract;
  calibrationMetrics: ObjectiveMetrics;
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

/**
 * Fits on a training set: its last `calibration.fraction` by time fits the output contract
 * (calibrator, expected returns) and is the watch slice for early stopping; the rest, purged of
 * rows whose labels end at or after the calibration slice begins, is what the scaler and the model
 * fit on. The model's own predictions go
 * through its loaded artifact, as serving's do.
 */
async function fitOnRows(kind: ModelKind, params: unknown, spec: ObjectiveSpec, config: TrainConfig, data: TrainingData, rows: ArrayLike<number>, checkpointDir: string, metadata: Record<string, string>, onStep?: TrainInputProgress): Promise<Fitted> {
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
  const { x, dims } = modelInputs(data, scaler, fitRows);
  const y = Float32Array.from(fitRows, (r) => data.y[r]!);
  // The calibration slice comes after every fitted row (purged): it is also the watch slice a
  // kind may stop early on (LSTM `patience`, XGBoost `earlyStoppingRounds`).
  const calibInputs = modelInputs(data, scaler, calib);
  const yc = calib.map((r) => data.y[r]!);
  const watch = { x: calibInputs.x, dims: calibInputs.dims, n: calib.length, y: Float32Array.from(yc) };
  const artifact = await kind.train({ x, dims, n: fitRows.length, f: data.columns.length, y, objective: spec, watch, seed: config.seed, metadata, checkpointDir, onProgress: onStep }, params);
  const scorer = await kind.load(artifact, spec);
  const rawCalib = await scorer.score(calibInputs.x, calibInputs.dims);
  const contract = new OutputContract(spec, fitContract(spec, { raw: rawCalib, y: yc, fitted: { y: Array.from(fitRows, (r) => data.y[r]!), ret: Array.from(fitRows, (r) => data.ret[r]!) }, calibration: config.calibration.method }));
  const out = applyContract(contract, rawCalib, calib.length);
  return { artifact, scorer, scaler, contract, calibrationMetrics: objectiveMetrics(spec, contract.fields, out, yc) };
}

/** The declared outputs of the rows, row-major n × contract.fields. */
async function predictRows(fit: Fitted, data: TrainingData, rows: number[]): Promise<Float64Array> {
  const { x, dims } = modelInputs(data, fit.scaler, rows);
  return applyContract(fit.contract, await fit.scorer.score(x, dims), rows.length);
}

function applyContract(contract: OutputContract, raw: Float64Array, n: number): Float64Array {
  const w = contract.fields.length;
  const out = new Float64Array(n * w);
  for (let i = 0; i < n; i++) contract.row(raw, i, out, i * w);
  return out;
}
