/**
 * An LSTM classifier (p_up) on window-view batches `(n, seqLen, features)`, trained with
 * TensorFlow.js (docs/models-lstm.md).
 *
 * Determinism: every initializer has its own seed; the batch order and the dropout masks come from
 * our own seeded PRNG (mulberry32), never from tf's random ops or Math.random; batches are fed in a
 * fixed order by a hand-written loop (no `model.fit`, whose shuffling and dropout draw from tf's
 * global random state). Dropout is applied between layers and before the head with those masks
 * (PyTorch's `nn.LSTM(dropout=…)` semantics), not inside the cell, where tfjs would draw unseeded.
 *
 * Checkpoints (lstmCheckpoint.ts): after every epoch the weights, Adam's state, the epoch, the PRNG
 * state and the loss history go to `<dir>/lstm.ckpt` atomically; a later call with the same dir,
 * config, data and backend resumes after the last completed epoch and ends with the same bytes as an
 * uninterrupted run.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { type Fingerprint, checkpointFile, dataSha256, readCheckpoint, restore, snapshot, writeCheckpoint } from './lstmCheckpoint.js';
import { type BackendPreference, backendSelected, selectBackend } from './tfBackend.js';

export const LstmParamsSchema = z.strictObject({
  units: z.number().int().positive(),
  layers: z.number().int().positive().default(1),
  /** Rate of the dropout after each LSTM layer, in [0, 1). */
  dropout: z.number().min(0).lt(1).default(0),
  epochs: z.number().int().positive(),
  batchSize: z.number().int().positive(),
  learningRate: z.number().positive(),
});
export type LstmParams = z.input<typeof LstmParamsSchema>;
type Params = z.output<typeof LstmParamsSchema>;

export interface LstmTrainOptions {
  /** Windows, row-major n × seqLen × f, scaled, no NaN (impute before). */
  x: Float32Array;
  n: number;
  seqLen: number;
  f: number;
  /** Labels 0/1, one per window. */
  y: Float32Array;
  validation?: { x: Float32Array; n: number; y: Float32Array };
  params: LstmParams;
  /** Integer in [0, 2³²). */
  seed: number;
  checkpoint?: { dir: string };
  /** Backend to select first; default: keep the one `selectBackend` chose, else 'auto'. */
  backend?: BackendPreference;
  /** Stop (checkpointed) after this epoch, as an interruption would: for tests and time budgets. */
  stopAfterEpoch?: number;
  /** After each epoch, once it is checkpointed; secondsPerEpoch averages the epochs of this call. */
  onEpoch?: (epoch: number, epochs: number, trainLoss: number, validLoss: number | undefined, secondsPerEpoch: number, etaSeconds: number) => void;
}

export interface LstmMetadata {
  kind: 'barflow-lstm';
  seqLen: number;
  features: number;
  params: Params;
  seed: number;
  /** Epochs completed. */
  epochs: number;
  /** The tf backend that trained it (results are reproducible on that backend only). */
  backend: string;
}

const MetadataSchema = z.object({
  kind: z.literal('barflow-lstm'),
  seqLen: z.number().int().positive(),
  features: z.number().int().positive(),
  params: LstmParamsSchema,
  seed: z.number().int(),
  epochs: z.number().int().nonnegative(),
  backend: z.string(),
});

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';
/** The only layers a saved model may hold: loading builds them from data, nothing else. */
const ALLOWED_LAYERS = new Set(['LSTM', 'Dropout', 'Dense', 'Activation']);
const PREDICT_CHUNK = 512;

export class LstmModel {
  constructor(
    private readonly model: tf.Sequential,
    readonly meta: LstmMetadata,
    /** Per completed epoch (empty for a loaded model). */
    readonly history: { trainLoss: number[]; validLoss: (number | null)[] } = { trainLoss: [], validLoss: [] },
    /** Epoch the run resumed after (0: started fresh). */
    readonly resumedFrom = 0,
  ) {}

  get epochs(): number {
    return this.meta.epochs;
  }

  /** p_up per window; x is n × seqLen × features. */
  predict(x: Float32Array, n: number): Float32Array {
    const { seqLen: L, features: f } = this.meta;
    checkLength('x', x, n * L * f);
    const out = new Float32Array(n);
    for (let s = 0; s < n; s += PREDICT_CHUNK) {
      const b = Math.min(PREDICT_CHUNK, n - s);
      tf.tidy(() => {
        const p = this.model.predict(tf.tensor3d(x.slice(s * L * f, (s + b) * L * f), [b, L, f])) as tf.Tensor;
        out.set(p.dataSync(), s);
      });
    }
    return out;
  }

