import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { movingAverageKernel } from '../../../src/training/models/dlinear/dlinearKind.js';
import { interpolationBasis, seasonalityBasis, trendBasis } from '../../../src/training/models/nbeats/nbeatsBases.js';
import { LastStep, ShiftedConv1D } from '../../../src/training/models/neural/layers/shiftedConv1d.js';
import { selectBackend } from '../../../src/training/models/neural/tfBackend.js';
import { tfjsToOnnx } from '../../../src/training/models/neural/tfjsOnnx.js';
import { openOnnxSession, runOnnx } from '../../../src/serving/onnx/onnxSession.js';
import { gaussian, mulberry32 } from '../../helpers/random.js';

const N = 3;
const LEN = 12;
const C = 2;
const FILTERS = 3;

function data(seed: number, length: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length }, () => gaussian(rand));
}

/** The textbook convolution (Keras's definition of each padding), in float64, as the reference. */
function reference(x: Float32Array, kernel: Float32Array, bias: Float32Array, k: number, d: number, padding: 'causal' | 'same' | 'valid'): number[] {
  const span = (k - 1) * d + 1;
  const start = padding === 'causal' ? span - 1 : padding === 'same' ? Math.floor((span - 1) / 2) : 0;
  const out = padding === 'valid' ? LEN - span + 1 : LEN;
  const y: number[] = [];
  for (let n = 0; n < N; n++)
    for (let t = 0; t < out; t++)
      for (let o = 0; o < FILTERS; o++) {
        let s = bias[o]!;
        for (let j = 0; j < k; j++) {
          const src = t + j * d - start;
          if (src < 0 || src >= LEN) continue;
          for (let c = 0; c < C; c++) s += x[(n * LEN + src) * C + c]! * kernel[(j * C + c) * FILTERS + o]!;
        }
        y.push(s);
      }
  return y;
}

describe('ShiftedConv1D', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });
  afterAll(async () => {
    await selectBackend('wasm');
  });

  const cases = [
    { k: 3, d: 1, padding: 'causal' as const },
    { k: 3, d: 4, padding: 'causal' as const },
    { k: 4, d: 2, padding: 'same' as const },
    { k: 5, d: 1, padding: 'valid' as const },
  ];

  it.each(cases)('k $k, dilation $d, $padding: the textbook convolution; its ONNX Conv export agrees', async ({ k, d, padding }) => {
    const x = data(1, N * LEN * C);
    const kernel = data(2, k * C * FILTERS);
    const bias = data(3, FILTERS);
    const input = tf.input({ shape: [LEN, C] });
    const layer = new ShiftedConv1D({ name: 'conv_1', filters: FILTERS, kernelSize: k, dilationRate: d, padding });
    const model = tf.model({ inputs: input, outputs: tf.layers.flatten({ name: 'flat' }).apply(layer.apply(input)) as tf.SymbolicTensor });
    layer.setWeights([tf.tensor3d(kernel, [k, C, FILTERS]), tf.tensor1d(bias)]);
    const got = tf.tidy(() => (model.predict(tf.tensor3d(x, [N, LEN, C])) as tf.Tensor).dataSync() as Float32Array).slice();
    const want = reference(x, kernel, bias, k, d, padding);
    expect(got.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5);
    const onnx = tfjsToOnnx(model, { metadata: {}, inputShape: [LEN, C] });
    expect(Buffer.from(onnx).includes('Conv')).toBe(true);
    const viaOnnx = await runOnnx(await openOnnxSession(onnx), x, [N, LEN, C]);
    for (let i = 0; i < want.length; i++) expect(Math.abs(viaOnnx[i]! - want[i]!)).toBeLessThan(1e-5);
    model.dispose();
  });

  it('trains on WASM and on CPU (tf.layers.conv1d cannot on WASM), with the same loss to float32 rounding', async () => {
    const losses: number[] = [];
    for (const backend of ['wasm', 'cpu'] as const) {
      await selectBackend(backend);
      const input = tf.input({ shape: [LEN, C] });
      const conv = new ShiftedConv1D({ name: 'conv_1', filters: FILTERS, kernelSize: 3, dilationRate: 2, padding: 'causal', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) });
      const out = tf.layers.dense({ name: 'd', units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }).apply(new LastStep({ name: 'last' }).apply(conv.apply(input)));
      const model = tf.model({ inputs: input, outputs: out as tf.SymbolicTensor });
      const x = tf.tensor3d(data(6, N * LEN * C), [N, LEN, C]);
      const y = tf.tensor2d([0.5, -1, 2], [N, 1]);
      const opt = tf.train.adam(0.05);
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      let loss = 0;
      for (let s = 0; s < 5; s++) {
        const cost = opt.minimize(() => tf.losses.meanSquaredError(y, model.apply(x) as tf.Tensor) as tf.Scalar, true, vars)!;
        loss = cost.dataSync()[0]!;
        cost.dispose();
      }
      losses.push(loss);
      tf.dispose([x, y]);
      opt.dispose();
      model.dispose();
    }
    expect(Math.abs(losses[0]! - losses[1]!)).toBeLessThan(1e-4);
  });
});

describe('fixed linear maps', () => {
  it('moving average: the centred mean with the ends repeated (the reference: the padded series averaged)', () => {
    const len = 7;
    const k = 5;
    const K = movingAverageKernel(len, k);
    const x = [3, -1, 4, 1, -5, 9, 2];
    const padded = [x[0]!, x[0]!, ...x, x[len - 1]!, x[len - 1]!];
    for (let j = 0; j < len; j++) {
      const want = padded.slice(j, j + k).reduce((a, v) => a + v, 0) / k;
      const got = x.reduce((a, v, i) => a + v * K[i * len + j]!, 0);
      expect(got).toBeCloseTo(want, 6);
    }
  });

  it('interpolation: PyTorch linear, align_corners=False (hand-computed for 2 knots → 4 steps)', () => {
    // Sources (j + ½)·2/4 − ½ = −0.25, 0.25, 0.75, 1.25, clamped to [0, 1].
    expect(Array.from(interpolationBasis(2, 4).values)).toEqual([1, 0.75, 0.25, 0, 0, 0.25, 0.75, 1]);
    expect(Array.from(interpolationBasis(1, 3).values)).toEqual([1, 1, 1]);
  });

  it('trend and seasonality bases: tᵏ and cos/sin harmonics on t = j / n', () => {
    const t = trendBasis(2, 4);
    expect(t.shape).toEqual([3, 4]);
    expect(Array.from(t.values)).toEqual([1, 1, 1, 1, 0, 0.25, 0.5, 0.75, 0, 0.0625, 0.25, 0.5625]);
    const s = seasonalityBasis(4);
    expect(s.shape).toEqual([4, 4]);
    expect(Array.from(s.values.subarray(4, 8)).map((v) => Number(v.toFixed(6)) + 0)).toEqual([1, 0, -1, 0]); // cos(2π·1·j/4)
    expect(Array.from(s.values.subarray(12, 16)).map((v) => Number(v.toFixed(6)) + 0)).toEqual([0, 1, 0, -1]); // sin(2π·1·j/4)
  });
});
