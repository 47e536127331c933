import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkpointFile } from '../../../src/training/models/lstm/lstmCheckpoint.js';
import { type LstmModel, type LstmParams, loadLstm, trainLstm } from '../../../src/training/models/lstm/lstmModel.js';
import { backendReport, kernelsMissingOn, probeTraining, selectBackend } from '../../../src/training/models/lstm/tfBackend.js';
import { mulberry32 } from '../../helpers/random.js';
import { testTempDir } from '../../helpers/tempDir.js';

const L = 6;
const F = 2;
// 128 rows in batches of 26: five steps per epoch, the last one short. After 5 Adam steps β₂⁶ as a
// running float32 product (what tf's Adam keeps) differs in the last bit from pow(β₂, 6) (what its
// setWeights recomputes), so the resume test fails if the checkpoint does not restore it.
const PARAMS: LstmParams = { units: 6, layers: 2, dropout: 0.2, epochs: 3, batchSize: 26, learningRate: 0.02 };

/**
 * Windows of uniform noise; the label is whether feature 0 summed over steps L−3 and L−2 is
 * positive: the rule needs memory (the last step is pure noise). Seeded, so data never depends on
 * Math.random.
 */
function synthetic(n: number, seed: number): { x: Float32Array; y: Float32Array; n: number } {
  const uniform = mulberry32(seed);
  const next = (): number => uniform() - 0.5;
  const x = new Float32Array(n * L * F);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < L * F; k++) x[i * L * F + k] = 2 * next();
    y[i] = x[i * L * F + (L - 3) * F]! + x[i * L * F + (L - 2) * F]! > 0 ? 1 : 0;
  }
  return { x, y, n };
}

const train = synthetic(128, 1);
const valid = synthetic(64, 2);

function run(extra: Partial<Parameters<typeof trainLstm>[0]> = {}): Promise<LstmModel> {
  return trainLstm({ ...train, seqLen: L, f: F, validation: valid, params: PARAMS, seed: 42, ...extra });
}

async function savedBytes(m: LstmModel): Promise<Buffer> {
  const files = await m.save();
  return Buffer.concat([Buffer.from(files.get('model.json')!), Buffer.from(files.get('weights.bin')!)]);
}

