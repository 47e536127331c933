import { createHash } from 'node:crypto';
import { stringify as toYaml } from 'yaml';
import { nestedBundleFiles } from '../../serving/bundle/bundle.js';
import type { BundleManifest } from '../../serving/bundle/bundleManifest.js';
import { type ObjectiveMetrics, objectiveMetrics } from '../evaluation/objectiveMetrics.js';
import type { ModelKind } from '../models/index.js';
import type { ObjectiveSpec } from '../objectives/objective.js';
import { declaredOutputs } from '../objectives/outputContract.js';
import { makeSplits, type Embargo } from '../splits/index.js';
import { modelView } from '../views/modelView.js';
import { type Fitted, type ModelInputs, fitOnRows, matrixInputs, predictRows, tableInputs } from '../train/fitRows.js';
import { resolveKind } from '../train/singleTrain.js';
import type { StackingConfig, TrainConfig, VotingConfig } from '../train/trainConfig.js';
import type { FinalModel, FitContext, TrainPath } from '../train/trainPath.js';
import { type TrainingData, loadTrainingData } from '../train/trainingRows.js';
import { baseFields, metaChoice } from './metaLearner.js';

const json = (v: unknown) => Buffer.from(`${JSON.stringify(v, null, 2)}\n`);

interface Base {
  kind: ModelKind;
  params: unknown;
  data: TrainingData;
  inputs: ModelInputs;
  config: StackingConfig['base'][number];
}

/** Bundle parts every bundle written by a training shares (the parent's manifest sections). */
export interface BundleCommon {
  manifest: Omit<BundleManifest, 'files' | 'model' | 'regime' | 'ensemble'>;
  featuresFile: Uint8Array;
  exporterVersion: string;
}

/**
 * Stacking and voting. The bases' out-of-fold outputs come from the same purged folds as the
 * ensemble's; the meta-learner (or the pool's weights) learns from out-of-fold rows only. Its own
 * evaluation is nested: in each outer fold, the bases are cross-validated again inside the
 * outer training rows (purged folds, the same embargo), the meta-learner fits on those inner
 * out-of-fold rows, and the outer test rows reach no base's or meta-learner's fit. The final meta-
 * learner fits on the outer folds' out-of-fold base outputs; the final bases on every row.
 */
