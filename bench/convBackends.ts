/**
 * Training a convolution on each TensorFlow.js backend, side by side (issue 16's "training on
 * WASM"): tf.layers.conv1d (only 'cpu' can train it: WASM has no Conv2DBackpropFilter) against
 * ShiftedConv1D (shifted slices + one matmul) on 'cpu' and 'wasm'. Same weights, same batches:
 * it prints ms per Adam step and the largest difference of the outputs from tf.layers.conv1d.
 *
 *   npx tsx bench/convBackends.ts
 */
import * as tf from '@tensorflow/tfjs';
import { ShiftedConv1D } from '../src/training/models/neural/layers/shiftedConv1d.js';
import { selectBackend } from '../src/training/models/neural/tfBackend.js';

const N = 256;
const L = 32;
const C = 32;
const F = 32;
const K = 5;
const DILATION = Number(process.env.DILATION ?? 1);
const STEPS = 20;

function model(kind: 'conv1d' | 'shifted'): tf.LayersModel {
  const input = tf.input({ shape: [L, C] });
  const init = () => tf.initializers.glorotUniform({ seed: 1 });
  const conv = (i: number) =>
    kind === 'conv1d'
      ? tf.layers.conv1d({ name: `c${i}`, filters: F, kernelSize: K, dilationRate: DILATION, padding: 'same', kernelInitializer: init() })
      : new ShiftedConv1D({ name: `c${i}`, filters: F, kernelSize: K, dilationRate: DILATION, padding: 'same', kernelInitializer: init() });
  let h: tf.SymbolicTensor = input;
  for (let i = 0; i < 3; i++) h = tf.layers.activation({ activation: 'relu' }).apply(conv(i).apply(h)) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 1, kernelInitializer: init() }).apply(tf.layers.globalAveragePooling1d().apply(h)) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

async function run(kind: 'conv1d' | 'shifted', backend: 'cpu' | 'wasm'): Promise<{ ms: number; out: Float32Array } | string> {
  await selectBackend(backend);
  const m = model(kind);
  const x = tf.tensor3d(Float32Array.from({ length: N * L * C }, (_, i) => Math.sin(i * 0.37)), [N, L, C]);
  const y = tf.tensor2d(Float32Array.from({ length: N }, (_, i) => (i % 3) * 0.1), [N, 1]);
  const opt = tf.train.adam(1e-3);
  const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
  try {
    const step = () => opt.minimize(() => tf.losses.meanSquaredError(y, m.apply(x) as tf.Tensor) as tf.Scalar, false, vars);
    step();
    const t0 = performance.now();
    for (let s = 0; s < STEPS; s++) step();
    tf.tidy(() => (m.apply(x) as tf.Tensor).dataSync());
    const ms = (performance.now() - t0) / STEPS;
    const out = tf.tidy(() => (m.apply(x) as tf.Tensor).dataSync() as Float32Array).slice();
    return { ms, out };
  } catch (e) {
    return (e as Error).message.split('\n')[0]!;
  } finally {
    tf.dispose([x, y]);
    opt.dispose();
    m.dispose();
  }
}

const results: [string, Awaited<ReturnType<typeof run>>][] = [];
results.push(['tf.layers.conv1d, cpu', await run('conv1d', 'cpu')]);
results.push(['tf.layers.conv1d, wasm', await run('conv1d', 'wasm')]);
results.push(['ShiftedConv1D, cpu', await run('shifted', 'cpu')]);
results.push(['ShiftedConv1D, wasm', await run('shifted', 'wasm')]);
const ref = results[0]![1];
console.log(`3 conv layers (k ${K}, dilation ${DILATION}, ${C}→${F} channels) on [${N}, ${L}, ${C}], ${STEPS} Adam steps each`);
for (const [name, r] of results) {
  if (typeof r === 'string') {
    console.log(`${name.padEnd(26)} cannot train: ${r}`);
    continue;
  }
  const diff = typeof ref === 'string' ? NaN : Math.max(...Array.from(r.out, (v, i) => Math.abs(v - ref.out[i]!)));
  console.log(`${name.padEnd(26)} ${r.ms.toFixed(1).padStart(7)} ms/step   max |Δ| from conv1d/cpu after ${STEPS + 1} steps ${diff.toExponential(1)}`);
}