const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('backend selection', () => {
  it('auto tries native TensorFlow, then WASM, whose kernels train the LSTM; explicit choices are honoured', async () => {
    const chosen = await selectBackend('auto');
    const report = backendReport()!;
    expect(report.attempts.slice(0, 2).map((a) => a.name)).toEqual(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
    if (report.attempts.slice(0, 2).every((a) => a.reason === 'not installed')) {
      // Our machines: native TensorFlow cannot be installed, so auto moves on to WASM.
      expect(chosen).toBe('wasm');
      expect(report.deterministic).toBe(true);
      await expect(selectBackend('node')).rejects.toThrow(/no native TensorFlow backend.*not installed/);
    } else {
      expect(chosen).toBe('tensorflow');
    }
    expect(await selectBackend('wasm')).toBe('wasm');
    const probe = await probeTraining();
    expect(probe.ok).toBe(true);
    expect(probe.missingKernels).toEqual([]);
    expect(probe.kernels).toEqual(expect.arrayContaining(['BatchMatMul', 'Sigmoid', 'Tanh', 'SplitV', 'Sqrt']));
    // What WASM lacks concerns other models (docs/models-lstm.md): conv backprop, gather gradient.
    expect(kernelsMissingOn('wasm')).toEqual(expect.arrayContaining(['Conv2DBackpropFilter', 'UnsortedSegmentSum']));
    expect(await selectBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(backendReport()).toMatchObject({ preference: 'cpu', backend: 'cpu', deterministic: true });
  });
});

describe('LSTM on the CPU backend', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('is deterministic: same seed, same saved bytes and predictions; another seed differs', async () => {
    const a = await run({ params: { ...PARAMS, epochs: 2 } });
    const b = await run({ params: { ...PARAMS, epochs: 2 } });
    const c = await run({ params: { ...PARAMS, epochs: 2 }, seed: 43 });
    expect((await savedBytes(a)).equals(await savedBytes(b))).toBe(true);
    expect(bits(a.predict(valid.x, valid.n)).equals(bits(b.predict(valid.x, valid.n)))).toBe(true);
    expect(a.history).toEqual(b.history);
    expect((await savedBytes(a)).equals(await savedBytes(c))).toBe(false);
    for (const m of [a, b, c]) m.dispose();
  });

  it('resumed after an interruption, ends with the bytes of an uninterrupted run', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const straight = await run();
    const dir = testTempDir('lstm');
    const progress: number[][] = [];
    const first = await run({ checkpoint: { dir }, stopAfterEpoch: 1, onEpoch: (e, n, _t, _v, _s, eta) => progress.push([e, n, eta]) });
    expect(first.epochs).toBe(1);
    first.dispose();
    const resumed = await run({ checkpoint: { dir }, onEpoch: (e, n, _t, _v, _s, eta) => progress.push([e, n, eta]) });
    expect(resumed.resumedFrom).toBe(1);
    expect(resumed.epochs).toBe(3);
    expect(progress.map(([e, n]) => [e, n])).toEqual([[1, 3], [2, 3], [3, 3]]);
    expect(progress.at(-1)![2]).toBe(0);
    expect((await savedBytes(resumed)).equals(await savedBytes(straight))).toBe(true);
    expect(resumed.history).toEqual(straight.history);
    // A finished checkpoint: nothing left to train, the same model again.
    const again = await run({ checkpoint: { dir } });
    expect(again.resumedFrom).toBe(3);
    expect((await savedBytes(again)).equals(await savedBytes(straight))).toBe(true);
    for (const m of [straight, resumed, again]) m.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore); // restoring leaks nothing either
  });

  it('refuses a checkpoint of another config, other data, or more epochs; and a corrupt one', async () => {
    const dir = testTempDir('lstm');
    (await run({ checkpoint: { dir }, params: { ...PARAMS, epochs: 1 } })).dispose();
    await expect(run({ checkpoint: { dir }, params: { ...PARAMS, learningRate: 0.01 } })).rejects.toThrow(/made for a different run \(params: .*"learningRate":0.02/);
    const other = synthetic(128, 9);
    await expect(run({ checkpoint: { dir }, x: other.x, y: other.y })).rejects.toThrow(/dataSha256/);
    await expect(run({ checkpoint: { dir }, seed: 1 })).rejects.toThrow(/seed: checkpoint 42, now 1/);
    // More epochs than the checkpoint is fine (the same sequence continues); fewer is refused.
    const longer = await run({ checkpoint: { dir }, params: { ...PARAMS, epochs: 2 } });
    expect(longer.resumedFrom).toBe(1);
    longer.dispose();
    await expect(run({ checkpoint: { dir }, params: { ...PARAMS, epochs: 1 } })).rejects.toThrow(/holds 2 epochs, more than the 1/);
    writeFileSync(checkpointFile(dir), 'garbage!garbage!');
    await expect(run({ checkpoint: { dir } })).rejects.toThrow(/not a barflow LSTM checkpoint/);
  });

  it('trains the very numbers the LSTM trained before the shared neural base (binary)', async () => {
    // Pinned from the pre-refactor trainer (commit ddd60e1, lstmModel.ts's own loop) on 'cpu',
    // which is bit-for-bit deterministic: the move onto neural/ must not change a single bit.
    const m = await run();
    const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
    expect(sha((await m.save()).get('weights.bin')!)).toBe('2f99d08fe0ac5e6637a9c769bf508de8944fed3c6fce4d8a2a3dfd40b6d586dd');
    expect(sha(bits(m.predict(valid.x, valid.n)))).toBe('8dba85e9831a65bd0e7f10238e548cb0591b3898a83ac14bbe8003e7b309a1ec');
    expect(m.history.trainLoss).toEqual([0.6864694533869624, 0.6430785339325666, 0.6023704912513494]);
    m.dispose();
  });

  it('loads a model saved before the neural base (its metadata had seqLen/features, no objective)', async () => {
    const m = await run({ params: { ...PARAMS, epochs: 1 } });
    const files = await m.save();
    const json = JSON.parse(new TextDecoder().decode(files.get('model.json')!));
    const { params } = json.userDefinedMetadata.barflow;
    json.userDefinedMetadata.barflow = { kind: 'barflow-lstm', seqLen: L, features: F, params, seed: 42, epochs: 1, backend: 'cpu' };
    const old = await loadLstm(new Map([...files, ['model.json', new TextEncoder().encode(JSON.stringify(json))]]));
    expect(old.meta).toMatchObject({ inputShape: [L, F], objective: { objective: 'binary' }, bestEpoch: null });
    expect(bits(old.predict(valid.x, valid.n)).equals(bits(m.predict(valid.x, valid.n)))).toBe(true);
    for (const x of [m, old]) x.dispose();
  });

  it('load(save()) predicts the same bits and saves the same bytes', async () => {
    const m = await run({ params: { ...PARAMS, epochs: 1 } });
    const files = await m.save();
    expect([...files.keys()]).toEqual(['model.json', 'weights.bin']);
    const json = JSON.parse(new TextDecoder().decode(files.get('model.json')!));
    expect(json.format).toBe('layers-model');
    expect(json.userDefinedMetadata.barflow).toMatchObject({ kind: 'barflow-lstm', inputShape: [L, F], objective: { objective: 'binary' }, epochs: 1, bestEpoch: null, backend: 'cpu' });
    const loaded = await loadLstm(files);
    expect(bits(loaded.predict(valid.x, valid.n)).equals(bits(m.predict(valid.x, valid.n)))).toBe(true);
    expect((await savedBytes(loaded)).equals(await savedBytes(m))).toBe(true);
    // Data only: a layer class outside the LSTM's few is refused before tf builds anything.
    json.modelTopology.config.layers[0].class_name = 'Lambda';
    await expect(loadLstm(new Map([...files, ['model.json', new TextEncoder().encode(JSON.stringify(json))]]))).rejects.toThrow(/Lambda are not allowed/);
    for (const x of [m, loaded]) x.dispose();
  });

  it('keeps the tensor count flat across epochs and frees everything on dispose', async () => {
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const m = await run({ onEpoch: () => counts.push(tf.memory().numTensors) });
    expect(counts).toHaveLength(3);
    expect(new Set(counts).size).toBe(1);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses NaN inputs and non-0/1 labels', async () => {
    const x = train.x.slice();
    x[5 * L * F + 3] = Number.NaN;
    await expect(run({ x })).rejects.toThrow(/window 5 holds NaN/);
    const y = train.y.slice();
    y[7] = 0.5;
    await expect(run({ y })).rejects.toThrow(/y\[7\] is 0.5/);
  });
});

describe('LSTM on the WASM backend', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('learns a sequence rule, deterministically', async () => {
    const big = synthetic(512, 3);
    const test = synthetic(256, 4);
    const params: LstmParams = { units: 8, layers: 1, epochs: 8, batchSize: 32, learningRate: 0.03 };
    const a = await trainLstm({ ...big, seqLen: L, f: F, params, seed: 5 });
    const p = a.predict(test.x, test.n);
    let hits = 0;
    for (let i = 0; i < test.n; i++) hits += Number(p[i]! > 0.5) === test.y[i] ? 1 : 0;
    expect(hits / test.n).toBeGreaterThan(0.85);
    expect(a.meta.backend).toBe('wasm');
    const b = await trainLstm({ ...big, seqLen: L, f: F, params, seed: 5 });
    expect(bits(b.predict(test.x, test.n)).equals(bits(p))).toBe(true);
    a.dispose();
    b.dispose();
  });
});
