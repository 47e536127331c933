import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { lstmKind } from '../../../src/training/models/lstm/lstmKind.js';
import { lstmNet } from '../../../src/training/models/lstm/lstmNet.js';
import type { TrainInput } from '../../../src/training/models/modelRegistry.js';
import { neuralArtifact } from '../../../src/training/models/neural/neuralArtifact.js';
import { loadNeural } from '../../../src/training/models/neural/neuralModel.js';
import { selectBackend } from '../../../src/training/models/neural/tfBackend.js';
import { trainNet } from '../../../src/training/models/neural/trainLoop.js';
import { type Objective, rawOutputs } from '../../../src/training/objectives/objective.js';
import { gaussian, mulberry32, shuffledLabels } from '../../helpers/random.js';
import { SPECS, artifactBytes, auc, series, windows } from '../../helpers/windowSamples.js';
import { testTempDir } from '../../helpers/tempDir.js';

const L = 8;
const F = 3;
const TINY = { units: 4, epochs: 2, batchSize: 64, learningRate: 0.02 };

/** The signal: feature 0 at the window's two steps before the last (the rule needs memory). */
function signal(x: Float32Array, i: number): number {
  return x[(i * L + L - 2) * F]! + x[(i * L + L - 3) * F]!;
}

function target(objective: Objective, x: Float32Array, n: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: n }, (_, i) => {
    const s = signal(x, i);
    switch (objective) {
      case 'binary':
        return s > 0 ? 1 : 0;
      case 'multiclass':
        return s < -0.6 ? 0 : s > 0.6 ? 2 : 1;
      default:
        return 0.01 * (s + 0.5 * gaussian(rand));
    }
  });
}

function input(objective: Objective, n: number, seed: number, extra: Partial<TrainInput> = {}): TrainInput {
  const w = windows(series(n + L - 1, F, seed), L, F);
  return { x: w.x, dims: [n, L, F], n, f: F, y: target(objective, w.x, n, seed + 1), objective: SPECS[objective], seed: 7, metadata: { model: 'test-lstm' }, ...extra };
}

describe('lstm kind v2', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('declares itself', () => {
    expect(lstmKind).toMatchObject({ name: 'lstm', family: 'neural', view: 'window', causal: true, needsTraining: true });
    expect([...lstmKind.objectives]).toEqual(['binary', 'multiclass', 'regression', 'quantile']);
    // Today's defaults; no early stopping unless asked.
    expect(lstmKind.params.parse({})).toEqual({ units: 16, layers: 1, dropout: 0, epochs: 5, batchSize: 256, learningRate: 0.003 });
  });

  it.each(Object.keys(SPECS) as Objective[])('%s: trains, scores rawOutputs(objective) finite columns, the same bytes twice', async (objective) => {
    const spec = SPECS[objective];
    const train = input(objective, 300, 11);
    const progress: number[] = [];
    const a = await lstmKind.train({ ...train, onProgress: (p) => progress.push(p.step) }, lstmKind.params.parse(TINY));
    expect(progress).toEqual([1, 2]);
    expect(a.format).toBe('onnx');
    expect([...a.files.keys()]).toEqual(['model.onnx', 'model.json', 'weights.bin']);
    const b = await lstmKind.train(train, lstmKind.params.parse(TINY));
    expect(artifactBytes(a).equals(artifactBytes(b))).toBe(true);

    const scorer = await lstmKind.load(a, spec);
    expect(scorer.outputs).toEqual(rawOutputs(spec));
    const k = scorer.outputs.length;
    const test = input(objective, 40, 99);
    const out = await scorer.score(test.x, test.dims);
    expect(out).toBeInstanceOf(Float64Array);
    expect(out.length).toBe(40 * k);
    expect(out.every(Number.isFinite)).toBe(true);
    if (objective === 'multiclass') for (let i = 0; i < 40; i++) expect(out[i * 3]! + out[i * 3 + 1]! + out[i * 3 + 2]!).toBeCloseTo(1, 5);
    if (objective === 'binary') expect(out.every((p) => p > 0 && p < 1)).toBe(true);

    // The ONNX graph computes what the TensorFlow.js model does (float32 kernels differ in the last bits).
    const tfModel = await loadNeural(a.files, lstmNet);
    const ref = tfModel.predict(test.x, 40);
    tfModel.dispose();
    for (let i = 0; i < out.length; i++) expect(Math.abs(out[i]! - ref[i]!)).toBeLessThan(1e-5);
    // The TrainInput metadata is in the ONNX file's metadata_props.
    expect(Buffer.from(a.files.get('model.onnx')!).includes('test-lstm')).toBe(true);
  });

  it('refuses to score another objective than it was trained for', async () => {
    const a = await lstmKind.train(input('binary', 64, 3), lstmKind.params.parse({ ...TINY, epochs: 1 }));
    await expect(lstmKind.load(a, SPECS.quantile)).rejects.toThrow(/trained for binary \(p_up\), asked to score quantile \(q10, q50, q90\)/);
  });

  it('is causal: a window’s prediction does not change when later rows are changed or appended', async () => {
    const a = await lstmKind.train(input('regression', 200, 5), lstmKind.params.parse(TINY));
    const scorer = await lstmKind.load(a, SPECS.regression);
    const s = series(60, F, 21);
    const before = windows(s, L, F);
    const p = await scorer.score(before.x, [before.n, L, F]);
    // Rows from 40 on are changed and 30 rows appended: windows ending before row 40 are 0…32.
    const later = Float32Array.from({ length: 90 * F }, (_, i) => (i < 40 * F ? s[i]! : s[i % s.length]! * -3 + 1));
    const after = windows(later, L, F);
    const q = await scorer.score(after.x, [after.n, L, F]);
    const kept = 40 - L + 1;
    expect(Array.from(q.subarray(0, kept))).toEqual(Array.from(p.subarray(0, kept)));
    expect(q[kept + 5]).not.toBe(p[kept + 5]); // the changed rows did reach the windows holding them
  });

  it('leak canary: shuffled labels give no skill on held-out rows; the real labels do', async () => {
    // 400 held-out rows, about half positive: under no skill the AUC's standard error is
    // sqrt((n₁ + n₀ + 1) / (12 n₁ n₀)) ≈ 0.029, so |AUC − 0.5| < 0.12 is a 4σ band, and the
    // real-label control (the rule is learnable) must clear 0.75, well outside it.
    const params = lstmKind.params.parse({ units: 8, epochs: 3, batchSize: 32, learningRate: 0.03 });
    const train = input('binary', 400, 31);
    const held = input('binary', 400, 77);
    const shuffled = shuffledLabels(train.y, 5);
    const canary = await lstmKind.load(await lstmKind.train({ ...train, y: shuffled }, params), SPECS.binary);
    const noSkill = auc(await canary.score(held.x, held.dims), held.y);
    expect(Math.abs(noSkill - 0.5)).toBeLessThan(0.12);
    const real = await lstmKind.load(await lstmKind.train(train, params), SPECS.binary);
    expect(auc(await real.score(held.x, held.dims), held.y)).toBeGreaterThan(0.75);
  });
});

