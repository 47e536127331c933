/**
 * The six window forecasters of issue 16 (TCN, InceptionTime, ResNet1D, DLinear, N-BEATS both
 * variants, N-HiTS), each through the model contract: every objective trains and scores finite
 * columns, the same bytes twice, ONNX within 1e-5 of TensorFlow.js on the same weights, causality as
 * a property (later rows cannot change an earlier window's output), exact resume from an epoch
 * checkpoint, and the leak canary (shuffled labels show no held-out skill, the real ones do).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { modelKind } from '../../../src/training/models/index.js';
import type { ModelKind, TrainInput } from '../../../src/training/models/modelRegistry.js';
import { dlinearNet } from '../../../src/training/models/dlinear/dlinearKind.js';
import { inceptionTimeNet } from '../../../src/training/models/inceptiontime/inceptionTimeKind.js';
import { nbeatsNet } from '../../../src/training/models/nbeats/nbeatsKind.js';
import type { NeuralNet } from '../../../src/training/models/neural/net.js';
import { loadNeural } from '../../../src/training/models/neural/neuralModel.js';
import { selectBackend } from '../../../src/training/models/neural/tfBackend.js';
import { nhitsNet } from '../../../src/training/models/nhits/nhitsKind.js';
import { resnet1dNet } from '../../../src/training/models/resnet1d/resnet1dKind.js';
import { tcnNet, tcnReceptiveField } from '../../../src/training/models/tcn/tcnKind.js';
import { type Objective, rawOutputs } from '../../../src/training/objectives/objective.js';
import { shuffledLabels } from '../../helpers/random.js';
import { SPECS, artifactBytes, auc, signalInput } from '../../helpers/windowSamples.js';
import { expectCausal, expectExactResume } from '../../helpers/netChecks.js';

const L = 16;
const F = 3;
const TRAIN = { epochs: 2, batchSize: 64, learningRate: 0.01 };

interface Case {
  label: string;
  kind: string;
  net: NeuralNet<never>;
  /** Small sizes for the tests (the defaults are for real data). */
  tiny: Record<string, unknown>;
}

const CASES: Case[] = [
  { label: 'tcn', kind: 'tcn', net: tcnNet as NeuralNet<never>, tiny: { filters: 6, kernelSize: 3, levels: 3, dropout: 0.1 } },
  { label: 'inceptiontime', kind: 'inceptiontime', net: inceptionTimeNet as NeuralNet<never>, tiny: { filters: 3, bottleneck: 3, kernelSizes: [3, 5], depth: 3 } },
  { label: 'resnet1d', kind: 'resnet1d', net: resnet1dNet as NeuralNet<never>, tiny: { filters: 4 } },
  { label: 'dlinear', kind: 'dlinear', net: dlinearNet as NeuralNet<never>, tiny: { horizon: 4, movingAverage: 5, series: 2 } },
  { label: 'nbeats generic', kind: 'nbeats', net: nbeatsNet as NeuralNet<never>, tiny: { horizon: 4, units: 16, layers: 2, stacks: 2, thetaSize: 4, series: 2 } },
  { label: 'nbeats interpretable', kind: 'nbeats', net: nbeatsNet as NeuralNet<never>, tiny: { variant: 'interpretable', horizon: 4, units: 16, layers: 2, blocks: 1, degree: 2, series: 2 } },
  { label: 'nhits', kind: 'nhits', net: nhitsNet as NeuralNet<never>, tiny: { horizon: 4, units: 16, layers: 2, poolSizes: [4, 2, 1], downsample: [4, 2, 1], series: 2 } },
];

const input = (objective: Objective, n: number, seed: number): TrainInput => signalInput(objective, n, seed, L, F);

