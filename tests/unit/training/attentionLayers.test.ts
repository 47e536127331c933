/**
 * The attention nets' layers (issue 18) against plain float64 references written here from the
 * papers' formulas, and each layer's ONNX export against TensorFlow.js on the same random weights
 * (within 1e-5): scaled dot-product attention (standard, causal, TFT's shared values), layer and
 * instance normalisation, PatchTST's patches, the monotone quantile head and the location-scale
 * likelihood head.
 */
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { openOnnxSession, runOnnx } from '../../../src/serving/onnx/onnxSession.js';
import { LocationScale, MonotoneQuantiles, standardQuantiles } from '../../../src/training/models/neural/layers/outputHeads.js';
import { SelfAttention } from '../../../src/training/models/neural/layers/selfAttention.js';
import { Normalization, Patches, WindowStats, patchStarts } from '../../../src/training/models/neural/layers/sequenceLayers.js';
import { selectBackend } from '../../../src/training/models/neural/tfBackend.js';
import { tfjsToOnnx } from '../../../src/training/models/neural/tfjsOnnx.js';
import { gaussian, mulberry32 } from '../../helpers/random.js';

const randn = (n: number, seed: number, scale = 1) => {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => scale * gaussian(r));
};

/** A model input → layer → Flatten, its weights set to seeded normal values. */
function wrap(layer: tf.layers.Layer, inputShape: number[], seed: number): tf.LayersModel {
  const input = tf.input({ shape: inputShape });
  const y = tf.layers.flatten().apply(layer.apply(input) as tf.SymbolicTensor) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: y });
  layer.setWeights(layer.getWeights().map((w, i) => tf.tensor(randn(w.size, seed + i, 0.5), w.shape)));
  return model;
}

async function onnxMatches(model: tf.LayersModel, inputShape: number[], x: Float32Array, n: number): Promise<number[]> {
  const ref = Array.from((model.predict(tf.tensor(x, [n, ...inputShape])) as tf.Tensor).dataSync());
  const session = await openOnnxSession(tfjsToOnnx(model, { metadata: {}, inputShape: inputShape as [number, number] }));
  const out = await runOnnx(session, x, [n, ...inputShape]);
  expect(out.length).toBe(ref.length);
  for (let i = 0; i < out.length; i++) expect(Math.abs(out[i]! - ref[i]!), `value ${i}`).toBeLessThan(1e-5);
  return ref;
}

/** Multi-head attention in float64 from the layer's weights: softmax(QKᵀ/√d_k + mask)·V, then W_O. */
function referenceAttention(x: Float32Array, t: number, d: number, layer: SelfAttention): Float64Array {
  const [wq, bq, wk, bk, wv, bv, wo, bo] = layer.getWeights().map((w) => w.dataSync() as Float32Array);
  const h = layer.heads;
  const dk = layer.keyDim;
  const vk = layer.sharedValues ? dk : h * dk;
  const proj = (w: Float32Array, b: Float32Array, cols: number) => Array.from({ length: t }, (_, i) => Array.from({ length: cols }, (_, c) => b[c]! + Array.from({ length: d }, (_, j) => x[i * d + j]! * w[j * cols + c]!).reduce((a, v) => a + v, 0)));
  const q = proj(wq!, bq!, h * dk);
  const k = proj(wk!, bk!, h * dk);
  const v = proj(wv!, bv!, vk);
  const weights = Array.from({ length: h }, (_, hh) =>
    Array.from({ length: t }, (_, i) => {
      const s = Array.from({ length: t }, (_, j) => (layer.causal && j > i ? -Infinity : Array.from({ length: dk }, (_, c) => q[i]![hh * dk + c]! * k[j]![hh * dk + c]!).reduce((a, b) => a + b, 0) / Math.sqrt(dk)));
      const m = Math.max(...s);
      const e = s.map((z) => Math.exp(z - m));
      const sum = e.reduce((a, b) => a + b, 0);
      return e.map((z) => z / sum);
    }),
  );
  const o = Array.from({ length: t }, (_, i) =>
    layer.sharedValues
      ? Array.from({ length: dk }, (_, c) => Array.from({ length: t }, (_, j) => (weights.reduce((a, w) => a + w[i]![j]!, 0) / h) * v[j]![c]!).reduce((a, b) => a + b, 0))
      : Array.from({ length: h * dk }, (_, c) => Array.from({ length: t }, (_, j) => weights[Math.floor(c / dk)]![i]![j]! * v[j]![c]!).reduce((a, b) => a + b, 0)),
  );
  return Float64Array.from({ length: t * d }, (_, idx) => {
    const i = Math.floor(idx / d);
    const c = idx % d;
    return bo![c]! + o[i]!.reduce((a, val, r) => a + val * wo![r * d + c]!, 0);
  });
}