describe('the neural training loop: early stopping and exact resume', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  // The watch rows' labels are the training rule inverted: every epoch that learns the rule makes
  // the watch loss worse, so epoch 1 is the best and patience 2 stops the run at epoch 3.
  const train = input('binary', 256, 41);
  const watchIn = input('binary', 128, 42);
  const watch = { x: watchIn.x, dims: watchIn.dims, y: watchIn.y.map((v) => 1 - v) };
  const params = { units: 4, layers: 2, dropout: 0.25, epochs: 8, batchSize: 50, learningRate: 0.05, patience: 2 };
  const run = (extra: Partial<Parameters<typeof trainNet>[0]> = {}) => trainNet({ net: lstmNet, x: train.x, dims: train.dims, y: train.y, objective: SPECS.binary, watch, params, seed: 3, ...extra });
  const weightsOf = async (m: Awaited<ReturnType<typeof run>>): Promise<Buffer> => Buffer.from((await m.save()).get('weights.bin')!);

  it('stops after `patience` epochs without a better watch loss and restores the best epoch', async () => {
    const m = await run();
    expect(m.history.watchLoss[1]!).toBeGreaterThan(m.history.watchLoss[0]!);
    expect(m.history.watchLoss[2]!).toBeGreaterThan(m.history.watchLoss[0]!);
    expect(m.epochs).toBe(3);
    expect(m.meta.bestEpoch).toBe(1);
    // The first epoch does not depend on patience or on later epochs: a 1-epoch run is epoch 1.
    const one = await run({ params: { ...params, epochs: 1, patience: undefined } });
    expect((await weightsOf(m)).equals(await weightsOf(one))).toBe(true);
    const three = await run({ params: { ...params, epochs: 3, patience: undefined } });
    expect((await weightsOf(m)).equals(await weightsOf(three))).toBe(false);
    // Without patience the watch rows change nothing: every epoch runs, the last weights stay.
    const all = await run({ params: { ...params, epochs: 4, patience: undefined } });
    const blind = await run({ params: { ...params, epochs: 4, patience: undefined }, watch: undefined });
    expect(all.epochs).toBe(4);
    expect((await weightsOf(all)).equals(await weightsOf(blind))).toBe(true);
    await expect(run({ watch: undefined })).rejects.toThrow(/patience 2 needs watch rows/);
    for (const x of [m, one, three, all, blind]) x.dispose();
  });

  it('resumes exactly mid-way through early stopping, and after it stopped', async () => {
    const before = tf.memory().numTensors;
    const straight = await run();
    const dir = testTempDir('neural');
    // Stopped after epoch 2: one epoch without improvement, not yet out of patience.
    const first = await run({ checkpoint: { dir }, stopAfterEpoch: 2 });
    expect(first.epochs).toBe(2);
    expect(first.meta.bestEpoch).toBeNull(); // an interrupted run keeps its last weights
    first.dispose();
    const stops: boolean[] = [];
    const resumed = await run({ checkpoint: { dir }, onEpoch: (r) => stops.push(r.stopped) });
    expect(resumed.resumedFrom).toBe(2);
    expect(stops).toEqual([true]);
    expect(resumed.meta).toEqual(straight.meta);
    expect(resumed.history).toEqual(straight.history);
    expect((await resumed.save()).get('model.json')).toEqual((await straight.save()).get('model.json'));
    expect((await weightsOf(resumed)).equals(await weightsOf(straight))).toBe(true);
    // The checkpoint says it stopped: nothing trains, the best weights again.
    const again = await run({ checkpoint: { dir } });
    expect(again.resumedFrom).toBe(3);
    expect((await weightsOf(again)).equals(await weightsOf(straight))).toBe(true);
    await expect(run({ checkpoint: { dir }, params: { ...params, patience: 3 } })).rejects.toThrow(/made for a different run \(params:/);
    for (const x of [straight, resumed, again]) x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the artifact of a trained model is the same bytes whichever way it was reached', async () => {
    const dir = testTempDir('neural');
    (await run({ checkpoint: { dir }, stopAfterEpoch: 1 })).dispose();
    const resumed = await run({ checkpoint: { dir } });
    const straight = await run();
    expect(artifactBytes(await neuralArtifact(resumed, { a: '1' })).equals(artifactBytes(await neuralArtifact(straight, { a: '1' })))).toBe(true);
    resumed.dispose();
    straight.dispose();
  });
});
