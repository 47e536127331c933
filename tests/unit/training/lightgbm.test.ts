import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../../src/paths.js';
import { rawOutputs, type ObjectiveSpec } from '../../../src/training/objectives/objective.js';
import { parseLightgbmDump, UnsupportedLightgbmModelError } from '../../../src/training/models/lightgbm/lightgbmDump.js';
import { lightgbmKind } from '../../../src/training/models/lightgbm/lightgbmKind.js';
import {
  libraryCandidates,
  LIGHTGBM_VERSION,
  LightgbmLibraryMissingError,
  lightgbmLibrary,
  openLightgbmLibrary,
  type LightgbmLibrary,
} from '../../../src/training/models/lightgbm/lightgbmLibrary.js';
import { boosterParameters, LightgbmParams, trainLightgbm, type LightgbmModel } from '../../../src/training/models/lightgbm/lightgbmModel.js';
import type { TreeEnsemble } from '../../../src/training/models/trees/treeEnsemble.js';
import { gaussian, mulberry32 } from '../../helpers/random.js';

// Real LightGBM (lib_lightgbm.so from the pinned PyPI wheel, scripts/ensure-lightgbm.sh) is the
// reference: its own prediction (LGBM_BoosterPredictForMat on the saved model text) against the
// parsed TreeEnsemble evaluated by a small walker below, and against the exported ONNX graph.

const F = 5;

/** Rows with two informative features; feature 0 is NaN in ~10% of the training rows. */
function synthetic(n: number, seed: number, objective: ObjectiveSpec['objective']): { x: Float32Array; y: Float32Array } {
  const r = mulberry32(seed);
  const x = new Float32Array(n * F);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < F; j++) x[i * F + j] = j === 0 && r() < 0.1 ? Number.NaN : r() * 2 - 1;
    const a = x[i * F]!;
    const b = x[i * F + 1]!;
    const z = (Number.isNaN(a) ? 0.7 : 1.5 * a) + b * b - 0.3 + 0.5 * gaussian(r);
    y[i] = objective === 'binary' ? (z > 0 ? 1 : 0) : objective === 'multiclass' ? (z < -0.4 ? 0 : z < 0.4 ? 1 : 2) : z;
  }
  return { x, y };
}

/**
 * Test rows: fresh values, NaN in every feature somewhere (features 1..4 never saw NaN in training,
 * so their splits are missing_type None, where LightGBM reads NaN as 0), zeros and near-zeros, float32
 * values at and next to the split thresholds (where `<=` against a double threshold must hold
 * after the float32 input is widened), and the training rows themselves.
 */
function probeRows(train: Float32Array, e: TreeEnsemble): { x: Float32Array; n: number } {
  const r = mulberry32(99);
  const rows: number[] = [];
  // LightGBM reads |x| <= 1e-35f as 0: values in, at the edge of and just outside that zone.
  const z = Math.fround(1e-35);
  const zone = [0, -0, z, -z, z / 2, -z / 2, float32Step(z, 1), -float32Step(z, 1), float32Step(z, -1), -float32Step(z, -1)];
  for (let i = 0; i < 80; i++) {
    for (let j = 0; j < F; j++) rows.push(r() < 0.15 ? Number.NaN : r() < 0.2 ? zone[Math.floor(r() * zone.length)]! : r() * 2.4 - 1.2);
  }
  for (const { nodes } of e.trees.slice(0, 12)) {
    for (let id = 0; id < nodes.left.length; id++) {
      if (nodes.left[id] === -1) continue;
      const t = Math.fround(nodes.threshold[id]!);
      for (const v of [float32Step(t, -1), t, float32Step(t, 1)]) {
        for (let j = 0; j < F; j++) rows.push(j === nodes.feature[id] ? v : r() * 2 - 1);
      }
    }
  }
  const all = new Float32Array(rows.length + train.length);
  all.set(rows);
  all.set(train, rows.length);
  return { x: all, n: all.length / F };
}

