import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ObjectiveSpec } from '../../../src/training/objectives/objective.js';
import { openOnnxSession, runOnnx } from '../../../src/serving/onnx/onnxSession.js';
import {
  libraryCandidates,
  openXgboostLibrary,
  pinnedLibraryPath,
  PINNED_XGBOOST,
  SYSTEM_LIBRARY_CANDIDATES,
  xgboostLibrary,
  type XgboostLibrary,
} from '../../../src/training/models/xgboost/xgboostLibrary.js';
import { checkModelObjective, loadXgboost, trainXgboost } from '../../../src/training/models/xgboost/xgboostModel.js';
import { parseNumberList, parseXgboostJson } from '../../../src/training/models/xgboost/xgboostOnnx.js';
import { ROOT } from '../../helpers/files.js';
import { mulberry32 as rng } from '../../helpers/random.js';

// XGBoost for every objective, with each library this machine has (the pinned 3.x from
// scripts/ensure-xgboost.sh and the system's 1.7): XGBoost's own predictions (XGBoosterPredict)
// against the exported ONNX graph run by onnxruntime-node.

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const version = (lib: XgboostLibrary): number => lib.version[0] * 100 + lib.version[1];

/** The default library and, when it is another version, the system's one (1.7 on Debian 12). */
function libraries(): XgboostLibrary[] {
  const main = xgboostLibrary();
  const out = [main];
  try {
    const system = openXgboostLibrary(SYSTEM_LIBRARY_CANDIDATES);
    if (system.version.join('.') !== main.version.join('.')) out.push(system);
  } catch {
    // no system library: the default one only
  }
  return out;
}

const F = 5;
const N = 1500;
/** Features with ~7% NaN, a latent z of the first two, and labels for each objective from it. */
function data(n: number, seed: number): { x: Float32Array; z: Float64Array; noise: Float64Array } {
  const r = rng(seed);
  const x = new Float32Array(n * F);
  const z = new Float64Array(n);
  const noise = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < F; j++) x[i * F + j] = r() < 0.07 ? Number.NaN : r() * 2 - 1;
    const a = x[i * F]!;
    const b = x[i * F + 1]!;
    z[i] = (Number.isNaN(a) ? 0.4 : a) + (Number.isNaN(b) ? -0.3 : b * b) * 0.8;
    noise[i] = (r() - 0.5) * (0.3 + 0.4 * Math.abs(a || 0));
  }
  return { x, z, noise };
}
function labels(spec: ObjectiveSpec, d: ReturnType<typeof data>): Float32Array {
  return Float32Array.from(d.z, (z, i) => {
    const v = z + d.noise[i]!;
    switch (spec.objective) {
      case 'binary':
        return v > 0.3 ? 1 : 0;
      case 'multiclass':
        return v < 0 ? 0 : v < 0.6 ? 1 : 2;
      default:
        return v * 0.5;
    }
  });
}

const SPECS: ObjectiveSpec[] = [
  { objective: 'binary', quantiles: [] },
  { objective: 'multiclass', quantiles: [] },
  { objective: 'regression', quantiles: [] },
  { objective: 'quantile', quantiles: [0.05, 0.5, 0.95] },
];
const OUTPUTS = { binary: 1, multiclass: 3, regression: 1, quantile: 3 };
const PARAMS = { numRounds: 40, maxDepth: 4, eta: 0.2 };
const train = data(N, 1);
const test = data(500, 2);

