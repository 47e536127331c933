import * as tf from '@tensorflow/tfjs';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOnnxSession, runOnnx } from '../../../src/serving/onnx/onnxSession.js';
import { SUPPORTED_ACTIVATIONS } from '../../../src/training/models/neural/onnxLayers/activations.js';
import { tfjsToOnnx } from '../../../src/training/models/neural/tfjsOnnx.js';
import { selectBackend } from '../../../src/training/models/lstm/tfBackend.js';
import { mulberry32 } from '../../helpers/random.js';

/**
 * Every exported graph is checked against tfjs's own predict (the reference: the layers' real
 * arithmetic) on random seeded weights and inputs, run through onnxruntime as serving runs it.
 */
const TOLERANCE = 1e-5;
const N = 5;
const measured: [string, number][] = [];

beforeAll(async () => {
  await selectBackend('cpu');
});

afterAll(() => {
  // The measured differences, for the record (reported with the exporter).
  console.log(measured.map(([k, v]) => `${k}: ${v.toExponential(2)}`).join('\n'));
});

function uniform(rand: () => number, length: number, scale: number): Float32Array {
  return Float32Array.from({ length }, () => (2 * rand() - 1) * scale);
}

/** Replaces every weight with uniform(−scale, scale) draws from a seeded stream (variances in [0.1, 0.1 + scale)). */
function seedWeights(model: tf.LayersModel, seed: number, scale = 0.6): void {
  const rand = mulberry32(seed);
  for (const layer of model.layers) {
    if (layer.weights.length === 0) continue;
    const values = layer.weights.map((w) => {
      const v = uniform(rand, w.shape.reduce((a: number, b) => a * b!, 1), scale);
      return w.originalName.endsWith('/moving_variance') ? v.map((e) => Math.abs(e) + 0.1) : v;
    });
    tf.tidy(() => layer.setWeights(values.map((v, i) => tf.tensor(v, layer.weights[i]!.shape as number[]))));
  }
}

function tfPredict(model: tf.LayersModel, x: Float32Array, dims: number[]): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor(x, dims)) as tf.Tensor).dataSync() as Float32Array);
}

