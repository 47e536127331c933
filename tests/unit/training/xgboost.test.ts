import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { openXgboostLibrary, xgboostLibrary, XgboostLibraryMissingError } from '../../../src/training/models/xgboost/xgboostLibrary.js';
import { loadXgboost, trainXgboost, type XgboostModel } from '../../../src/training/models/xgboost/xgboostModel.js';
import { parseXgboostJson, reachable, xgboostToOnnx } from '../../../src/training/models/xgboost/xgboostOnnx.js';
import { readNormalizedCsv, REAL_FILES, ROOT } from '../../helpers/files.js';
import { maxAbsDiff } from '../../helpers/numbers.js';
import { mulberry32 as rng } from '../../helpers/random.js';

// Real XGBoost (Debian's libxgboost through koffi; scripts/ensure-xgboost.sh) against itself
// (determinism, load), against onnxruntime-node (the exported ONNX graph) and against a constant
// predictor (it learns).

const run = promisify(execFile);

/** A non-linear binary problem over f features (two informative), ~7% of cells missing (NaN). */
function synthetic(n: number, f: number, seed: number): { x: Float32Array; y: Float32Array } {
  const r = rng(seed);
  const x = new Float32Array(n * f);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) x[i * f + j] = r() < 0.07 ? Number.NaN : r() * 2 - 1;
    const a = x[i * f]!;
    const b = x[i * f + 1]!;
    // Missingness carries signal too, so the default directions matter.
    const z = (Number.isNaN(a) ? 0.8 : 2 * a) + (Number.isNaN(b) ? -0.5 : 1.5 * b * b) + 0.8 * (r() - 0.5);
    y[i] = z > 0.4 ? 1 : 0;
  }
  return { x, y };
}

const logloss = (p: Float32Array, y: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(Math.max(p[i]!, 1e-7), 1 - 1e-7);
    s -= y[i]! * Math.log(q) + (1 - y[i]!) * Math.log(1 - q);
  }
  return s / y.length;
};
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

async function onnxPredict(model: Uint8Array, x: Float32Array, n: number, f: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model);
  try {
    const out = (await session.run({ x: new ort.Tensor('float32', x, [n, f]) })).y!;
    expect(out.dims).toEqual([n, 1]);
    return out.data as Float32Array;
  } finally {
    await session.release();
  }
}

const N = 3000;
const F = 6;
const train = synthetic(N, F, 1);
const test = synthetic(1000, F, 2);
const PARAMS = { numRounds: 80, maxDepth: 4, eta: 0.1, subsample: 0.8, colsampleByTree: 0.8 };