describe.each(libraries().map((lib) => [lib.version.join('.'), lib] as const))('XGBoost %s', (_, lib) => {
  // Quantile exists from XGBoost 2.0; an older library's refusal is the test below.
  for (const spec of SPECS.filter((s) => s.objective !== 'quantile' || version(lib) >= 200)) {
    it(`${spec.objective}: ONNX (onnxruntime) within 1e-6 of XGBoost's own predict, NaN rows included; deterministic bytes`, async () => {
      const y = labels(spec, train);
      const fit = () => trainXgboost({ x: train.x, n: N, f: F, y, objective: spec, params: PARAMS, seed: 3, library: lib });
      const m = fit();
      expect(m.outputs).toBe(OUTPUTS[spec.objective]);
      expect(sha(fit().modelJson)).toBe(sha(m.modelJson));
      const onnx = m.toOnnx({ dataset: 'synthetic' });
      expect(sha(m.toOnnx({ dataset: 'synthetic' }))).toBe(sha(onnx));

      const session = await openOnnxSession(onnx);
      let worst = 0;
      for (const [x, n] of [[train.x, N], [test.x, 500]] as const) {
        const mine = m.predict(x, n);
        const got = await runOnnx(session, x, [n, F]);
        expect(got.length).toBe(n * m.outputs);
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - mine[i]!));
      }
      await session.release();
      console.info(`xgboost ${lib.version.join('.')} ${spec.objective}: max |ONNX − XGBoost| = ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-6);

      // The model learned something sensible for its objective.
      const p = m.predict(test.x, 500);
      const yt = labels(spec, test);
      if (spec.objective === 'multiclass') {
        for (let i = 0; i < 500; i++) expect(p[3 * i]! + p[3 * i + 1]! + p[3 * i + 2]!).toBeCloseTo(1, 5);
        let hits = 0;
        for (let i = 0; i < 500; i++) hits += [0, 1, 2].reduce((a, k) => (p[3 * i + k]! > p[3 * i + a]! ? k : a), 0) === yt[i] ? 1 : 0;
        expect(hits / 500).toBeGreaterThan(0.6);
      }
      if (spec.objective === 'quantile') {
        const below = [0, 0, 0];
        for (let i = 0; i < 500; i++) for (let k = 0; k < 3; k++) below[k]! += yt[i]! < p[3 * i + k]! ? 1 : 0;
        expect(below[0]! / 500).toBeLessThan(0.15);
        expect(Math.abs(below[1]! / 500 - 0.5)).toBeLessThan(0.1);
        expect(below[2]! / 500).toBeGreaterThan(0.85);
        expect(parseXgboostJson(m.modelJson).quantileAlpha).toEqual(spec.quantiles);
      }
      checkModelObjective(m.modelJson, spec);
      const other = SPECS.find((s) => s.objective !== spec.objective && s.objective !== 'quantile')!;
      expect(() => checkModelObjective(m.modelJson, other)).toThrow(/the XGBoost model's objective is .*, .* needs|outputs/);
      if (spec.objective === 'quantile') expect(() => checkModelObjective(m.modelJson, { objective: 'quantile', quantiles: [0.1, 0.5, 0.9] })).toThrow(/quantile levels are 0\.05, 0\.5, 0\.95/);
      // Loaded from its bytes it predicts the same bits.
      const again = loadXgboost(m.modelJson, { library: lib }).predict(test.x, 500);
      expect(Buffer.from(again.buffer).equals(Buffer.from(p.buffer))).toBe(true);
    });
  }

  it('quantile on a library older than 2.0 refuses, naming the XGBoost version and how to get a newer one', () => {
    const spec: ObjectiveSpec = { objective: 'quantile', quantiles: [0.1, 0.9] };
    // This library as an older one says it is: the check reads the version the library reports.
    const old = version(lib) < 200 ? lib : { ...lib, version: [1, 7, 4] as [number, number, number] };
    expect(() => trainXgboost({ x: train.x, n: N, f: F, y: labels(spec, train), objective: spec, seed: 1, library: old })).toThrow(
      new RegExp(`needs XGBoost 2\\.0 or later.*XGBoost ${old.version.join('\\.')}.*ensure-xgboost\\.sh`),
    );
  });

  it("logs the objective's metric per round and stops early on it", () => {
    for (const spec of SPECS.filter((s) => s.objective !== 'quantile' || version(lib) >= 200)) {
      const rounds: number[] = [];
      const m = trainXgboost({
        x: train.x,
        n: N,
        f: F,
        y: labels(spec, train),
        objective: spec,
        validation: { x: test.x, n: 500, y: labels(spec, test) },
        params: { numRounds: 300, maxDepth: 5, eta: 0.5, earlyStoppingRounds: 5 },
        seed: 2,
        library: lib,
        onRound: (_r, _t, v) => rounds.push(v!),
      });
      expect(rounds.length, spec.objective).toBeLessThan(300);
      expect(m.bestRound).toBe(rounds.indexOf(Math.min(...rounds)));
      expect(m.trees).toBe((m.bestRound! + 1) * m.outputs);
    }
  });
});

describe('labels and parameters per objective', () => {
  const x = new Float32Array(2 * F);
  it('refuses labels the objective cannot take, naming the row', () => {
    const t = (objective: ObjectiveSpec['objective'], y: number[]) => () => trainXgboost({ x, n: 2, f: F, y: Float32Array.from(y), objective: { objective, quantiles: [0.5] }, seed: 1 });
    expect(t('multiclass', [0, 1.5])).toThrow(/y\[1\] = 1\.5 is not a class index 0\.\.2 \(multiclass\)/);
    expect(t('multiclass', [3, 1])).toThrow(/y\[0\] = 3/);
    expect(t('regression', [0, Number.NaN])).toThrow(/y\[1\] = NaN is not finite/);
    expect(t('binary', [0, 2])).toThrow(/y\[1\] = 2 is not in \[0, 1\]/);
    expect(() => trainXgboost({ x, n: 2, f: F, y: Float32Array.of(0, 1), params: { baseScore: 1.5 }, seed: 1 })).toThrow(/baseScore 1\.5: binary needs a probability/);
  });
});

describe('the library and its JSON', () => {
  it('prefers BARFLOW_LIBXGBOOST alone, then the pinned library in the cache, then the system', () => {
    expect(libraryCandidates({ BARFLOW_LIBXGBOOST: '/x/libxgboost.so', BARFLOW_CACHE: '/c' })).toEqual(['/x/libxgboost.so']);
    expect(libraryCandidates({ BARFLOW_CACHE: '/c' })).toEqual([`/c/lib/xgboost-${PINNED_XGBOOST}/libxgboost.so`, ...SYSTEM_LIBRARY_CANDIDATES]);
    expect(pinnedLibraryPath({})).toBe(resolve(ROOT, '.barflow', 'cache', 'lib', `xgboost-${PINNED_XGBOOST}`, 'libxgboost.so'));
    // scripts/ensure-xgboost.sh downloads the version the loader looks for.
    expect(readFileSync(resolve(ROOT, 'scripts', 'ensure-xgboost.sh'), 'utf8')).toContain(`XGBOOST_VERSION=${PINNED_XGBOOST}\n`);
  });

  it('reads base_score as 1.x/2.x write it ("5E-1") and as 3.x does ("[5E-1]", "[a,b,c]")', () => {
    expect(parseNumberList('5E-1', 'base_score')).toEqual([0.5]);
    expect(parseNumberList('[5.95E-1]', 'base_score')).toEqual([0.595]);
    expect(parseNumberList('[3.1527662E-1,4.316867E-1,-7.469634E-1]', 'base_score')).toEqual([0.31527662, 0.4316867, -0.7469634]);
    expect(() => parseNumberList('[]', 'base_score')).toThrow(/base_score "\[\]" is not a number/);
    expect(() => parseNumberList('abc', 'base_score')).toThrow(/not a number/);
  });
});
