import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { logisticKind } from '../../../src/training/models/logistic/logisticKind.js';
import { fitLogistic, predictLogistic } from '../../../src/training/models/logistic/logisticRegression.js';
import { fitMultinomial, predictMultinomial } from '../../../src/training/models/logistic/multinomialLogistic.js';
import type { TrainInput } from '../../../src/training/models/modelRegistry.js';
import type { ObjectiveSpec } from '../../../src/training/objectives/objective.js';
import { mulberry32 } from '../../helpers/random.js';

// tests/fixtures/linear/make_linear_fixtures.py (scikit-learn 1.9.1; the command is at its top)
const ref = (JSON.parse(readFileSync('tests/fixtures/linear/linear_fixtures.json', 'utf8')) as { multiclass: Multiclass }).multiclass;
interface Multiclass {
  n: number;
  f: number;
  x: number[];
  y: number[];
  fits: { l2: number; weights: number[][]; intercepts: number[]; proba: number[] }[];
}

const MULTICLASS: ObjectiveSpec = { objective: 'multiclass', quantiles: [] };
const BINARY: ObjectiveSpec = { objective: 'binary', quantiles: [] };
const PARAMS = { l2: 1, maxIterations: 50, tolerance: 1e-10 };

function trainInput(x: Float32Array, n: number, f: number, y: ArrayLike<number>, objective: ObjectiveSpec): TrainInput {
  return { x, dims: [n, f], n, f, y: Float32Array.from(y), objective, seed: 1, metadata: { model: 'test', schema: 'abc' } };
}

describe('multinomial logistic regression (L2, Newton) against scikit-learn', () => {
  for (const fit of ref.fits) {
    it(`l2 = ${fit.l2}: the coefficients and probabilities of LogisticRegression(C = 1/l2), multinomial`, () => {
      const m = fitMultinomial(ref.x, ref.n, ref.f, ref.y, 3, { ...PARAMS, l2: fit.l2, tolerance: 1e-12 });
      expect(m.iterations).toBeLessThan(20);
      fit.weights.forEach((w, k) => w.forEach((v, j) => expect(Math.abs(m.weights[k * ref.f + j]! - v)).toBeLessThan(1e-6)));
      // The intercepts are identified up to a common shift only: compare them centred.
      const centre = (v: ArrayLike<number>) => Array.from(v, (b) => b - Array.from(v).reduce((s, t) => s + t, 0) / v.length);
      centre(m.intercepts).forEach((b, k) => expect(Math.abs(b - centre(fit.intercepts)[k]!)).toBeLessThan(1e-6));
      const p = predictMultinomial(m, ref.x, ref.n);
      let worst = 0;
      for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs(p[i]! - fit.proba[i]!));
      expect(worst).toBeLessThan(1e-7);
    });
  }

  it('a class absent from training keeps a small probability; the rest is the two-class fit (= binary with l2 / 2)', () => {
    const rows = ref.y.flatMap((c, i) => (c === 1 ? [] : [i]));
    const x = rows.flatMap((i) => ref.x.slice(i * ref.f, (i + 1) * ref.f));
    const y = rows.map((i) => ref.y[i]!);
    const m = fitMultinomial(x, rows.length, ref.f, y, 3, { ...PARAMS, tolerance: 1e-12 });
    expect(m.present).toEqual([0, 2]);
    // Σ over the two classes of ½λ‖w_k‖² with w_0 = −w_2 is ½(λ/2)‖w_2 − w_0‖²: binary logistic at λ/2.
    const binary = fitLogistic(x, rows.length, ref.f, y.map((c) => (c === 2 ? 1 : 0)), { ...PARAMS, l2: PARAMS.l2 / 2, tolerance: 1e-12 });
    const pb = predictLogistic(binary, x, rows.length);
    const p = predictMultinomial(m, x, rows.length);
    for (let i = 0; i < rows.length; i++) {
      expect(p[i * 3 + 1]).toBeGreaterThan(0);
      expect(p[i * 3 + 1]).toBeLessThan(0.02);
      expect(p[i * 3 + 2]! / (p[i * 3]! + p[i * 3 + 2]!)).toBeCloseTo(pb[i]!, 9);
    }
  });

  it('names a label that is not a class index', () => {
    expect(() => fitMultinomial([0, 1], 2, 1, [0, 3], 3, PARAMS)).toThrow(/y\[1\] = 3 is not a class index 0 … 2/);
  });
});