describe('XGBoost through koffi', () => {
  it('loads libxgboost 1.7+ (the pinned one when scripts/ensure-xgboost.sh has run)', () => {
    const lib = xgboostLibrary();
    expect(lib.version[0] * 100 + lib.version[1]).toBeGreaterThanOrEqual(107);
  });

  it('(a) same inputs, params and seed → the same model bytes; another seed (with subsampling) → other bytes', () => {
    const a = trainXgboost({ ...train, n: N, f: F, params: PARAMS, seed: 42 });
    const b = trainXgboost({ ...train, n: N, f: F, params: PARAMS, seed: 42 });
    const c = trainXgboost({ ...train, n: N, f: F, params: PARAMS, seed: 43 });
    expect(sha(a.modelJson)).toBe(sha(b.modelJson));
    expect(sha(c.modelJson)).not.toBe(sha(a.modelJson));
    // Without any sampling the seed has nothing to draw: the model does not depend on it.
    const full = { ...PARAMS, subsample: 1, colsampleByTree: 1 };
    expect(same(trainXgboost({ ...train, n: N, f: F, params: full, seed: 1 }).modelJson, trainXgboost({ ...train, n: N, f: F, params: full, seed: 2 }).modelJson)).toBe(true);
    expect(a.trees).toBe(PARAMS.numRounds);
  });

  it('(a) training in between does not change a model (seed_per_iteration), nor does the thread count of prediction', () => {
    const first = trainXgboost({ ...train, n: N, f: F, params: PARAMS, seed: 7 });
    // Another model's rounds run inside this one's training (onRound), drawing from XGBoost's
    // process-wide random engine between this model's rounds.
    const nested = trainXgboost({
      ...train,
      n: N,
      f: F,
      params: PARAMS,
      seed: 7,
      onRound: (round) => {
        if (round % 20 === 0) trainXgboost({ ...test, n: 1000, f: F, params: { numRounds: 3 }, seed: 99 });
      },
    });
    expect(same(nested.modelJson, first.modelJson)).toBe(true);
    const p1 = loadXgboost(first.modelJson, { nthread: 1 }).predict(test.x, 1000);
    const p4 = loadXgboost(first.modelJson, { nthread: 4 }).predict(test.x, 1000);
    expect(same(new Uint8Array(p1.buffer), new Uint8Array(p4.buffer))).toBe(true);
  });

  it('(d) learns: train and held-out logloss well below the constant predictor\'s', () => {
    const m = trainXgboost({ ...train, n: N, f: F, params: PARAMS, seed: 42 });
    const base = (y: Float32Array): number => {
      const mean = y.reduce((s, v) => s + v, 0) / y.length;
      return logloss(new Float32Array(y.length).fill(mean), y);
    };
    const trainLoss = logloss(m.predict(train.x, N), train.y);
    const testLoss = logloss(m.predict(test.x, 1000), test.y);
    expect(trainLoss).toBeLessThan(0.6 * base(train.y));
    expect(testLoss).toBeLessThan(0.7 * base(test.y));
    // The two informative features carry most of the gain.
    const { totalGain, splits } = m.featureImportance();
    const top = [...totalGain.keys()].sort((i, j) => totalGain[j]! - totalGain[i]!);
    expect(top.slice(0, 2).sort()).toEqual([0, 1]);
    expect(splits.reduce((s, v) => s + v, 0)).toBeGreaterThan(0);
  });

  it('logs each round and stops early on the validation logloss, keeping the best round\'s trees', () => {
    const rounds: Array<[number, number, number | undefined]> = [];
    const m = trainXgboost({
      ...train,
      n: N,
      f: F,
      validation: { ...test, n: 1000 },
      params: { ...PARAMS, numRounds: 2000, eta: 0.3, maxDepth: 6, earlyStoppingRounds: 10 },
      seed: 3,
      onRound: (r, t, v) => rounds.push([r, t, v]),
    });
    expect(rounds.length).toBeLessThan(2000);
    expect(rounds.map((r) => r[0])).toEqual([...rounds.keys()]);
    expect(rounds[rounds.length - 1]![1]).toBeLessThan(rounds[0]![1]);
    const best = m.bestRound!;
    expect(rounds.length - 1 - best).toBe(10);
    expect(m.trees).toBe(best + 1);
    // The kept model's validation logloss is the best one logged (XGBoost evaluates in float32).
    expect(logloss(m.predict(test.x, 1000), test.y)).toBeCloseTo(rounds[best]![2]!, 5);
    expect(Math.min(...rounds.map((r) => r[2]!))).toBe(rounds[best]![2]);
  });

  it('(c) a model loaded from its bytes predicts exactly what the trained one did', () => {
    const m = trainXgboost({ ...train, n: N, f: F, params: PARAMS, seed: 42, weights: Float32Array.from(train.y, (v) => (v ? 2 : 1)) });
    const loaded = loadXgboost(m.modelJson);
    expect(loaded.featureCount).toBe(F);
    expect(same(new Uint8Array(loaded.predict(test.x, 1000).buffer), new Uint8Array(m.predict(test.x, 1000).buffer))).toBe(true);
  });

  it('refuses bad shapes, labels and infinities with a reason', () => {
    expect(() => trainXgboost({ x: new Float32Array(5), n: 2, f: 3, y: new Float32Array(2), seed: 1 })).toThrow(/expected n×f = 6/);
    expect(() => trainXgboost({ x: new Float32Array(6), n: 2, f: 3, y: Float32Array.of(0, 2), seed: 1 })).toThrow(/y\[1\] = 2/);
    expect(() => trainXgboost({ x: Float32Array.of(1, Infinity), n: 1, f: 2, y: Float32Array.of(0), seed: 1 })).toThrow(/infinite/);
    expect(() => trainXgboost({ ...train, n: N, f: F, params: { earlyStoppingRounds: 5 }, seed: 1 })).toThrow(/needs validation/);
  });

  it('surfaces XGBoost\'s own error text (XGBGetLastError) without the native stack trace', () => {
    const lib = xgboostLibrary();
    const d = lib.dmatrixFromMat(Float32Array.of(1, 2), 1, 2);
    const b = lib.boosterCreate([d]);
    try {
      lib.boosterSetParam(b, 'tree_method', 'no_such_method');
      let error: Error | undefined;
      try {
        lib.boosterUpdateOneIter(b, 0, d);
      } catch (e) {
        error = e as Error;
      }
      expect(error?.name).toBe('XgboostError');
      expect(error?.message).toMatch(/XGBoosterUpdateOneIter\(0\) failed: .*no_such_method/);
      expect(error?.message).not.toMatch(/Stack trace|\[bt\]/);
    } finally {
      lib.boosterFree(b);
      lib.dmatrixFree(d);
    }
  });
});

