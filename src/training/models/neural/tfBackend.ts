/**
 * Which TensorFlow.js backend trains the neural models (docs/models-lstm.md).
 *
 * Order for 'auto': native TensorFlow (`@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node`)
 * when a user installed it (it cannot be installed here: its install step downloads binaries), then
 * WASM when a real LSTM training step works on it, then the pure-JS CPU backend.
 *
 * Finding (tfjs 4.22, measured by `probeTraining` and the unit test): the WASM backend has every
 * kernel that training `tf.layers.lstm` with Adam needs (forward and the gradient ops: BatchMatMul,
 * _FusedMatMul, Sigmoid, Tanh, SplitV, Pack/Unpack, Concat, Tile, Transpose, Sum, Sqrt, Log1p, …),
 * and it trains an LSTM 3–5× faster than 'cpu' (measured side by side). What WASM lacks are
 * gradients other models need: Conv2DBackpropFilter and DepthwiseConv2dNativeBackpropFilter/Input (so tf.layers.conv1d
 * cannot train there; the conv kinds use layers/shiftedConv1d.ts, which can), UnsortedSegmentSum (gather gradient: embeddings),
 * Einsum, FFT and complex numbers; conv1d with causal padding is not implemented at all. Hence the
 * probe trains a real step instead of trusting a kernel list.
 *
 * Determinism: 'cpu' is bit-for-bit deterministic (plain JS arithmetic in a fixed order). 'wasm' in
 * Node runs single-threaded (no worker threads) and was deterministic run to run in our tests, but
 * its numbers differ from 'cpu' in the last bits (different matmul kernels), so a model is
 * reproducible only on the backend that trained it. Native TensorFlow (GPU especially) makes no
 * such promise.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';

export type BackendPreference = 'auto' | 'cpu' | 'wasm' | 'node';

export interface BackendAttempt {
  /** Backend or package tried. */
  name: string;
  ok: boolean;
  reason: string;
}

export interface BackendReport {
  preference: BackendPreference;
  /** tf backend name in use: 'tensorflow' (native), 'wasm' or 'cpu'. */
  backend: string;
  attempts: BackendAttempt[];
  /** Whether training on it is known to be bit-for-bit reproducible. */
  deterministic: boolean;
}

export interface TrainingProbe {
  ok: boolean;
  /** Kernels a training step ran (empty when it failed). */
  kernels: string[];
  /** Of those, the ones the backend has no kernel for (tf reports only the first it meets). */
  missingKernels: string[];
  error?: string;
}

const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

let report: BackendReport | undefined;
let wasmPathsSet = false;
const probes = new Map<string, TrainingProbe>();

/** Switches tf to a backend and returns its name; see the module comment for the order. */
export async function selectBackend(preference: BackendPreference = 'auto'): Promise<string> {
  if (report !== undefined && report.preference === preference && tf.getBackend() === report.backend) return report.backend;
  const attempts: BackendAttempt[] = [];
  const done = (backend: string): string => {
    report = { preference, backend, attempts, deterministic: backend === 'cpu' || backend === 'wasm' };
    return backend;
  };
  if (preference === 'node' || preference === 'auto') {
    if (await tryNative(attempts)) return done('tensorflow');
    if (preference === 'node') throw new Error(`no native TensorFlow backend: ${summary(attempts)}`);
  }
  if (preference === 'wasm' || preference === 'auto') {
    if (await tryWasm(attempts)) return done('wasm');
    if (preference === 'wasm') throw new Error(`the WASM backend cannot train the LSTM: ${summary(attempts)}`);
  }
  if (!(await tf.setBackend('cpu'))) throw new Error('the tfjs CPU backend failed to start');
  attempts.push({ name: 'cpu', ok: true, reason: 'pure-JS backend, always available' });
  return done('cpu');
}

/** What the last `selectBackend` tried and chose (undefined before the first call). */
export function backendReport(): BackendReport | undefined {
  return report === undefined ? undefined : { ...report, attempts: report.attempts.map((a) => ({ ...a })) };
}

/** Whether `selectBackend` has run (trainers keep the caller's choice instead of re-selecting). */
export function backendSelected(): boolean {
  return report !== undefined && tf.getBackend() === report.backend;
}

