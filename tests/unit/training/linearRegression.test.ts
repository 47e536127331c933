import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { centredGram } from '../../../src/training/models/linear/centredGram.js';
import { fitElasticNet } from '../../../src/training/models/linear/elasticNet.js';
import { linearKind, type LinearParams } from '../../../src/training/models/linear/linearKind.js';
import { predictLinear } from '../../../src/training/models/linear/linearModel.js';
import { fitRidge } from '../../../src/training/models/linear/ridgeRegression.js';
import type { TrainInput } from '../../../src/training/models/modelRegistry.js';
import type { ObjectiveSpec } from '../../../src/training/objectives/objective.js';
import { mulberry32 } from '../../helpers/random.js';

// tests/fixtures/linear/make_linear_fixtures.py (scikit-learn 1.9.1; the command is at its top)
const ref = (JSON.parse(readFileSync('tests/fixtures/linear/linear_fixtures.json', 'utf8')) as { regression: Regression }).regression;
interface Fit {
  weights: number[];
  intercept: number;
  predicted: number[];
}
interface Regression {
  n: number;
  f: number;
  x: number[];
  y: number[];
  ridge: (Fit & { alpha: number })[];
  elasticNet: (Fit & { alpha: number; l1Ratio: number })[];
}

const REGRESSION: ObjectiveSpec = { objective: 'regression', quantiles: [] };
const x32 = Float32Array.from(ref.x);

function trainInput(x: Float32Array, n: number, y: ArrayLike<number>): TrainInput {
  return { x, dims: [n, ref.f], n, f: ref.f, y: Float32Array.from(y), objective: REGRESSION, seed: 1, metadata: { model: 'test' } };
}

function expectFit(m: { weights: Float64Array; intercept: number }, fit: Fit): void {
  fit.weights.forEach((w, j) => expect(Math.abs(m.weights[j]! - w)).toBeLessThan(1e-6));
  expect(Math.abs(m.intercept - fit.intercept)).toBeLessThan(1e-6);
  const p = predictLinear(m as Parameters<typeof predictLinear>[0], ref.x, ref.n);
  p.forEach((v, i) => expect(Math.abs(v - fit.predicted[i]!)).toBeLessThan(1e-6));
}

describe('ridge and elastic net against scikit-learn', () => {
  const gram = centredGram(ref.x, ref.n, ref.f, ref.y);
  for (const fit of ref.ridge) {
    it(`ridge l2 = ${fit.alpha}: the coefficients and predictions of Ridge(alpha = l2)`, () => expectFit(fitRidge(gram, fit.alpha), fit));
  }
  for (const fit of ref.elasticNet) {
    it(`elastic net alpha = ${fit.alpha}, l1Ratio = ${fit.l1Ratio}: those of ElasticNet(alpha, l1_ratio)`, () => {
      const m = fitElasticNet(gram, { alpha: fit.alpha, l1Ratio: fit.l1Ratio, tolerance: 1e-12, maxIterations: 100_000 });
      expect(m.converged).toBe(true);
      expectFit(m, fit);
      // Exact zeros where sklearn has them: the L1 part selects.
      fit.weights.forEach((w, j) => expect(m.weights[j] === 0).toBe(w === 0));
    });
  }

  it('elastic net says when it stopped at its iteration limit', () => {
    const m = fitElasticNet(gram, { alpha: 0.05, l1Ratio: 0.5, tolerance: 1e-14, maxIterations: 2 });
    expect(m).toMatchObject({ iterations: 2, converged: false });
  });
});

describe('linearKind (ModelKind v2)', () => {
  it('declares what it is; params default to ridge and are strict per penalty', () => {
    expect(linearKind).toMatchObject({ name: 'linear', family: 'linear', view: 'tabular', objectives: ['regression'], causal: true, needsTraining: true });
    expect(linearKind.params.parse({})).toEqual({ penalty: 'ridge', l2: 1 });
    expect(linearKind.params.parse({ penalty: 'elastic_net' })).toEqual({ penalty: 'elastic_net', alpha: 1, l1Ratio: 0.5, tolerance: 1e-8, maxIterations: 10_000 });
    expect(linearKind.params.safeParse({ l1Ratio: 0.5 }).success).toBe(false); // l1Ratio belongs to elastic_net
    expect(linearKind.params.safeParse({ penalty: 'lasso' }).success).toBe(false);
    expect(linearKind.params.safeParse({ penalty: 'elastic_net', l1Ratio: 1.5 }).success).toBe(false);
  });

  const cases: LinearParams[] = [
    { penalty: 'ridge', l2: 1 },
    { penalty: 'elastic_net', alpha: 0.05, l1Ratio: 0.5, tolerance: 1e-10, maxIterations: 10_000 },
  ];
  for (const params of cases) {
    it(`${params.penalty}: same input, same bytes; one Gemm; the ONNX scorer gives the float64 model within float32 rounding`, async () => {
      const a = await linearKind.train(trainInput(x32, ref.n, ref.y), params);
      const b = await linearKind.train(trainInput(x32, ref.n, ref.y), params);
      const bytes = a.files.get('model.onnx')!;
      expect(a.format).toBe('onnx');
      expect(Buffer.from(bytes).equals(Buffer.from(b.files.get('model.onnx')!))).toBe(true);
      const decoded = onnxProto.onnx.ModelProto.decode(bytes);
      expect(decoded.graph!.node!.map((nd) => nd.opType)).toEqual(['Gemm']);
      expect(decoded.metadataProps.map((e) => [e.key, e.value])).toEqual([['model', 'test']]);

      const scorer = await linearKind.load(a, REGRESSION);
      expect(scorer.outputs).toEqual(['e_r']);
      const out = await scorer.score(x32, [ref.n, ref.f]);
      const gram = centredGram(x32, ref.n, ref.f, Float32Array.from(ref.y));
      const model = params.penalty === 'ridge' ? fitRidge(gram, params.l2) : fitElasticNet(gram, params);
      const mine = predictLinear(model, x32, ref.n);
      expect(out.length).toBe(ref.n);
      for (let i = 0; i < ref.n; i++) expect(Math.abs(out[i]! - mine[i]!)).toBeLessThan(2e-6 * Math.max(1, Math.abs(mine[i]!)));
    });
  }

  it('refuses an objective it does not support', async () => {
    await expect(linearKind.train({ ...trainInput(x32, ref.n, ref.y), objective: { objective: 'binary', quantiles: [] } }, { penalty: 'ridge', l2: 1 })).rejects.toThrow(/linear: objective binary is not supported/);
  });

  it('leak canary: with shuffled targets its out-of-sample R² is nil', async () => {
    const half = ref.n / 2;
    const shuffled = ref.y.slice();
    const rnd = mulberry32(7);
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const outOfSampleR2 = async (y: number[], params: LinearParams) => {
      const scorer = await linearKind.load(await linearKind.train(trainInput(x32.slice(0, half * ref.f), half, y.slice(0, half)), params), REGRESSION);
      const p = await scorer.score(x32.slice(half * ref.f), [half, ref.f]);
      const test = y.slice(half);
      const mean = test.reduce((s, v) => s + v, 0) / half;
      let sse = 0;
      let sst = 0;
      test.forEach((v, i) => {
        sse += (v - p[i]!) ** 2;
        sst += (v - mean) ** 2;
      });
      return 1 - sse / sst;
    };
    for (const params of cases) {
      expect(await outOfSampleR2(ref.y, params)).toBeGreaterThan(0.3); // the canary can tell skill when there is some
      expect(await outOfSampleR2(shuffled, params)).toBeLessThan(0.02);
    }
  });
});