describe('(e) a missing library', () => {
  it('is a clear error naming scripts/ensure-xgboost.sh and BARFLOW_LIBXGBOOST', () => {
    expect(() => openXgboostLibrary(['/nonexistent/libxgboost.so'])).toThrow(XgboostLibraryMissingError);
    expect(() => openXgboostLibrary(['/nonexistent/libxgboost.so'])).toThrow(/scripts\/ensure-xgboost\.sh.*BARFLOW_LIBXGBOOST|BARFLOW_LIBXGBOOST.*scripts\/ensure-xgboost\.sh/s);
  });

  it('BARFLOW_LIBXGBOOST pointing nowhere fails training in a fresh process, without falling back', async () => {
    const code = `import { trainXgboost } from './src/training/models/xgboost/xgboostModel.ts';
try { trainXgboost({ x: new Float32Array(2), n: 1, f: 2, y: new Float32Array(1), seed: 1 }); console.log('trained'); }
catch (e) { console.log(e.name + ': ' + e.message); }`;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: ROOT,
      env: { ...process.env, BARFLOW_LIBXGBOOST: '/nonexistent/libxgboost.so.0' },
    });
    expect(stdout).toContain('XgboostLibraryMissingError');
    expect(stdout).toContain('/nonexistent/libxgboost.so.0');
    expect(stdout).toContain('scripts/ensure-xgboost.sh');
    expect(stdout).not.toContain('trained');
  }, 30_000);
});