  /** TensorFlow.js layers format: `model.json` + `weights.bin`, the same bytes for the same model. */
  async save(): Promise<Map<string, Uint8Array>> {
    this.model.setUserDefinedMetadata({ barflow: this.meta });
    let files: Map<string, Uint8Array> | undefined;
    await this.model.save(
      tf.io.withSaveHandler(async (a) => {
        const json = {
          modelTopology: a.modelTopology,
          format: a.format,
          generatedBy: a.generatedBy,
          convertedBy: a.convertedBy,
          weightsManifest: [{ paths: [WEIGHTS_FILE], weights: a.weightSpecs }],
          userDefinedMetadata: a.userDefinedMetadata,
        };
        const weights = a.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(a.weightData);
        files = new Map([
          [MODEL_FILE, new TextEncoder().encode(JSON.stringify(json))],
          [WEIGHTS_FILE, new Uint8Array(weights)],
        ]);
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
      }),
    );
    return files!;
  }

  dispose(): void {
    this.model.dispose();
  }
}

const ModelJsonSchema = z.looseObject({
  format: z.literal('layers-model'),
  modelTopology: z.looseObject({ class_name: z.literal('Sequential'), config: z.looseObject({ layers: z.array(z.looseObject({ class_name: z.string() })) }) }),
  weightsManifest: z.array(z.object({ paths: z.array(z.string()), weights: z.array(z.looseObject({ name: z.string(), shape: z.array(z.number().int().nonnegative()), dtype: z.literal('float32') })) })),
  userDefinedMetadata: z.object({ barflow: MetadataSchema }),
});

/** Reads what `save()` wrote; refuses anything but the layers an LSTM model is built from. */
export async function loadLstm(files: Map<string, Uint8Array>): Promise<LstmModel> {
  const text = files.get(MODEL_FILE);
  if (text === undefined) throw new Error(`LSTM model: no ${MODEL_FILE} among ${[...files.keys()].join(', ')}`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(text));
  } catch (e) {
    throw new Error(`LSTM model: ${MODEL_FILE} is not JSON: ${(e as Error).message}`);
  }
  const parsed = ModelJsonSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`LSTM model: ${MODEL_FILE} is not a barflow LSTM: ${z.prettifyError(parsed.error)}`);
  const json = parsed.data;
  const bad = json.modelTopology.config.layers.map((l) => l.class_name).filter((c) => !ALLOWED_LAYERS.has(c));
  if (bad.length > 0) throw new Error(`LSTM model: layer classes ${bad.join(', ')} are not allowed (only ${[...ALLOWED_LAYERS].join(', ')})`);
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const parts = json.weightsManifest.flatMap((g) =>
    g.paths.map((p) => {
      const bytes = files.get(p);
      if (bytes === undefined) throw new Error(`LSTM model: weights file ${p} is missing`);
      return bytes;
    }),
  );
  const total = parts.reduce((s, p) => s + p.byteLength, 0);
  const expected = specs.reduce((s, w) => s + 4 * w.shape.reduce((a, d) => a * d, 1), 0);
  if (total !== expected) throw new Error(`LSTM model: weights hold ${total} bytes, the manifest says ${expected}`);
  const data = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.byteLength;
  }
  const artifacts = { modelTopology: json.modelTopology, weightSpecs: specs as tf.io.WeightsManifestEntry[], weightData: data.buffer, format: json.format, generatedBy: json['generatedBy'] as string, convertedBy: null };
  const model = (await tf.loadLayersModel(tf.io.fromMemory(artifacts))) as tf.Sequential;
  const meta = json.userDefinedMetadata.barflow as LstmMetadata;
  const shape = model.inputs[0]!.shape;
  if (shape[1] !== meta.seqLen || shape[2] !== meta.features) {
    model.dispose();
    throw new Error(`LSTM model: input shape [${shape.join(', ')}] does not match its metadata (seqLen ${meta.seqLen}, features ${meta.features})`);
  }
  return new LstmModel(model, meta);
}