/** The float32 next to v (a float32 value) in direction ±1. */
function float32Step(v: number, direction: 1 | -1): number {
  const f = new Float32Array([v]);
  const bits = new Int32Array(f.buffer);
  if (v === 0) return direction * 1.4e-45;
  bits[0] = bits[0]! + (v > 0 ? direction : -direction);
  return f[0]!;
}

/** The IR evaluated independently of the ONNX exporter: walk, sum per target from base, post. */
function walk(e: TreeEnsemble, x: Float32Array, n: number): Float64Array {
  const out = new Float64Array(n * e.numTargets);
  const sums = new Float64Array(e.numTargets);
  for (let i = 0; i < n; i++) {
    sums.set(e.base);
    for (const { target, nodes } of e.trees) {
      let id = 0;
      while (nodes.left[id] !== -1) {
        const v = x[i * e.numFeatures + nodes.feature[id]!]!;
        const t = nodes.threshold[id]!;
        const goLeft = Number.isNaN(v) ? nodes.missingLeft[id] === 1 : e.rule === 'le' ? v <= t : v < t;
        id = goLeft ? nodes.left[id]! : nodes.right[id]!;
      }
      sums[target] = sums[target]! + nodes.leafValue[id]!;
    }
    if (e.post === 'sigmoid') for (let k = 0; k < sums.length; k++) sums[k] = 1 / (1 + Math.exp(-sums[k]!));
    if (e.post === 'softmax') {
      const m = Math.max(...sums);
      let z = 0;
      for (let k = 0; k < sums.length; k++) z += Math.exp(sums[k]! - m);
      for (let k = 0; k < sums.length; k++) sums[k] = Math.exp(sums[k]! - m) / z;
    }
    out.set(sums, i * e.numTargets);
  }
  return out;
}

/** LightGBM's own predictions from the saved model texts, one column per booster (or per class). */
function lightgbmPredict(lib: LightgbmLibrary, model: LightgbmModel, x: Float32Array, n: number): Float64Array {
  const columns = model.boosters.map((b) => {
    const booster = lib.boosterLoadModelFromString(b.modelText);
    try {
      return lib.boosterPredictForMat(booster, x, n, F, false);
    } finally {
      lib.boosterFree(booster);
    }
  });
  if (columns.length === 1) return columns[0]!;
  const out = new Float64Array(n * columns.length);
  for (let i = 0; i < n; i++) for (let k = 0; k < columns.length; k++) out[i * columns.length + k] = columns[k]![i]!;
  return out;
}

function maxRelDiff(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return worst;
}

const SPECS: ObjectiveSpec[] = [
  { objective: 'binary', quantiles: [] },
  { objective: 'multiclass', quantiles: [] },
  { objective: 'regression', quantiles: [] },
  { objective: 'quantile', quantiles: [0.05, 0.5, 0.95] },
];
const PARAMS = { numRounds: 15, numLeaves: 7, minDataInLeaf: 10, learningRate: 0.2 };
const N = 300;