async function onnxPredict(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<Float64Array> {
  return runOnnx(await openOnnxSession(bytes), x, dims);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Exports `model`, runs both on the same random input and records the max |tfjs − onnx|. */
async function expectParity(label: string, model: tf.LayersModel, inputShape: [number, number] | [number], seed: number, reference?: (x: Float32Array, dims: number[]) => Float32Array): Promise<number> {
  seedWeights(model, seed);
  const dims = [N, ...inputShape];
  const x = uniform(mulberry32(seed + 1000), dims.reduce((a, b) => a * b, 1), 1.5);
  const expected = (reference ?? ((xx, d) => tfPredict(model, xx, d)))(x, dims);
  const got = await onnxPredict(tfjsToOnnx(model, { metadata: {}, inputShape }), x, dims);
  const diff = maxAbsDiff(expected, got);
  measured.push([label, diff]);
  expect(diff).toBeLessThan(TOLERANCE);
  expect(expected.every(Number.isFinite)).toBe(true);
  // A saturated or constant output would make the comparison vacuous.
  expect(Math.max(...expected) - Math.min(...expected)).toBeGreaterThan(1e-3);
  return diff;
}

const seq = (...layers: tf.layers.Layer[]): tf.Sequential => tf.sequential({ layers });

describe('recurrent layers', () => {
  it('the barflow LSTM shape: one LSTM layer (last step, sigmoid gates), Dense logit, sigmoid Activation', async () => {
    const m = seq(tf.layers.lstm({ units: 8, recurrentActivation: 'sigmoid', inputShape: [12, 5] }), tf.layers.dense({ units: 1 }), tf.layers.activation({ activation: 'sigmoid' }));
    await expectParity('lstm 1 layer + sigmoid head', m, [12, 5], 1);
  });

  it('stacked LSTMs with dropout between and before the head (tfjs default hardSigmoid gates)', async () => {
    const m = seq(
      tf.layers.lstm({ units: 6, returnSequences: true, inputShape: [10, 3] }),
      tf.layers.dropout({ rate: 0.3 }),
      tf.layers.lstm({ units: 5 }),
      tf.layers.dropout({ rate: 0.3 }),
      tf.layers.dense({ units: 1, activation: 'sigmoid' }),
    );
    expect((m.layers[0]!.getConfig() as { recurrentActivation: string }).recurrentActivation).toBe('hardSigmoid');
    await expectParity('lstm 2 layers + dropout', m, [10, 3], 2);
  });

  it('full sequences through Flatten; activations that take alpha/beta (HardSigmoid, Affine) and ones without', async () => {
    const m = seq(tf.layers.lstm({ units: 4, returnSequences: true, activation: 'linear', recurrentActivation: 'hardSigmoid', inputShape: [7, 3] }), tf.layers.flatten(), tf.layers.dense({ units: 2 }));
    await expectParity('lstm linear/hardSigmoid, sequences + flatten', m, [7, 3], 3);
    const m2 = seq(tf.layers.lstm({ units: 4, activation: 'softsign', recurrentActivation: 'sigmoid', useBias: false, inputShape: [7, 3] }), tf.layers.dense({ units: 1 }));
    await expectParity('lstm softsign/sigmoid, no bias', m2, [7, 3], 4);
  });

  it('GRU (reset before the recurrent matmul, the only mode tfjs builds), stacked, both gate activations', async () => {
    const m = seq(tf.layers.gru({ units: 6, returnSequences: true, inputShape: [9, 4] }), tf.layers.gru({ units: 5, recurrentActivation: 'sigmoid' }), tf.layers.dense({ units: 1, activation: 'sigmoid' }));
    await expectParity('gru 2 layers (hardSigmoid, sigmoid)', m, [9, 4], 5);
    // tfjs 4.22 refuses resetAfter, so no tfjs model needs ONNX linear_before_reset = 1.
    expect(() => tf.layers.gru({ units: 3, resetAfter: true } as Parameters<typeof tf.layers.gru>[0])).toThrow(/reset_after/);
  });
  it('a model built for any sequence length is exported for the one inputShape names', async () => {
    const x = tf.input({ shape: [null, 3] });
    const h = tf.layers.lstm({ units: 4, recurrentActivation: 'sigmoid' }).apply(x) as tf.SymbolicTensor;
    const m = tf.model({ inputs: x, outputs: tf.layers.dense({ units: 1 }).apply(h) as tf.SymbolicTensor });
    await expectParity('lstm, input length unset in the model', m, [8, 3], 6);
  });
});

describe('dense heads and activations', () => {
  it.each(SUPPORTED_ACTIVATIONS)('Dense with activation %s', async (activation) => {
    const m = seq(tf.layers.dense({ units: 4, activation: activation as 'linear', inputShape: [6] }));
    await expectParity(`dense ${activation}`, m, [6], 10);
  });

  it('a softmax head with 3 units (multiclass) and a linear head with 3 units (quantiles)', async () => {
    const soft = seq(tf.layers.lstm({ units: 5, recurrentActivation: 'sigmoid', inputShape: [8, 3] }), tf.layers.dense({ units: 3, activation: 'softmax' }));
    await expectParity('lstm + softmax 3', soft, [8, 3], 11);
    const lin = seq(tf.layers.lstm({ units: 5, recurrentActivation: 'sigmoid', inputShape: [8, 3] }), tf.layers.dense({ units: 3 }));
    await expectParity('lstm + linear 3', lin, [8, 3], 12);
  });

  it('Dense on sequences (applied per step), then Flatten', async () => {
    const m = seq(tf.layers.dense({ units: 3, activation: 'tanh', inputShape: [5, 4] }), tf.layers.flatten(), tf.layers.dense({ units: 2 }));
    await expectParity('dense per step + flatten', m, [5, 4], 13);
  });
});

describe('Conv1D', () => {
  it.each([
    ['valid', 3, 1, 1],
    ['same', 3, 1, 2],
    ['same', 4, 2, 1],
    ['valid', 2, 2, 1],
  ] as const)('padding %s, kernel %i, strides %i, dilation %i', async (padding, kernelSize, strides, dilationRate) => {
    const m = seq(tf.layers.conv1d({ filters: 4, kernelSize, strides, dilationRate, padding, activation: 'relu', inputShape: [11, 3] }), tf.layers.flatten(), tf.layers.dense({ units: 2 }));
    await expectParity(`conv1d ${padding} k${kernelSize} s${strides} d${dilationRate}`, m, [11, 3], 20);
  });

  it("'causal' padding (tfjs cannot predict it: checked against tf.conv1d on a left-padded input)", async () => {
    const conv = tf.layers.conv1d({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'causal', inputShape: [10, 3] });
    const m = seq(conv, tf.layers.flatten());
    expect(() => tf.tidy(() => m.predict(tf.zeros([1, 10, 3])))).toThrow(/CAUSAL/);
    const reference = (x: Float32Array, dims: number[]): Float32Array =>
      tf.tidy(() => {
        const [kernel, bias] = conv.getWeights();
        const padded = tf.pad(tf.tensor3d(x, dims as [number, number, number]), [[0, 0], [4, 0], [0, 0]]);
        return tf.add(tf.conv1d(padded, kernel as tf.Tensor3D, 1, 'valid', 'NWC', 2), bias!).dataSync() as Float32Array;
      });
    await expectParity('conv1d causal k3 d2', m, [10, 3], 21, reference);
  });
});

describe('residual and inception blocks (functional models)', () => {
  it('a ResNet-style block: Conv1D same, BatchNormalization, ReLU, a 1×1 shortcut, Add, GlobalAveragePooling1D, softmax', async () => {
    const x = tf.input({ shape: [12, 3] });
    const conv = tf.layers.conv1d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(x) as tf.SymbolicTensor;
    const bn = tf.layers.batchNormalization().apply(conv) as tf.SymbolicTensor;
    const relu = tf.layers.activation({ activation: 'relu' }).apply(bn) as tf.SymbolicTensor;
    const shortcut = tf.layers.conv1d({ filters: 4, kernelSize: 1, useBias: false }).apply(x) as tf.SymbolicTensor;
    const sum = tf.layers.add().apply([relu, shortcut]) as tf.SymbolicTensor;
    const pooled = tf.layers.globalAveragePooling1d().apply(sum) as tf.SymbolicTensor;
    const m = tf.model({ inputs: x, outputs: tf.layers.dense({ units: 3, activation: 'softmax' }).apply(pooled) as tf.SymbolicTensor });
    await expectParity('resnet block', m, [12, 3], 30);
  });

  it('an Inception-style block: parallel Conv1Ds and a MaxPooling1D branch, Concatenate, GlobalMaxPooling1D', async () => {
    const x = tf.input({ shape: [11, 3] });
    const branches = [3, 5].map((k) => tf.layers.conv1d({ filters: 2, kernelSize: k, padding: 'same', useBias: false }).apply(x) as tf.SymbolicTensor);
    const pool = tf.layers.maxPooling1d({ poolSize: 3, strides: 1, padding: 'same' }).apply(x) as tf.SymbolicTensor;
    branches.push(tf.layers.conv1d({ filters: 2, kernelSize: 1 }).apply(pool) as tf.SymbolicTensor);
    const cat = tf.layers.concatenate().apply(branches) as tf.SymbolicTensor;
    const bn = tf.layers.batchNormalization({ center: false }).apply(cat) as tf.SymbolicTensor;
    const pooled = tf.layers.globalMaxPooling1d().apply(bn) as tf.SymbolicTensor;
    const m = tf.model({ inputs: x, outputs: tf.layers.dense({ units: 1, activation: 'sigmoid' }).apply(pooled) as tf.SymbolicTensor });
    await expectParity('inception block', m, [11, 3], 31);
  });

  it.each([
    ['maxPooling1d', 'valid', 2, 2],
    ['maxPooling1d', 'same', 3, 2],
    ['averagePooling1d', 'valid', 3, 1],
    ['averagePooling1d', 'same', 2, 2],
  ] as const)('%s padding %s, pool %i, strides %i', async (kind, padding, poolSize, strides) => {
    const m = seq(tf.layers[kind]({ poolSize, strides, padding, inputShape: [9, 2] }), tf.layers.flatten());
    await expectParity(`${kind} ${padding} p${poolSize} s${strides}`, m, [9, 2], 32);
  });
});

describe('refusals', () => {
  it('names the class and name of an unsupported layer, and of an unsupported activation', () => {
    const ln = seq(tf.layers.dense({ units: 3, inputShape: [4] }), tf.layers.layerNormalization({ name: 'ln_1' }), tf.layers.dense({ units: 1 }));
    expect(() => tfjsToOnnx(ln, { metadata: {}, inputShape: [4] })).toThrow(/LayerNormalization layer 'ln_1' has no ONNX export/);
    const rnn = seq(tf.layers.simpleRNN({ units: 3, name: 'rnn_1', inputShape: [5, 2] }));
    expect(() => tfjsToOnnx(rnn, { metadata: {}, inputShape: [5, 2] })).toThrow(/SimpleRNN layer 'rnn_1'/);
    const selu = seq(tf.layers.lstm({ units: 3, activation: 'selu', name: 'lstm_selu', inputShape: [5, 2] }));
    expect(() => tfjsToOnnx(selu, { metadata: {}, inputShape: [5, 2] })).toThrow(/LSTM layer 'lstm_selu': activation 'selu' has no ONNX RNN equivalent/);
  });

  it('refuses goBackwards, a sequence output, and an inputShape the model does not take', () => {
    const back = seq(tf.layers.lstm({ units: 3, goBackwards: true, name: 'back', inputShape: [5, 2] }));
    expect(() => tfjsToOnnx(back, { metadata: {}, inputShape: [5, 2] })).toThrow(/LSTM layer 'back': goBackwards/);
    const sequences = seq(tf.layers.lstm({ units: 3, returnSequences: true, inputShape: [5, 2] }));
    expect(() => tfjsToOnnx(sequences, { metadata: {}, inputShape: [5, 2] })).toThrow(/output is \[N, 5, 3\]/);
    const m = seq(tf.layers.lstm({ units: 3, inputShape: [5, 2] }));
    expect(() => tfjsToOnnx(m, { metadata: {}, inputShape: [6, 2] })).toThrow(/does not match the model's input \[N, 5, 2\]/);
  });
});

describe('determinism', () => {
  it('the same architecture and weights give the same bytes, whatever tfjs named the layers; metadata is sorted', () => {
    const build = (): tf.Sequential => {
      const m = seq(tf.layers.lstm({ units: 4, inputShape: [6, 3] }), tf.layers.dropout({ rate: 0.1 }), tf.layers.dense({ units: 1, activation: 'sigmoid' }));
      seedWeights(m, 7);
      return m;
    };
    const a = build();
    const b = build();
    expect(a.layers[0]!.name).not.toBe(b.layers[0]!.name);
    const metadata = { zeta: '1', alpha: '2' };
    const bytesA = tfjsToOnnx(a, { metadata, inputShape: [6, 3] });
    expect(Buffer.from(tfjsToOnnx(b, { metadata: { alpha: '2', zeta: '1' }, inputShape: [6, 3] })).equals(Buffer.from(bytesA))).toBe(true);
    const decoded = onnxProto.onnx.ModelProto.decode(bytesA);
    expect(decoded.metadataProps.map((p) => p.key)).toEqual(['alpha', 'zeta']);
    expect(decoded.graph!.input!.map((i) => i.name)).toEqual(['x']);
    expect(decoded.graph!.output!.map((o) => o.name)).toEqual(['y']);
  });
});