/** Trains (or resumes) the model; see the module comment. */
export async function trainLstm(opts: LstmTrainOptions): Promise<LstmModel> {
  const p = LstmParamsSchema.parse(opts.params);
  const { x, y, n, seqLen: L, f, seed } = opts;
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error(`seed must be an integer in [0, 2^32), got ${seed}`);
  for (const [k, v] of [['n', n], ['seqLen', L], ['f', f]] as const) if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a positive integer, got ${v}`);
  checkData('training', x, y, n, L * f);
  const valid = opts.validation;
  if (valid !== undefined) checkData('validation', valid.x, valid.y, valid.n, L * f);

  if (opts.backend !== undefined || !backendSelected()) await selectBackend(opts.backend ?? 'auto');
  const backend = tf.getBackend();
  const model = buildModel(p, L, f, seed);
  const optimizer = tf.train.adam(p.learningRate);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const rng = new Prng(seed);
  const history: { trainLoss: number[]; validLoss: (number | null)[] } = { trainLoss: [], validLoss: [] };
  let start = 0;
  let fingerprint: Fingerprint | undefined;
  const dir = opts.checkpoint?.dir;
  try {
    if (dir !== undefined) {
      fingerprint = {
        model: 'barflow-lstm',
        tfjs: tf.version_core,
        backend,
        seed,
        // epochs is left out: a run may be resumed with more epochs, continuing the same sequence.
        params: { units: p.units, layers: p.layers, dropout: p.dropout, batchSize: p.batchSize, learningRate: p.learningRate },
        shape: { n, seqLen: L, f, validationN: valid?.n ?? 0 },
        dataSha256: dataSha256([x, y, ...(valid === undefined ? [] : [valid.x, valid.y])]),
      };
      const ckpt = readCheckpoint(dir, fingerprint);
      if (ckpt !== undefined) {
        if (ckpt.epoch > p.epochs) throw new Error(`${checkpointFile(dir)} holds ${ckpt.epoch} epochs, more than the ${p.epochs} asked for`);
        await restore(ckpt, model, optimizer);
        rng.state = ckpt.rngState;
        history.trainLoss.push(...ckpt.history.trainLoss);
        history.validLoss.push(...ckpt.history.validLoss);
        start = ckpt.epoch;
      }
    }
    const last = Math.min(p.epochs, opts.stopAfterEpoch ?? p.epochs);
    const began = performance.now();
    for (let epoch = start + 1; epoch <= last; epoch++) {
      const trainLoss = trainEpoch(model, optimizer, vars, rng, x, y, n, L, f, p);
      const validLoss = valid === undefined ? undefined : evaluate(model, valid.x, valid.y, valid.n, L, f);
      history.trainLoss.push(trainLoss);
      history.validLoss.push(validLoss ?? null);
      if (dir !== undefined) writeCheckpoint(dir, await snapshot(fingerprint!, epoch, rng, history, model, optimizer));
      const perEpoch = (performance.now() - began) / 1000 / (epoch - start);
      opts.onEpoch?.(epoch, p.epochs, trainLoss, validLoss, perEpoch, perEpoch * (p.epochs - epoch));
    }
    const done = Math.max(start, last);
    return new LstmModel(model, { kind: 'barflow-lstm', seqLen: L, features: f, params: p, seed, epochs: done, backend }, history, start);
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    optimizer.dispose();
  }
}

/** Seeds: initializer k of the model gets seed + k, so no two weights share a random stream. */
function buildModel(p: Params, L: number, f: number, seed: number): tf.Sequential {
  const model = tf.sequential({ name: 'barflow_lstm' });
  for (let i = 0; i < p.layers; i++) {
    model.add(
      tf.layers.lstm({
        name: `lstm_${i}`,
        units: p.units,
        returnSequences: i < p.layers - 1,
        // tfjs defaults to hardSigmoid (Keras 1); the standard cell, and ONNX's LSTM, use sigmoid.
        recurrentActivation: 'sigmoid',
        // The forget-gate bias starts at 1 (Jozefowicz et al. 2015), set below: tfjs's own
        // unitForgetBias initializer leaks four tensors per layer, at every build and every load.
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 * i + 1 }),
        recurrentInitializer: tf.initializers.orthogonal({ seed: seed + 2 * i + 2, gain: 1 }),
        ...(i === 0 ? { inputShape: [L, f] } : {}),
      }),
    );
    const bias = model.layers.at(-1)!.weights.find((w) => w.originalName === `lstm_${i}/bias`)!;
    tf.tidy(() => void bias.write(tf.tensor1d(Float32Array.from({ length: 4 * p.units }, (_, k) => (k >= p.units && k < 2 * p.units ? 1 : 0)))));
    if (p.dropout > 0) model.add(tf.layers.dropout({ name: `dropout_${i}`, rate: p.dropout }));
  }
  // Logits, then a separate sigmoid: training uses the stable sigmoid cross-entropy on the logits,
  // while the saved model outputs p_up directly.
  model.add(tf.layers.dense({ name: 'logit', units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 * p.layers + 1 }) }));
  model.add(tf.layers.activation({ name: 'p_up', activation: 'sigmoid' }));
  return model;
}

/** Forward pass to the logits; `masks` (one per Dropout layer) replace tf's dropout when training. */
function logits(model: tf.Sequential, x: tf.Tensor, masks: Float32Array[] | null): tf.Tensor {
  let h = x;
  let d = 0;
  for (const layer of model.layers) {
    if (layer.name === 'p_up') break;
    if (layer.getClassName() === 'Dropout') {
      if (masks !== null) h = tf.mul(h, tf.tensor(masks[d]!, h.shape));
      d++;
      continue;
    }
    h = layer.apply(h) as tf.Tensor;
  }
  return h;
}

function trainEpoch(model: tf.Sequential, optimizer: tf.AdamOptimizer, vars: tf.Variable[], rng: Prng, x: Float32Array, y: Float32Array, n: number, L: number, f: number, p: Params): number {
  // Fisher–Yates from the identity each epoch: the order depends on the PRNG state only.
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  let sum = 0;
  for (let s = 0; s < n; s += p.batchSize) {
    const rows = order.subarray(s, Math.min(n, s + p.batchSize));
    const b = rows.length;
    // A fresh buffer per batch: the CPU backend keeps the array it is given, not a copy.
    const bx = new Float32Array(b * L * f);
    const by = new Float32Array(b);
    for (let i = 0; i < b; i++) {
      const r = rows[i]!;
      bx.set(x.subarray(r * L * f, (r + 1) * L * f), i * L * f);
      by[i] = y[r]!;
    }
    const masks = p.dropout > 0 ? dropoutMasks(rng, p, b, L) : null;
    const xb = tf.tensor3d(bx, [b, L, f]);
    const yb = tf.tensor2d(by, [b, 1]);
    const cost = optimizer.minimize(() => tf.losses.sigmoidCrossEntropy(yb, logits(model, xb, masks)) as tf.Scalar, true, vars)!;
    sum += cost.dataSync()[0]! * b;
    tf.dispose([xb, yb, cost]);
  }
  return sum / n;
}

/** Inverted dropout: kept units are scaled by 1/(1 − rate) so inference needs no rescaling. */
function dropoutMasks(rng: Prng, p: Params, b: number, L: number): Float32Array[] {
  const keep = 1 - p.dropout;
  const masks: Float32Array[] = [];
  for (let i = 0; i < p.layers; i++) {
    const m = new Float32Array(i < p.layers - 1 ? b * L * p.units : b * p.units);
    for (let k = 0; k < m.length; k++) m[k] = rng.next() < keep ? 1 / keep : 0;
    masks.push(m);
  }
  return masks;
}

function evaluate(model: tf.Sequential, x: Float32Array, y: Float32Array, n: number, L: number, f: number): number {
  let sum = 0;
  for (let s = 0; s < n; s += PREDICT_CHUNK) {
    const b = Math.min(PREDICT_CHUNK, n - s);
    sum +=
      tf.tidy(() => {
        const xb = tf.tensor3d(x.slice(s * L * f, (s + b) * L * f), [b, L, f]);
        return tf.losses.sigmoidCrossEntropy(tf.tensor2d(y.slice(s, s + b), [b, 1]), logits(model, xb, null)).dataSync()[0]!;
      }) * b;
  }
  return sum / n;
}

/** mulberry32: one uint32 of state, so a checkpoint records the stream's exact position. */
class Prng {
  constructor(public state: number) {
    this.state = state >>> 0;
  }

  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

function checkLength(name: string, a: ArrayLike<number>, expected: number): void {
  if (a.length !== expected) throw new Error(`${name} has ${a.length} values, expected ${expected}`);
}

function checkData(what: string, x: Float32Array, y: Float32Array, n: number, rowSize: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what}: n must be a positive integer, got ${n}`);
  checkLength(`${what} x`, x, n * rowSize);
  checkLength(`${what} y`, y, n);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!)) throw new Error(`${what} x: window ${Math.floor(i / rowSize)} holds ${x[i]} (impute and scale before training)`);
  }
  for (let i = 0; i < n; i++) if (y[i] !== 0 && y[i] !== 1) throw new Error(`${what} y[${i}] is ${y[i]}, labels must be 0 or 1`);
}