describe.each(CASES)('$label', ({ kind: name, net, tiny }) => {
  const kind = modelKind(name) as ModelKind<unknown>;
  const params = (extra: Record<string, unknown> = {}) => kind.params.parse({ ...TRAIN, ...tiny, ...extra });

  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('declares the window view and every objective; its defaults parse', () => {
    expect(kind).toMatchObject({ name, family: 'neural', view: 'window', causal: true, needsTraining: true });
    expect([...kind.objectives]).toEqual(['binary', 'multiclass', 'regression', 'quantile']);
    expect(() => kind.params.parse({})).not.toThrow();
    expect(() => kind.params.parse({ nonsense: 1 })).toThrow(/nonsense/);
  });

  it.each(['binary', 'multiclass', 'regression', 'quantile'] as Objective[])('%s: finite declared columns, the same bytes twice, ONNX = TensorFlow.js within 1e-5', async (objective) => {
    const spec = SPECS[objective];
    const train = input(objective, 200, 11);
    const a = await kind.train(train, params());
    expect(a.format).toBe('onnx');
    expect([...a.files.keys()]).toEqual(['model.onnx', 'model.json', 'weights.bin']);
    expect(artifactBytes(await kind.train(train, params())).equals(artifactBytes(a))).toBe(true);
    const scorer = await kind.load(a, spec);
    expect(scorer.outputs).toEqual(rawOutputs(spec));
    const test = input(objective, 30, 99);
    const out = await scorer.score(test.x, test.dims);
    expect(out.length).toBe(30 * scorer.outputs.length);
    expect(out.every(Number.isFinite)).toBe(true);
    const tfModel = await loadNeural(a.files, net);
    const ref = tfModel.predict(test.x, 30);
    tfModel.dispose();
    for (let i = 0; i < out.length; i++) expect(Math.abs(out[i]! - ref[i]!)).toBeLessThan(1e-5);
  });

  it('is causal: changing or appending rows after row t leaves every window ending at or before t alone', async () => {
    const scorer = await kind.load(await kind.train(input('regression', 120, 5), params({ epochs: 1 })), SPECS.regression);
    await expectCausal(scorer, L, F, 1, 16);
  });

  it('resumes exactly from an epoch checkpoint', async () => {
    await expectExactResume(net, input('binary', 160, 41), SPECS.binary, { ...TRAIN, ...tiny }, 'window-forecaster');
  });

  it('leak canary: shuffled labels give no skill on held-out rows; the real labels do', async () => {
    // 400 held-out rows: |AUC − 0.5| < 0.12 is a 4σ band under no skill (σ ≈ 0.029); the rule is
    // learnable, so the real labels must clear 0.75, outside it.
    const p = params({ epochs: 4, batchSize: 32 });
    const train = input('binary', 500, 31);
    const held = input('binary', 400, 77);
    const shuffled = shuffledLabels(train.y, 5);
    const canary = await kind.load(await kind.train({ ...train, y: shuffled }, p), SPECS.binary);
    expect(Math.abs(auc(await canary.score(held.x, held.dims), held.y) - 0.5)).toBeLessThan(0.12);
    const real = await kind.load(await kind.train(train, p), SPECS.binary);
    expect(auc(await real.score(held.x, held.dims), held.y)).toBeGreaterThan(0.75);
  });
});

describe('TCN receptive field', () => {
  it('is 1 + 2·(k − 1)·(2^levels − 1), and a window longer than it is refused before training', async () => {
    expect(tcnReceptiveField({ kernelSize: 3, levels: 4 })).toBe(61);
    expect(tcnReceptiveField({ kernelSize: 2, levels: 1 })).toBe(3);
    const kind = modelKind('tcn');
    const a = await kind.train(input('binary', 40, 1), kind.params.parse({ ...TRAIN, filters: 2, kernelSize: 3, levels: 3 }));
    expect(Buffer.from(a.files.get('model.onnx')!).includes('receptive_field')).toBe(true);
    await expect(kind.train(input('binary', 40, 1), kind.params.parse({ ...TRAIN, filters: 2, kernelSize: 2, levels: 2 }))).rejects.toThrow(
      /TCN: the receptive field is 7 steps \(kernelSize 2, levels 2\), shorter than the window's 16: raise levels or kernelSize/,
    );
  });
});