describe('attention layers', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it.each([
    { causal: false, sharedValues: false },
    { causal: true, sharedValues: false },
    { causal: true, sharedValues: true },
  ])('self-attention %o: the float64 reference within 1e-5, and ONNX = TensorFlow.js', async (o) => {
    const [t, d] = [5, 6];
    const layer = new SelfAttention({ heads: 2, keyDim: 3, ...o });
    const model = wrap(layer, [t, d], 3);
    const x = randn(2 * t * d, 9);
    const ref = await onnxMatches(model, [t, d], x, 2);
    for (let r = 0; r < 2; r++) {
      const want = referenceAttention(x.subarray(r * t * d, (r + 1) * t * d), t, d, layer);
      for (let i = 0; i < want.length; i++) expect(Math.abs(ref[r * t * d + i]! - want[i]!)).toBeLessThan(1e-5);
    }
    const a = layer.attentionWeights(tf.tensor(x, [2, t, d]));
    expect(a.shape).toEqual([2, o.sharedValues ? 1 : 2, t, t]);
    const rows = a.sum(-1).dataSync();
    for (const s of rows) expect(s).toBeCloseTo(1, 5);
  });

  it('self-attention over leading axes (PatchTST: per channel) equals attention on each slice', async () => {
    const layer = new SelfAttention({ heads: 2, keyDim: 2 });
    const input = tf.input({ shape: [12, 4] });
    const y = tf.layers.flatten().apply(layer.apply(tf.layers.reshape({ targetShape: [3, 4, 4] }).apply(input) as tf.SymbolicTensor) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: y });
    layer.setWeights(layer.getWeights().map((w, i) => tf.tensor(randn(w.size, 5 + i, 0.5), w.shape)));
    const x = randn(3 * 4 * 4, 2);
    const ref = await onnxMatches(model, [12, 4], x, 1);
    for (let c = 0; c < 3; c++) {
      const want = referenceAttention(x.subarray(c * 16, (c + 1) * 16), 4, 4, layer);
      for (let i = 0; i < 16; i++) expect(Math.abs(ref[c * 16 + i]! - want[i]!)).toBeLessThan(1e-5);
    }
  });

  it('causal attention: changing the tokens after position i leaves outputs 0…i unchanged', () => {
    const [t, d] = [6, 4];
    const layer = new SelfAttention({ heads: 2, keyDim: 2, causal: true });
    const model = wrap(layer, [t, d], 7);
    const base = randn(t * d, 1);
    const before = (model.predict(tf.tensor(base, [1, t, d])) as tf.Tensor).dataSync();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: t - 2 }), fc.integer(), (i, seed) => {
        const changed = Float32Array.from(base, (v, k) => (k < (i + 1) * d ? v : 5 * randn(1, seed + k)[0]!));
        const after = (model.predict(tf.tensor(changed, [1, t, d])) as tf.Tensor).dataSync();
        expect(Array.from(after.subarray(0, (i + 1) * d))).toEqual(Array.from(before.subarray(0, (i + 1) * d)));
      }),
      { numRuns: 25, seed: 18 },
    );
  });

  it.each(['features', 'time'] as const)('normalisation over %s: the reference, and ONNX = TensorFlow.js', async (over) => {
    const [t, d] = [7, 3];
    const layer = new Normalization({ over });
    const model = wrap(layer, [t, d], 11);
    const x = randn(2 * t * d, 4, 3);
    const ref = await onnxMatches(model, [t, d], x, 2);
    const [gamma, beta] = layer.getWeights().map((w) => w.dataSync());
    for (let r = 0; r < 2; r++) {
      for (let i = 0; i < t; i++) {
        for (let c = 0; c < d; c++) {
          const group = over === 'features' ? Array.from({ length: d }, (_, j) => x[(r * t + i) * d + j]!) : Array.from({ length: t }, (_, j) => x[(r * t + j) * d + c]!);
          const mean = group.reduce((a, v) => a + v, 0) / group.length;
          const variance = group.reduce((a, v) => a + (v - mean) ** 2, 0) / group.length;
          const want = ((x[(r * t + i) * d + c]! - mean) / Math.sqrt(variance + 1e-5)) * gamma![c]! + beta![c]!;
          expect(Math.abs(ref[(r * t + i) * d + c]! - want)).toBeLessThan(1e-5);
        }
      }
    }
  });

  it('window statistics: each feature\'s mean then deviation over the window (what RevIN takes out), and ONNX = TensorFlow.js', async () => {
    const [t, d] = [9, 3];
    const input = tf.input({ shape: [t, d] });
    const model = tf.model({ inputs: input, outputs: new WindowStats({}).apply(input) as tf.SymbolicTensor });
    const x = randn(4 * t * d, 6, 2);
    const out = await onnxMatches(model, [t, d], x, 4);
    for (let r = 0; r < 4; r++) {
      for (let c = 0; c < d; c++) {
        const v = Array.from({ length: t }, (_, i) => x[(r * t + i) * d + c]!);
        const mean = v.reduce((a, b) => a + b, 0) / t;
        const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / t + 1e-5);
        expect(Math.abs(out[r * 2 * d + c]! - mean)).toBeLessThan(1e-5);
        expect(Math.abs(out[r * 2 * d + d + c]! - sd)).toBeLessThan(1e-5);
      }
    }
  });

  it('patches: channel-independent windows with the last value repeated stride times at the end, exact in ONNX', async () => {
    const [len, ch, patchLen, stride] = [10, 2, 4, 3];
    expect(patchStarts(len, patchLen, stride)).toEqual([0, 3, 6, 9]);
    expect(() => patchStarts(4, 16, 8)).toThrow(/patchLen 16 is longer than the padded window/);
    const model = wrap(new Patches({ patchLen, stride }), [len, ch], 1);
    const x = Float32Array.from({ length: len * ch }, (_, i) => i);
    const ref = await onnxMatches(model, [len, ch], x, 1);
    const padded = (c: number) => [...Array.from({ length: len }, (_, s) => x[s * ch + c]!), ...Array.from({ length: stride }, () => x[(len - 1) * ch + c]!)];
    const want = [0, 1].flatMap((c) => [0, 3, 6, 9].flatMap((s) => padded(c).slice(s, s + patchLen)));
    expect(ref).toEqual(want);
  });

  it('monotone quantiles never cross, whatever the logits, and the export matches', async () => {
    const layer = new MonotoneQuantiles({ shift: 0.001, scale: 0.02 });
    const input = tf.input({ shape: [4] });
    const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
    const x = randn(64 * 4, 3, 20);
    const q = await onnxMatches(model, [4], x, 64);
    for (let r = 0; r < 64; r++) {
      expect(q[r * 4]!).toBeCloseTo(0.001 + 0.02 * x[r * 4]!, 6);
      for (let k = 1; k < 4; k++) expect(q[r * 4 + k]!).toBeGreaterThanOrEqual(q[r * 4 + k - 1]!);
    }
  });

  it.each([
    ['gaussian', 0],
    ['student_t', 4],
  ] as const)('location-scale (%s): quantiles μ + σ·z from the distribution, E[r] = μ, and the export matches', async (likelihood, df) => {
    const levels = [0.05, 0.5, 0.95];
    const z = standardQuantiles(likelihood, df, levels);
    const want = likelihood === 'gaussian' ? levels.map((p) => normalQuantile(p, 0, 1)) : levels.map((p) => tQuantile(p, df));
    expect(z).toEqual(want);
    for (const mean of [true, false]) {
      const layer = new LocationScale({ z: mean ? [] : z, mean, shift: 0.001, scale: 0.02 });
      const input = tf.input({ shape: [2] });
      const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
      const x = randn(16 * 2, 8, 2);
      const out = await onnxMatches(model, [2], x, 16);
      const k = mean ? 1 : 3;
      for (let r = 0; r < 16; r++) {
        const mu = x[r * 2]!;
        const s = x[r * 2 + 1]!;
        const sigma = (s > 0 ? s + 1 : Math.exp(s)) + 1e-4;
        const expected = mean ? [mu] : z.map((zk) => mu + sigma * zk);
        for (let j = 0; j < k; j++) expect(Math.abs(out[r * k + j]! - (0.001 + 0.02 * expected[j]!))).toBeLessThan(1e-6);
      }
    }
  });
});