async function tryNative(attempts: BackendAttempt[]): Promise<boolean> {
  for (const pkg of NATIVE_PACKAGES) {
    try {
      // A variable specifier: the packages are optional, so neither tsc nor a bundler may resolve them.
      const spec: string = pkg;
      await import(spec);
    } catch (e) {
      const code = (e as { code?: string }).code;
      attempts.push({ name: pkg, ok: false, reason: code === 'ERR_MODULE_NOT_FOUND' ? 'not installed' : `import failed: ${message(e)}` });
      continue;
    }
    // It registers 'tensorflow' on the @tensorflow/tfjs copy it resolves; a second copy (another
    // version) leaves ours without it.
    if (tf.findBackendFactory('tensorflow') === null) {
      attempts.push({ name: pkg, ok: false, reason: 'installed, but it registered its backend on another copy of @tensorflow/tfjs (versions differ)' });
      continue;
    }
    if (!(await tf.setBackend('tensorflow'))) {
      attempts.push({ name: pkg, ok: false, reason: 'its backend failed to start' });
      continue;
    }
    const probe = await probeTraining();
    attempts.push({ name: pkg, ok: probe.ok, reason: probe.ok ? 'native TensorFlow' : `training probe failed: ${probe.error}` });
    if (probe.ok) return true;
  }
  return false;
}

async function tryWasm(attempts: BackendAttempt[]): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (!wasmPathsSet) {
      // The .wasm files sit beside the package's Node entry; tf must be told before it starts wasm.
      const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(`${dirname(entry)}/`);
      wasmPathsSet = true;
    }
    if (!(await tf.setBackend('wasm'))) {
      attempts.push({ name: 'wasm', ok: false, reason: 'the WASM backend failed to start' });
      return false;
    }
    const probe = await probeTraining();
    const threads = wasm.getThreadsCount();
    attempts.push({
      name: 'wasm',
      ok: probe.ok,
      reason: probe.ok
        ? `an LSTM + Adam training step runs (${probe.kernels.length} kernels, ${threads} thread${threads === 1 ? '' : 's'})`
        : `training probe failed: ${probe.missingKernels.length > 0 ? `missing kernels ${probe.missingKernels.join(', ')}` : probe.error}`,
    });
    return probe.ok;
  } catch (e) {
    attempts.push({ name: 'wasm', ok: false, reason: message(e) });
    return false;
  }
}

/**
 * Trains two Adam steps of a tiny two-layer LSTM (the layers `lstm/lstmNet.ts` builds) on the current
 * backend and checks the loss is finite and the weights moved. Cached per backend.
 */
export async function probeTraining(): Promise<TrainingProbe> {
  const backend = tf.getBackend();
  const cached = probes.get(backend);
  if (cached !== undefined) return cached;
  const model = tf.sequential({
    layers: [
      tf.layers.lstm({ units: 3, inputShape: [4, 2], returnSequences: true, recurrentActivation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.lstm({ units: 3, recurrentActivation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });
  const x = tf.tensor3d(Float32Array.from({ length: 5 * 4 * 2 }, (_, i) => Math.sin(i)), [5, 4, 2]);
  const y = tf.tensor2d([0, 1, 0, 1, 1], [5, 1]);
  const optimizer = tf.train.adam(0.05);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const before = model.getWeights()[0]!.dataSync().slice();
  let result: TrainingProbe;
  try {
    const info = await tf.profile(() => {
      for (let step = 0; step < 2; step++) {
        const cost = optimizer.minimize(() => tf.losses.sigmoidCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, true, vars);
        if (cost === null || !Number.isFinite(cost.dataSync()[0]!)) throw new Error('the loss is not finite');
        cost.dispose();
      }
    });
    const after = model.getWeights()[0]!.dataSync();
    const moved = after.some((v, i) => v !== before[i]);
    // The profile also names composite ops ('fusedMatMul__op'); kernels are the rest.
    const kernels = [...new Set(info.kernelNames)].filter((k) => !k.endsWith('__op')).sort();
    const missingKernels = kernels.filter((k) => tf.getKernel(k, backend) === undefined);
    result = moved ? { ok: true, kernels, missingKernels } : { ok: false, kernels, missingKernels, error: 'the weights did not change' };
  } catch (e) {
    const missing = /Kernel '([^']+)' not registered/.exec(message(e));
    result = { ok: false, kernels: [], missingKernels: missing === null ? [] : [missing[1]!], error: message(e) };
  } finally {
    optimizer.dispose();
    model.dispose();
    tf.dispose([x, y]);
  }
  probes.set(backend, result);
  return result;
}

/** Kernels registered on 'cpu' that `backend` lacks: what could fail there for other models. */
export function kernelsMissingOn(backend: string): string[] {
  const have = new Set(tf.getKernelsForBackend(backend).map((k) => k.kernelName));
  return tf
    .getKernelsForBackend('cpu')
    .map((k) => k.kernelName)
    .filter((k) => !have.has(k))
    .sort();
}

function summary(attempts: BackendAttempt[]): string {
  return attempts.map((a) => `${a.name}: ${a.reason}`).join('; ');
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