export function ensemblePath(config: TrainConfig, spec: ObjectiveSpec, metadata: Record<string, string>, embargo: Embargo, common: () => BundleCommon): TrainPath {
  const e = config.model as StackingConfig | VotingConfig;
  if (spec.interval?.method === 'jackknife_plus') throw new Error('conformal jackknife_plus needs one model per fold; an ensemble takes split, cqr or adaptive');
  const baseSpec: ObjectiveSpec = { objective: spec.objective, quantiles: spec.quantiles };
  const extra = config.regime?.features ?? [];
  const bases: Base[] = e.base.map((b, i) => {
    const { kind, params } = resolveKind(b.kind, b.params, baseSpec, `model.base.${i}`);
    const view = modelView(kind.view);
    const data = loadTrainingData({ ...config, view: b.view ?? config.view }, view, extra);
    kind.checkInput?.(view.dims(1, data.columns.length, data.viewParams).slice(1), params);
    return { kind, params, data, inputs: tableInputs(data), config: b };
  });
  // Rows every base can answer (a window base starts later than a tabular one).
  let eligible = bases[0]!.data.eligible;
  for (const b of bases.slice(1)) {
    const has = new Set(b.data.eligible);
    eligible = eligible.filter((r) => has.has(r));
  }
  const first = bases[0]!.data;
  const t1 = new Float64Array(first.t1.length).fill(Number.NaN);
  for (const r of eligible) t1[r] = first.t1[r]!;
  const data: TrainingData = { ...first, eligible, t1 };
  const targets = { ts: data.dataset.table.ts, t1, y: data.y, ret: data.ret };
  const n = data.dataset.table.n;
  const fields = baseFields(baseSpec);
  const width = fields.length;
  const states = (e.kind === 'stacking' ? e.regimeInputs : e.weights === 'gated') ? config.regime!.states : 0;
  const metaConfig = e.kind === 'stacking' ? e.meta : { kind: 'pool', params: { weights: e.weights, space: e.space } };
  const choice = metaChoice({ form: e.kind, meta: metaConfig, bases: bases.length, states }, spec);
  const innerK = e.kind === 'stacking' ? e.innerFolds : 3;

  const baseRequest = (b: Base, dir: string, ctx: FitContext, label: string) => ({
    kind: b.kind, params: b.params, spec: baseSpec, inputs: b.inputs, targets, contract: { calibration: config.calibration.method }, fraction: config.calibration.fraction, seed: config.seed, metadata, checkpointDir: dir, onStep: ctx.step(label),
  });
  /** Fits every base on `train` and writes their raw-like outputs of `test` into `values` (dataset row × bases × width). */
  const fitAndPredict = async (train: Int32Array, test: ArrayLike<number>, values: Float64Array | null, ctx: FitContext, label: string): Promise<Fitted[]> => {
    const fits: Fitted[] = [];
    for (const [i, b] of bases.entries()) {
      const fit = await fitOnRows(baseRequest(b, `${ctx.dir}-base${i}`, ctx, `${label} base ${i} (${b.kind.name})`), train);
      fits.push(fit);
      if (values === null) continue;
      const out = await predictRows(fit, b.inputs, test);
      const declared = fit.contract.fields;
      const picks = fields.map((f) => declared.indexOf(f));
      for (let k = 0; k < test.length; k++) for (let j = 0; j < width; j++) values[(test[k]! * bases.length + i) * width + j] = out[k * declared.length + picks[j]!]!;
    }
    return fits;
  };
  /** The meta-inputs of every dataset row whose base values (and regime) are all present. */
  const metaMatrix = (values: Float64Array, regime: Float64Array | null) => {
    const m = choice.columns.length;
    const x = new Float64Array(n * m).fill(Number.NaN);
    const rows: number[] = [];
    const v = new Float64Array(bases.length * width);
    for (let r = 0; r < n; r++) {
      v.set(values.subarray(r * bases.length * width, (r + 1) * bases.length * width));
      if (v.some(Number.isNaN)) continue;
      const reg = regime === null ? null : regime.subarray(r * config.regime!.states, (r + 1) * config.regime!.states);
      if (states > 0 && reg!.some(Number.isNaN)) continue;
      choice.inputs(v, reg, x, r * m);
      rows.push(r);
    }
    return { inputs: matrixInputs(choice.columns, x), rows: Int32Array.from(rows) };
  };
  const fitMeta = (meta: ReturnType<typeof metaMatrix>, rows: Int32Array, s: ObjectiveSpec, dir: string, ctx: FitContext, label: string) =>
    fitOnRows({ kind: choice.kind, params: choice.params, spec: s, kindSpec: choice.kindSpec, inputs: meta.inputs, targets, contract: { calibration: config.calibration.method }, fraction: config.calibration.fraction, seed: config.seed, metadata, checkpointDir: dir, onStep: ctx.step(label), standardise: choice.standardise }, rows);
  const metaScorer = (fit: Fitted) => ({ ...fit, scorer: choice.wrap(fit.scorer) });
  const blank = () => new Float64Array(n * bases.length * width).fill(Number.NaN);

  return {
    data,
    eligible,
    spec,
    async fold(index, train, test, ctx) {
      // Inner purged folds over the outer training rows only.
      const innerT1 = new Float64Array(n).fill(Number.NaN);
      for (const r of train) innerT1[r] = t1[r]!;
      const inner = makeSplits({ ts: targets.ts, t1: innerT1 }, { method: 'purged_kfold', k: innerK, embargo });
      const innerValues = blank();
      for (const f of inner.folds) await fitAndPredict(f.train, f.test, innerValues, { ...ctx, dir: `${ctx.dir}-inner${f.index}` }, `fold ${index + 1} inner ${f.index + 1}/${inner.folds.length}`);
      const innerMeta = metaMatrix(innerValues, ctx.regime);
      const meta = metaScorer(await fitMeta(innerMeta, innerMeta.rows, spec, `${ctx.dir}-meta`, ctx, `fold ${index + 1} meta`));
      const outerValues = blank();
      await fitAndPredict(train, test, outerValues, ctx, `fold ${index + 1}`);
      const outerMeta = metaMatrix(outerValues, ctx.regime);
      const answered = new Set(outerMeta.rows);
      const ok = test.filter((r) => answered.has(r));
      const out = await predictRows(meta, outerMeta.inputs, ok);
      const w = meta.contract.fields.length;
      const outputs = new Float64Array(test.length * w).fill(Number.NaN);
      let k = 0;
      test.forEach((r, i) => answered.has(r) && outputs.set(out.subarray(k * w, ++k * w), i * w));
      const keep = test.map((r) => Array.from(outerValues.subarray(r * bases.length * width, (r + 1) * bases.length * width), (v) => (Number.isNaN(v) ? null : v)));
      return { outputs, keep };
    },
    async final(rows, folds, ctx) {
      const oofValues = blank();
      for (const f of folds) (f.keep as (number | null)[][]).forEach((v, i) => v.forEach((x, j) => (oofValues[f.test[i]! * bases.length * width + j] = x ?? Number.NaN)));
      const meta = metaMatrix(oofValues, ctx.regime);
      const metaFit = metaScorer(await fitMeta(meta, meta.rows, spec, `${ctx.dir}-meta`, ctx, 'final meta'));
      const files = new Map<string, Uint8Array>();
      for (const [name, bytes] of metaFit.artifact.files) files.set(`meta/${name}`, bytes);
      files.set('meta/scaler.json', json(metaFit.scaler));
      // The bases' out-of-fold metrics, from the outer folds (each base as its own model).
      const baseMetrics: ObjectiveMetrics[] = [];
      const c = common();
      const fits = await fitAndPredict(rows, [], null, ctx, 'final');
      for (const [i, b] of bases.entries()) {
        const tested = meta.rows;
        const bs = declaredOutputs(baseSpec);
        const out = new Float64Array(tested.length * bs.length).fill(Number.NaN);
        tested.forEach((r, k) => fields.forEach((f, j) => (out[k * bs.length + bs.indexOf(f)] = oofValues[(r * bases.length + i) * width + j]!)));
        baseMetrics.push(objectiveMetrics(baseSpec, bs, out, Array.from(tested, (r) => data.y[r]!)));
        for (const [path, bytes] of baseBundle(b, fits[i]!, c, config, baseSpec, i)) files.set(path, bytes);
      }
      const model: FinalModel['model'] = {
        kind: e.kind,
        family: 'ensemble',
        causal: bases.every((b) => b.kind.causal),
        format: metaFit.artifact.format,
        files: [...metaFit.artifact.files.keys()].map((f) => `meta/${f}`),
        view: { name: 'tabular', params: {} },
        rawOutputs: metaFit.scorer.outputs.slice(),
      };
      const ensemble = { form: e.kind, meta: metaConfig, bases: bases.map((b, i) => ({ dir: `bases/${i}`, kind: b.kind.name, view: b.kind.view })), states, inputs: choice.columns };
      return { files, model, ensemble, scaler: 'meta/scaler.json', contract: metaFit.contract, calibrationMetrics: metaFit.calibrationMetrics, metrics: { bases: bases.map((b, i) => ({ base: i, kind: b.kind.name, oof: baseMetrics[i] })), metaRows: meta.rows.length } };
    },
  };
}