describe('LightGBM through koffi', () => {
  const lib = lightgbmLibrary();

  it('says how to get the library when it cannot be loaded', () => {
    expect(() => openLightgbmLibrary(['/nonexistent/lib_lightgbm.so'])).toThrow(LightgbmLibraryMissingError);
    expect(() => openLightgbmLibrary(['/nonexistent/lib_lightgbm.so'])).toThrow(/bash scripts\/ensure-lightgbm\.sh/);
    // A set BARFLOW_LIBLIGHTGBM is the only candidate: a wrong path must fail, not fall back.
    expect(libraryCandidates({ BARFLOW_LIBLIGHTGBM: '/x/lib_lightgbm.so' }, '/w')).toEqual(['/x/lib_lightgbm.so']);
    expect(libraryCandidates({ BARFLOW_CACHE: 'c' }, '/w')).toEqual([
      `/w/c/lib/lightgbm-${LIGHTGBM_VERSION}/lib_lightgbm.so`,
      resolve(PACKAGE_ROOT, `.barflow/cache/lib/lightgbm-${LIGHTGBM_VERSION}/lib_lightgbm.so`),
      `/w/.barflow/cache/lib/lightgbm-${LIGHTGBM_VERSION}/lib_lightgbm.so`,
    ]);
  });

  it('has strict params with defaults', () => {
    expect(LightgbmParams.parse({})).toMatchObject({ numRounds: 300, numLeaves: 31, maxDepth: -1, baggingFreq: 1 });
    expect(() => LightgbmParams.parse({ num_leaves: 7 })).toThrow();
  });

  for (const spec of SPECS) {
    it(`${spec.objective}: the parsed trees predict what LightGBM predicts`, () => {
      const train = synthetic(N, 1, spec.objective);
      const model = trainLightgbm({ ...train, n: N, f: F, objective: spec, params: PARAMS, seed: 7, library: lib });
      const e = model.ensemble;
      expect(e.numTargets).toBe(rawOutputs(spec).length);
      expect(e.rule).toBe('le');
      expect(model.boosters.map((b) => b.name)).toEqual(spec.objective === 'quantile' ? ['lightgbm-q05.txt', 'lightgbm-q50.txt', 'lightgbm-q95.txt'] : ['lightgbm.txt']);
      // LightGBM folds the initial score into the first round's leaves: nothing starts off zero.
      expect([...e.base]).toEqual(new Array(e.numTargets).fill(0));
      expect(e.trees.length).toBe(PARAMS.numRounds * e.numTargets);
      // LightGBM's decision_type bits 2-3 are the missing type: feature 0 (NaN in training) gets
      // NaN splits (8, 10 with default_left), the others None (0, 2); the probe rows send NaN down both.
      for (const b of model.boosters) {
        const types = new Set(b.modelText.match(/^decision_type=.*$/gm)!.flatMap((line) => line.slice('decision_type='.length).split(' ')));
        expect([...types].some((t) => t === '8' || t === '10'), b.name).toBe(true);
        expect([...types].some((t) => t === '0' || t === '2'), b.name).toBe(true);
      }

      const probe = probeRows(train.x, e);
      const reference = lightgbmPredict(lib, model, probe.x, probe.n);
      const ours = walk(e, probe.x, probe.n);
      expect(maxRelDiff(ours, reference)).toBeLessThan(1e-12);
      if (spec.objective === 'multiclass') {
        for (let i = 0; i < probe.n; i++) expect(ours[i * 3]! + ours[i * 3 + 1]! + ours[i * 3 + 2]!).toBeCloseTo(1, 12);
      }
    });
  }

  it('gives the same model bytes for the same seed, other bytes for another seed', () => {
    const spec = SPECS[0]!;
    const train = synthetic(N, 3, spec.objective);
    const fit = (seed: number): LightgbmModel => trainLightgbm({ ...train, n: N, f: F, objective: spec, params: PARAMS, seed, library: lib });
    const a = fit(11);
    const b = fit(11);
    expect(b.boosters).toEqual(a.boosters);
    expect(b.ensemble).toEqual(a.ensemble);
    // Bagging and feature fraction are seeded: another seed samples other rows and features.
    expect(fit(12).boosters[0]!.modelText).not.toBe(a.boosters[0]!.modelText);
  });

  it('scales the leaves when binary uses sigmoid != 1', () => {
    const train = synthetic(N, 4, 'binary');
    const params = boosterParameters(LightgbmParams.parse(PARAMS), 5, ['objective=binary', 'sigmoid=2.5']);
    const { text, dump } = trainRaw(lib, train.x, train.y, params, 10);
    const parsed = parseLightgbmDump(dump, F);
    expect(parsed.objectiveParams.sigmoid).toBe(2.5);
    const probe = probeRows(train.x, parsed.ensemble);
    const booster = lib.boosterLoadModelFromString(text);
    try {
      expect(maxRelDiff(walk(parsed.ensemble, probe.x, probe.n), lib.boosterPredictForMat(booster, probe.x, probe.n, F, false))).toBeLessThan(1e-12);
    } finally {
      lib.boosterFree(booster);
    }
  });

  it('refuses what the IR cannot express, saying why', () => {
    const r = mulberry32(5);
    // Feature 0 as small integers, declared categorical: LightGBM makes "==" splits on it.
    const x = new Float32Array(N * F);
    const y = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < F; j++) x[i * F + j] = j === 0 ? Math.floor(r() * 6) : r();
      y[i] = x[i * F]! % 2 === 0 ? 1 : 0;
    }
    const p = LightgbmParams.parse(PARAMS);
    const categorical = trainRaw(lib, x, y, boosterParameters(p, 1, ['objective=binary', 'categorical_feature=0']), 3);
    expect(() => parseLightgbmDump(categorical.dump, F)).toThrow(UnsupportedLightgbmModelError);
    expect(() => parseLightgbmDump(categorical.dump, F)).toThrow(/categorical/);

    // zero_as_missing: zeros follow default_left, not the threshold.
    const numeric = synthetic(N, 6, 'binary');
    const zeroParams = boosterParameters(p, 1, ['objective=binary']).replace('zero_as_missing=false', 'zero_as_missing=true');
    const zero = trainRaw(lib, numeric.x, numeric.y, zeroParams, 3);
    expect(() => parseLightgbmDump(zero.dump, F)).toThrow(/missing_type Zero/);

    const sqrt = trainRaw(lib, x, y, boosterParameters(p, 1, ['objective=regression', 'reg_sqrt=true']), 2);
    expect(() => parseLightgbmDump(sqrt.dump, F)).toThrow(/sqrt/);

    expect(() => trainLightgbm({ x, y: Float32Array.from(y, (v) => v + 1), n: N, f: F, objective: SPECS[0]!, params: PARAMS, seed: 1, library: lib })).toThrow(
      /label 2 at row \d+ \(expected 0 or 1\)/,
    );
  });

  describe('lightgbmKind (ONNX through trees/treeOnnx.ts)', () => {
    for (const spec of SPECS) {
      it(`${spec.objective}: model.onnx scores what LightGBM predicts, and the artifact is deterministic`, async () => {
        const train = synthetic(N, 1, spec.objective);
        const input = { ...train, dims: [N, F], n: N, f: F, objective: spec, seed: 7, metadata: { model: 'lightgbm-test' } };
        const params = lightgbmKind.params.parse(PARAMS);
        const artifact = await lightgbmKind.train(input, params);
        const again = await lightgbmKind.train(input, params);
        expect([...again.files.keys()]).toEqual([...artifact.files.keys()]);
        for (const [name, bytes] of artifact.files) expect(Buffer.from(again.files.get(name)!).equals(Buffer.from(bytes)), name).toBe(true);

        const scorer = await lightgbmKind.load(artifact, spec);
        expect(scorer.outputs).toEqual(rawOutputs(spec));
        const model = trainLightgbm({ ...train, n: N, f: F, objective: spec, params: PARAMS, seed: 7, library: lib });
        for (const b of model.boosters) expect(new TextDecoder().decode(artifact.files.get(b.name)), b.name).toBe(b.modelText);
        const probe = probeRows(train.x, model.ensemble);
        const reference = lightgbmPredict(lib, model, probe.x, probe.n);
        expect(maxRelDiff(await scorer.score(probe.x, [probe.n, F]), reference)).toBeLessThan(1e-6);
      });
    }
  });
});

/** One booster straight from the library, for settings trainLightgbm does not offer. */
function trainRaw(lib: LightgbmLibrary, x: Float32Array, y: Float32Array, parameters: string, rounds: number): { text: string; dump: string } {
  const dataset = lib.datasetFromMat(x, y.length, F, parameters);
  try {
    lib.datasetSetLabel(dataset, y);
    const booster = lib.boosterCreate(dataset, parameters);
    try {
      for (let i = 0; i < rounds; i++) if (lib.boosterUpdateOneIter(booster)) break;
      return { text: lib.boosterSaveModelToString(booster), dump: lib.boosterDumpModel(booster) };
    } finally {
      lib.boosterFree(booster);
    }
  } finally {
    lib.datasetFree(dataset);
  }
}