describe('logisticKind (ModelKind v2)', () => {
  const x32 = Float32Array.from(ref.x);

  it('declares what it is', () => {
    expect(logisticKind).toMatchObject({ name: 'logistic', family: 'linear', view: 'tabular', objectives: ['binary', 'multiclass'], causal: true, needsTraining: true });
    expect(logisticKind.params.parse({})).toEqual(PARAMS);
    expect(() => logisticKind.params.parse({ l1: 1 })).toThrow();
  });

  it('multiclass: same input, same bytes; metadata inside; the ONNX scorer gives the float64 model within float32 rounding', async () => {
    const input = trainInput(x32, ref.n, ref.f, ref.y, MULTICLASS);
    const a = await logisticKind.train(input, PARAMS);
    const b = await logisticKind.train(input, PARAMS);
    const bytes = a.files.get('model.onnx')!;
    expect(a.format).toBe('onnx');
    expect([...a.files.keys()]).toEqual(['model.onnx']);
    expect(Buffer.from(bytes).equals(Buffer.from(b.files.get('model.onnx')!))).toBe(true);
    const decoded = onnxProto.onnx.ModelProto.decode(bytes);
    expect(decoded.metadataProps.map((e) => [e.key, e.value])).toEqual([['model', 'test'], ['schema', 'abc']]);
    expect(decoded.graph!.node!.map((nd) => nd.opType)).toEqual(['Gemm', 'Softmax']);

    const scorer = await logisticKind.load(a, MULTICLASS);
    expect(scorer.outputs).toEqual(['p_down', 'p_timeout', 'p_up']);
    const out = await scorer.score(x32, [ref.n, ref.f]);
    const mine = predictMultinomial(fitMultinomial(x32, ref.n, ref.f, ref.y, 3, PARAMS), x32, ref.n);
    expect(out.length).toBe(ref.n * 3);
    let worst = 0;
    for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! - mine[i]!));
    expect(worst).toBeLessThan(1e-6);
    // Loading for the wrong objective fails on the first batch, naming the mismatch.
    await expect((await logisticKind.load(a, BINARY)).score(x32, [ref.n, ref.f])).rejects.toThrow(/3 columns per row, objective binary needs 1/);
  });

  it('multiclass with a class absent from training: no crash, three probabilities per row', async () => {
    const y = ref.y.map((c) => (c === 1 ? 0 : c));
    const scorer = await logisticKind.load(await logisticKind.train(trainInput(x32, ref.n, ref.f, y, MULTICLASS), PARAMS), MULTICLASS);
    const out = await scorer.score(x32, [ref.n, ref.f]);
    for (let i = 0; i < ref.n; i++) {
      expect(out[i * 3]! + out[i * 3 + 1]! + out[i * 3 + 2]!).toBeCloseTo(1, 6);
      expect(out[i * 3 + 1]).toBeGreaterThan(0);
      expect(out[i * 3 + 1]).toBeLessThan(0.02);
    }
  });

  it('binary: today’s model and graph, through the scorer', async () => {
    const y = ref.y.map((c) => (c === 2 ? 1 : 0));
    const artifact = await logisticKind.train(trainInput(x32, ref.n, ref.f, y, BINARY), PARAMS);
    const scorer = await logisticKind.load(artifact, BINARY);
    expect(scorer.outputs).toEqual(['p_up']);
    const out = await scorer.score(x32, [ref.n, ref.f]);
    const mine = predictLogistic(fitLogistic(x32, ref.n, ref.f, y, PARAMS), x32, ref.n);
    let worst = 0;
    for (let i = 0; i < ref.n; i++) worst = Math.max(worst, Math.abs(out[i]! - mine[i]!));
    expect(worst).toBeLessThan(1e-6);
  });

  it('refuses an objective it does not support', async () => {
    await expect(logisticKind.train(trainInput(x32, ref.n, ref.f, ref.y, { objective: 'regression', quantiles: [] }), PARAMS)).rejects.toThrow(/logistic: objective regression is not supported/);
  });

  it('leak canary: with shuffled labels its out-of-sample log loss is no better than the class shares', async () => {
    const half = ref.n / 2;
    const shuffled = ref.y.slice();
    const rnd = mulberry32(11);
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const skill = async (y: number[]) => {
      const train = trainInput(x32.slice(0, half * ref.f), half, ref.f, y.slice(0, half), MULTICLASS);
      const scorer = await logisticKind.load(await logisticKind.train(train, PARAMS), MULTICLASS);
      const p = await scorer.score(x32.slice(half * ref.f), [half, ref.f]);
      const share = [0, 1, 2].map((c) => y.slice(0, half).filter((v) => v === c).length / half);
      let model = 0;
      let base = 0;
      for (let i = 0; i < half; i++) {
        const c = y[half + i]!;
        model -= Math.log(p[i * 3 + c]!) / half;
        base -= Math.log(share[c]!) / half;
      }
      return base - model;
    };
    expect(await skill(ref.y)).toBeGreaterThan(0.05); // the canary can tell skill when there is some
    expect(await skill(shuffled)).toBeLessThan(0.01);
  });
});
