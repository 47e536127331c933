import { CrossConformal, conformalQuantile } from '../conformal/conformal.js';
import { type ModelKind, kindsFor, modelKind } from '../models/index.js';
import type { ScalerParams } from '../models/scaler.js';
import type { ObjectiveSpec } from '../objectives/objective.js';
import { declaredOutputs } from '../objectives/outputContract.js';
import { modelView } from '../views/modelView.js';
import { type FitRequest, type Fitted, fitOnRows, predictRows, tableInputs } from './fitRows.js';
import type { SingleModelConfig, TrainConfig } from './trainConfig.js';
import type { FinalModel, TrainPath } from './trainPath.js';
import { loadTrainingData } from './trainingRows.js';

const json = (v: unknown) => Buffer.from(`${JSON.stringify(v, null, 2)}\n`);

/** A kind and its validated params, refused with what would work. */
export function resolveKind(name: string, rawParams: Record<string, unknown>, spec: ObjectiveSpec, where: string): { kind: ModelKind; params: unknown } {
  if (name === 'stacking' || name === 'voting') throw new Error(`${where}.kind: an ensemble cannot be a base of another`);
  const kind = modelKind(name);
  if (!kind.objectives.includes(spec.objective)) {
    throw new Error(`model kind ${kind.name} does not support objective ${spec.objective} (it supports ${kind.objectives.join(', ')}); kinds for ${spec.objective}: ${kindsFor(spec.objective).join(', ') || 'none'}`);
  }
  const parsed = kind.params.safeParse(rawParams);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${where}.params.${issue.path.join('.')}: ${issue.message}`);
  }
  return { kind, params: parsed.data };
}

/**
 * One model. Its folds fit like the final model; with conformal jackknife_plus the fold models are
 * kept (the bundle serves them beside the final one) and their out-of-fold residuals are the CV+
 * scores.
 */
export function singlePath(config: TrainConfig, spec: ObjectiveSpec, metadata: Record<string, string>): TrainPath {
  const m = config.model as SingleModelConfig;
  const { kind, params } = resolveKind(m.kind, m.params, spec, 'model');
  const view = modelView(kind.view);
  const data = loadTrainingData(config, view, config.regime?.features ?? []);
  kind.checkInput?.(view.dims(1, data.columns.length, data.viewParams).slice(1), params);
  const inputs = tableInputs(data);
  const targets = { ts: data.dataset.table.ts, t1: data.t1, y: data.y, ret: data.ret };
  const jackknife = spec.interval?.method === 'jackknife_plus';
  // The folds of a jackknife+ model fit without the interval (it needs every fold's residuals).
  const foldSpec: ObjectiveSpec = jackknife ? { objective: spec.objective, quantiles: spec.quantiles } : spec;
  const request = (s: ObjectiveSpec, dir: string, onStep: FitRequest['onStep'], cross?: FitRequest['contract']['cross']): FitRequest => ({
    kind, params, spec: s, inputs, targets, contract: { calibration: config.calibration.method, ...(cross === undefined ? {} : { cross }) }, fraction: config.calibration.fraction, seed: config.seed, metadata, checkpointDir: dir, onStep,
  });
  const declared = declaredOutputs(spec);
  const widen = (out: Float64Array, n: number) => {
    // The fold's outputs are e_r only; its interval fields are filled by finishOof.
    if (!jackknife) return out;
    const wide = new Float64Array(n * declared.length).fill(Number.NaN);
    for (let i = 0; i < n; i++) wide[i * declared.length] = out[i]!;
    return wide;
  };
  return {
    data,
    eligible: data.eligible,
    spec,
    async fold(_index, train, test, ctx) {
      const fit = await fitOnRows(request(foldSpec, ctx.dir, ctx.step('')), train);
      const pred = await predictRows(fit, inputs, test);
      return { outputs: widen(pred, test.length), ...(jackknife ? { keep: { ...keepFit(fit), e: Array.from(pred) } } : {}) };
    },
    finishOof(oof) {
      if (!jackknife) return;
      // Out of fold, row i of fold k gets e_r ± the conformal quantile of the other folds'
      // residuals: an interval from models and scores that never saw it.
      const byFold = new Map<number, number[]>();
      for (const o of oof) {
        const r = Math.abs(data.y[o.row]! - o.values[0]!);
        if (!Number.isNaN(r)) (byFold.get(o.fold) ?? byFold.set(o.fold, []).get(o.fold)!).push(r);
      }
      const half = new Map([...byFold.keys()].map((k) => [k, conformalQuantile([...byFold.entries()].filter(([f]) => f !== k).flatMap(([, v]) => v), spec.interval!.coverage)]));
      for (const o of oof) {
        const h = half.get(o.fold) ?? Number.NaN;
        o.values[1] = o.values[0]! - h;
        o.values[2] = o.values[0]! + h;
        o.values[3] = 2 * h;
      }
    },
    async final(rows, folds, ctx) {
      let cross: FitRequest['contract']['cross'];
      if (jackknife) {
        const residuals: number[] = [];
        const foldOf: number[] = [];
        folds.forEach((f, k) => {
          const kept = f.keep as KeptFit;
          for (let i = 0; i < f.test.length; i++) {
            residuals.push(Math.abs(data.y[f.test[i]!]! - kept.e[i]!));
            foldOf.push(k);
          }
        });
        cross = new CrossConformal(residuals, foldOf, folds.length, spec.interval!.coverage).toJson();
      }
      const fit = await fitOnRows(request(spec, ctx.dir, ctx.step('final model'), cross), rows);
      const files = new Map<string, Uint8Array>();
      for (const [name, bytes] of fit.artifact.files) files.set(`model/${name}`, bytes);
      files.set('scaler.json', json(fit.scaler));
      const members: { files: string[]; scaler: string }[] = [];
      folds.forEach((f, k) => {
        if (!jackknife) return;
        const kept = f.keep as KeptFit;
        const names = Object.keys(kept.files).sort();
        for (const n of names) files.set(`folds/${k}/model/${n}`, Buffer.from(kept.files[n]!, 'base64'));
        files.set(`folds/${k}/scaler.json`, json(kept.scaler));
        members.push({ files: names.map((n) => `folds/${k}/model/${n}`), scaler: `folds/${k}/scaler.json` });
      });
      const rawOutputs = ['e_r', ...members.map((_, k) => `e_r_fold${k}`)];
      const model: FinalModel['model'] = {
        kind: kind.name,
        family: kind.family,
        causal: kind.causal,
        format: fit.artifact.format,
        files: [...fit.artifact.files.keys()].map((f) => `model/${f}`),
        view: { name: kind.view, params: data.viewParams },
        rawOutputs: jackknife ? rawOutputs : fit.scorer.outputs.slice(),
        ...(jackknife ? { members } : {}),
      };
      return { files, model, scaler: 'scaler.json', contract: fit.contract, calibrationMetrics: fit.calibrationMetrics };
    },
  };
}

/** A fold model kept for jackknife+: its files, scaler and its predictions of the fold's test rows. */
interface KeptFit {
  files: Record<string, string>;
  scaler: ScalerParams;
  e: number[];
}

function keepFit(fit: Fitted): Omit<KeptFit, 'e'> {
  return { files: Object.fromEntries([...fit.artifact.files].map(([n, b]) => [n, Buffer.from(b).toString('base64')])), scaler: fit.scaler };
}