describe('(b) the ONNX export (onnxruntime-node) predicts what XGBoost predicts', () => {
  const hasNaN = (x: Float32Array, f: number) => (i: number) => x.subarray(i * f, (i + 1) * f).some(Number.isNaN);

  async function compare(m: XgboostModel, x: Float32Array, n: number, f: number): Promise<{ all: number; nanRows: number }> {
    const mine = m.predict(x, n);
    const onnx = await onnxPredict(m.toOnnx(), x, n, f);
    return { all: maxAbsDiff(onnx, mine), nanRows: maxAbsDiff(onnx, mine, hasNaN(x, f)) };
  }

  for (const treeMethod of ['hist', 'exact'] as const) {
    it(`${treeMethod}: within 1e-6 on every row, NaN rows included`, async () => {
      const m = trainXgboost({ ...train, n: N, f: F, params: { ...PARAMS, numRounds: 200, maxDepth: 6, treeMethod, baseScore: 0.3 }, seed: 5 });
      const onTrain = await compare(m, train.x, N, F);
      const onTest = await compare(m, test.x, 1000, F);
      console.info(`xgboost ${treeMethod}: max |ONNX − XGBoost| = ${Math.max(onTrain.all, onTest.all).toExponential(2)} (NaN rows ${Math.max(onTrain.nanRows, onTest.nanRows).toExponential(2)})`);
      for (const d of [onTrain.all, onTrain.nanRows, onTest.all, onTest.nanRows]) expect(d).toBeLessThan(1e-6);
    });
  }

  it('rows sitting exactly on the split thresholds and all-missing rows take XGBoost\'s branch', async () => {
    const m = trainXgboost({ ...train, n: N, f: F, params: { ...PARAMS, numRounds: 60, maxDepth: 5 }, seed: 5 });
    const parsed = parseXgboostJson(m.modelJson);
    const thresholds: number[][] = Array.from({ length: F }, () => []);
    for (const t of parsed.trees) for (const id of reachable(t)) if (t.left[id] !== -1) thresholds[t.splitIndex[id]!]!.push(t.splitCondition[id]!);
    const n = 400;
    const r = rng(11);
    const x = new Float32Array(n * F);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < F; j++) {
        const pool = thresholds[j]!;
        x[i * F + j] = i < 10 ? Number.NaN : pool.length > 0 ? pool[Math.floor(r() * pool.length)]! : 0;
      }
    }
    const { all } = await compare(m, x, n, F);
    expect(all).toBeLessThan(1e-6);
  });

  it('is deterministic bytes with input x and output y, and refuses a too-narrow input', async () => {
    const m = trainXgboost({ ...train, n: N, f: F, params: { numRounds: 5 }, seed: 1 });
    expect(same(xgboostToOnnx(m.modelJson, F), xgboostToOnnx(m.modelJson, F))).toBe(true);
    const session = await ort.InferenceSession.create(xgboostToOnnx(m.modelJson, F, { dataset: 'd1' }));
    expect(session.inputNames).toEqual(['x']);
    expect(session.outputNames).toEqual(['y']);
    await session.release();
    expect(() => xgboostToOnnx(m.modelJson, F - 1)).toThrow(/trained on 6 features/);
  });

  it('on real bars (BTCUSDT 1m, warm-up rows missing): within 1e-6, and it fits', async () => {
    const { file, symbol } = REAL_FILES[0]!;
    const bars = readNormalizedCsv(file, symbol);
    const lags = [1, 2, 3, 5, 10, 30, 60];
    const f = lags.length + 2;
    const horizon = 5;
    const n = bars.length - horizon;
    const x = new Float32Array(n * f);
    const y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const c = bars[i]!.close;
      // Causal features; a lag before the first bar is missing (NaN), as at a dataset's start.
      lags.forEach((l, j) => (x[i * f + j] = i >= l ? Math.log(c / bars[i - l]!.close) : Number.NaN));
      x[i * f + lags.length] = (bars[i]!.high - bars[i]!.low) / c;
      x[i * f + lags.length + 1] = Math.log1p(bars[i]!.volume);
      y[i] = bars[i + horizon]!.close > c ? 1 : 0;
    }
    const m = trainXgboost({ x, n, f, y, params: { numRounds: 150, maxDepth: 5, eta: 0.1 }, seed: 1 });
    const { all, nanRows } = await compare(m, x, n, f);
    console.info(`xgboost on ${n} real rows: max |ONNX − XGBoost| = ${all.toExponential(2)} (NaN rows ${nanRows.toExponential(2)})`);
    expect(all).toBeLessThan(1e-6);
    const mean = y.reduce((s, v) => s + v, 0) / n;
    expect(logloss(m.predict(x, n), y)).toBeLessThan(logloss(new Float32Array(n).fill(mean), y));
  });
});
