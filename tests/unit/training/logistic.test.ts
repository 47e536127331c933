import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { calibrate, fitIsotonic, fitTemperature } from '../../../src/training/models/calibration.js';
import { logisticToOnnx } from '../../../src/training/models/logistic/logisticOnnx.js';
import { fitLogistic, predictLogistic } from '../../../src/training/models/logistic/logisticRegression.js';
import { applyScaler, fitStandardScaler } from '../../../src/training/models/scaler.js';
import { mulberry32 } from '../../helpers/random.js';

// scripts/fixtures/make_model_fixtures.py (scikit-learn 1.9.1)
const ref = JSON.parse(readFileSync('tests/fixtures/models/logistic_isotonic.json', 'utf8')) as {
  n: number;
  f: number;
  x: number[];
  y: number[];
  logistic: { l2: number; weights: number[]; intercept: number }[];
  isotonic: { p: number[]; y: number[]; grid: number[]; predicted: number[] };
};

describe('logistic regression (L2, Newton) against scikit-learn', () => {
  for (const fit of ref.logistic) {
    it(`l2 = ${fit.l2}: the same coefficients as LogisticRegression(C = 1/l2)`, () => {
      const m = fitLogistic(ref.x, ref.n, ref.f, ref.y, { l2: fit.l2, maxIterations: 50, tolerance: 1e-12 });
      m.weights.forEach((w, j) => expect(w).toBeCloseTo(fit.weights[j]!, 8));
      expect(m.intercept).toBeCloseTo(fit.intercept, 8);
      expect(m.iterations).toBeLessThan(15);
    });
  }

  it('is deterministic and its ONNX graph (onnxruntime-node) predicts what it predicts, in float32', async () => {
    const a = fitLogistic(ref.x, ref.n, ref.f, ref.y);
    const b = fitLogistic(ref.x, ref.n, ref.f, ref.y);
    expect(Buffer.from(logisticToOnnx(a)).equals(Buffer.from(logisticToOnnx(b)))).toBe(true);
    const session = await ort.InferenceSession.create(logisticToOnnx(a, { model: 'test' }));
    const input = Float32Array.from(ref.x);
    const out = (await session.run({ input: new ort.Tensor('float32', input, [ref.n, ref.f]) })).p_up!.data as Float32Array;
    const mine = predictLogistic(a, input, ref.n);
    let worst = 0;
    for (let i = 0; i < ref.n; i++) worst = Math.max(worst, Math.abs(out[i]! - mine[i]!));
    expect(worst).toBeLessThan(1e-6);
  });
});

describe('scaler', () => {
  it('is fitted on the rows given only, and maps NaN to the training mean (0)', () => {
    const x = Float64Array.from([1, 10, 3, 20, 5, Number.NaN, 1000, 1000]);
    const s = fitStandardScaler(x, 3, ['a', 'b']);
    expect(s.mean).toEqual([3, 15]);
    expect(s.std[0]).toBeCloseTo(2, 15);
    const y = Float64Array.from([3, Number.NaN]);
    applyScaler(s, y, 1);
    expect(Array.from(y)).toEqual([0, 0]);
  });
});

describe('calibration', () => {
  it('isotonic equals scikit-learn IsotonicRegression(out_of_bounds="clip") on a grid', () => {
    const c = fitIsotonic(ref.isotonic.p, ref.isotonic.y);
    ref.isotonic.grid.forEach((g, i) => expect(calibrate(c, g)).toBeCloseTo(ref.isotonic.predicted[i]!, 12));
  });

  it('temperature scaling finds the temperature that made over-confident probabilities', () => {
    // Probabilities that are right on average after dividing their logit by 2.5.
    const rnd = mulberry32(5);
    const p: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const z = (rnd() - 0.5) * 8;
      p.push(1 / (1 + Math.exp(-z)));
      y.push(rnd() < 1 / (1 + Math.exp(-z / 2.5)) ? 1 : 0);
    }
    const c = fitTemperature(p, y);
    expect(c.kind === 'temperature' && c.temperature).toBeGreaterThan(2.2);
    expect(c.kind === 'temperature' && c.temperature).toBeLessThan(2.8);
    expect(calibrate(c, 0.5)).toBeCloseTo(0.5, 12);
  });
});