/** A base's final fit as a complete bundle under bases/<i>/: it opens and serves on its own. */
function baseBundle(b: Base, fit: Fitted, c: BundleCommon, config: TrainConfig, spec: ObjectiveSpec, i: number): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const [name, bytes] of fit.artifact.files) files.set(`model/${name}`, bytes);
  files.set('features.yaml', c.featuresFile);
  files.set('scaler.json', json(fit.scaler));
  files.set('calibrator.json', json(fit.contract.toJson()));
  files.set('metrics.json', json({ objective: spec.objective, final: { calibrationRows: fit.calibrationMetrics } }));
  const { regime: _r, conformal: _c, ...rest } = config;
  const text = toYaml({ ...rest, name: `${config.name}.base${i}`, model: { kind: b.config.kind, params: b.config.params }, view: b.config.view ?? config.view, out: `${config.out}/bases/${i}` });
  files.set('training-config.yaml', Buffer.from(text));
  const configSha256 = createHash('sha256').update(text).digest('hex');
  const manifest: Omit<BundleManifest, 'files'> = {
    ...c.manifest,
    name: `${config.name}.base${i}`,
    model: {
      kind: b.kind.name,
      family: b.kind.family,
      causal: b.kind.causal,
      format: fit.artifact.format,
      files: [...fit.artifact.files.keys()].map((f) => `model/${f}`),
      view: { name: b.kind.view, params: b.data.viewParams },
      objective: spec.objective,
      quantiles: [...spec.quantiles],
      outputs: fit.contract.fields.slice(),
      rawOutputs: fit.scorer.outputs.slice(),
      exporter: { package: 'barflow', version: c.exporterVersion },
    },
    training: { ...c.manifest.training, config: 'training-config.yaml', configSha256 },
  };
  return nestedBundleFiles(`bases/${i}`, manifest, files);
}
