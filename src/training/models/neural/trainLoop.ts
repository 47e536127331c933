/**
 * The neural nets' shared trainer: a net's body (net.ts) plus the objective's head (losses.ts),
 * trained with Adam by a hand-written batch loop.
 *
 * Determinism: every initializer has its own seed (NetContext.nextSeed); the batch order and the
 * dropout masks come from our own seeded PRNG (prng.ts), never from tf's random ops or Math.random;
 * batches are fed in a fixed order (no `model.fit`, whose shuffling and dropout draw from tf's
 * global random state). Dropout layers are driven by those masks when training (inverted dropout,
 * PyTorch's semantics), and are the identity otherwise.
 *
 * Early stopping (`patience`, with watch rows: rows after the training rows in time, never
 * fitted): after each epoch the watch loss is compared with the lowest so far; `patience` epochs in
 * a row without a strictly lower one stop the run, and the finished model holds the weights of the
 * best epoch (also when the epochs run out first).
 *
 * Checkpoints (checkpoint.ts): after every epoch the weights, Adam's state, the epoch, the PRNG
 * state, the loss history and the early-stopping state (best epoch, its loss and weights, whether
 * it stopped) go to `<dir>/<net>.ckpt` atomically; a later call with the same dir, config, data and
 * backend resumes after the last completed epoch and ends with the same bytes as an uninterrupted
 * run.
 */
import * as tf from '@tensorflow/tfjs';
import type { ObjectiveSpec } from '../../objectives/objective.js';
import {
  type EarlyStopState,
  type Fingerprint,
  type History,
  checkpointFile,
  copyWeights,
  dataSha256,
  readCheckpoint,
  restore,
  setWeights,
  snapshot,
  writeCheckpoint,
} from './checkpoint.js';
import { NetBuilder, setFixedKernels } from './layers/netBuilder.js';
import { type Head, objectiveHead } from './losses.js';
import type { NeuralNet, TrainingParams } from './net.js';
import { NeuralModel } from './neuralModel.js';
import { Prng } from './prng.js';
import { type BackendPreference, backendSelected, selectBackend } from './tfBackend.js';

export interface Rows {
  /** Row-major n × inputShape, scaled, no NaN (impute before). */
  x: Float32Array;
  /** [n, …inputShape]. */
  dims: number[];
  /** One target per row, as the objective expects (losses.ts). */
  y: Float32Array;
}

export interface EpochReport {
  epoch: number;
  epochs: number;
  trainLoss: number;
  watchLoss: number | undefined;
  /** Early stopping's best epoch so far (0 without early stopping). */
  bestEpoch: number;
  /** Early stopping ended the run at this epoch. */
  stopped: boolean;
  /** Averaged over the epochs of this call. */
  secondsPerEpoch: number;
  etaSeconds: number;
}

export interface NetTrainOptions<P extends TrainingParams> extends Rows {
  net: NeuralNet<P>;
  objective: ObjectiveSpec;
  /** Rows after the training rows in time: their loss is reported, and drives early stopping. */
  watch?: Rows;
  /** Unparsed: the net's schema parses them (defaults, bounds). */
  params: unknown;
  /** Integer in [0, 2³²). */
  seed: number;
  checkpoint?: { dir: string };
  /** Backend to select first; default: keep the one `selectBackend` chose, else 'auto'. */
  backend?: BackendPreference;
  /** Stop (checkpointed) after this epoch, as an interruption would: for tests and time budgets. */
  stopAfterEpoch?: number;
  /** Stored in the saved model (NeuralMetadata.metadata). */
  metadata?: Record<string, string>;
  /** After each epoch, once it is checkpointed. */
  onEpoch?: (r: EpochReport) => void;
}

/** Trains (or resumes) `net` on the rows; see the module comment. */
export async function trainNet<P extends TrainingParams>(opts: NetTrainOptions<P>): Promise<NeuralModel> {
  const { net, seed } = opts;
  const p = net.params.parse(opts.params);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error(`seed must be an integer in [0, 2^32), got ${seed}`);
  if (net.objectives !== undefined && !net.objectives.includes(opts.objective.objective)) {
    throw new Error(`${net.label} learns ${net.objectives.join(' or ')}, not ${opts.objective.objective}`);
  }
  const head = net.head?.(opts.objective, p) ?? objectiveHead(opts.objective);
  const inputShape = checkRows('training', opts, net, head);
  const watch = opts.watch;
  if (watch !== undefined) {
    const ws = checkRows('watch', watch, net, head);
    if (ws.some((d, i) => d !== inputShape[i])) throw new Error(`watch rows are [${ws.join(', ')}], the training rows [${inputShape.join(', ')}]`);
  }
  if (p.patience !== undefined && watch === undefined) throw new Error(`${net.label}: patience ${p.patience} needs watch rows (early stopping watches their loss)`);

  if (opts.backend !== undefined || !backendSelected()) await selectBackend(opts.backend ?? 'auto');
  const backend = tf.getBackend();
  const model = buildModel(net, p, inputShape, head, seed);
  if (head.initBias !== undefined) setLogitBias(model, head.initBias(opts.y));
  const forward = new TrainingForward(model, head);
  const optimizer = tf.train.adam(p.learningRate);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const rng = new Prng(seed);
  const history: History = { trainLoss: [], watchLoss: [] };
  let early: EarlyStopState = { bestEpoch: 0, bestLoss: null, bestWeights: [], stopped: false };
  let start = 0;
  const file = opts.checkpoint === undefined ? undefined : checkpointFile(opts.checkpoint.dir, net.name);
  const { epochs: _epochs, ...shaping } = p;
  const fingerprint: Fingerprint = {
    net: net.id,
    tfjs: tf.version_core,
    backend,
    seed,
    // epochs is left out: a run may be resumed with more epochs, continuing the same sequence.
    params: JSON.parse(JSON.stringify(shaping)) as unknown,
    objective: specOf(opts.objective),
    dims: { train: opts.dims, watch: watch?.dims ?? null },
    dataSha256: file === undefined ? '' : dataSha256([opts.x, opts.y, ...(watch === undefined ? [] : [watch.x, watch.y])]),
  };
  try {
    if (file !== undefined) {
      const ckpt = readCheckpoint(file, fingerprint, net.label);
      if (ckpt !== undefined) {
        if (ckpt.epoch > p.epochs) throw new Error(`${file} holds ${ckpt.epoch} epochs, more than the ${p.epochs} asked for`);
        await restore(ckpt, model, optimizer);
        rng.state = ckpt.rngState;
        history.trainLoss.push(...ckpt.history.trainLoss);
        history.watchLoss.push(...ckpt.history.watchLoss);
        early = ckpt.early;
        start = ckpt.epoch;
      }
    }
    const last = early.stopped ? start : Math.min(p.epochs, opts.stopAfterEpoch ?? p.epochs);
    const began = performance.now();
    for (let epoch = start + 1; epoch <= last; epoch++) {
      const trainLoss = trainEpoch(forward, head, optimizer, vars, rng, opts, p.batchSize);
      const watchLoss = watch === undefined ? undefined : evaluate(forward, head, watch);
      history.trainLoss.push(trainLoss);
      history.watchLoss.push(watchLoss ?? null);
      if (p.patience !== undefined) early = advanceEarlyStop(early, epoch, watchLoss!, p.patience, model);
      if (file !== undefined) writeCheckpoint(file, await snapshot(fingerprint, epoch, rng, history, early, model, optimizer));
      const perEpoch = (performance.now() - began) / 1000 / (epoch - start);
      const remaining = early.stopped ? 0 : p.epochs - epoch;
      opts.onEpoch?.({ epoch, epochs: p.epochs, trainLoss, watchLoss, bestEpoch: early.bestEpoch, stopped: early.stopped, secondsPerEpoch: perEpoch, etaSeconds: perEpoch * remaining });
      if (early.stopped) break;
    }
    const done = history.trainLoss.length;
    const finished = early.stopped || done >= p.epochs;
    // The best epoch's weights are the model once the run is over; an interrupted run keeps its
    // last weights (it resumes from them).
    const useBest = finished && p.patience !== undefined && early.bestEpoch > 0;
    if (useBest) setWeights(model, early.bestWeights);
    forward.detach();
    const meta = {
      kind: net.id,
      inputShape,
      // JSON-clean (an explicit `patience: undefined` is no key): tf's metadata must be plain JSON.
      params: JSON.parse(JSON.stringify(p)) as Record<string, unknown>,
      objective: specOf(opts.objective),
      seed,
      epochs: done,
      bestEpoch: useBest ? early.bestEpoch : null,
      backend,
      metadata: { ...(opts.metadata ?? {}) },
    };
    return new NeuralModel(model, meta, history, start);
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    optimizer.dispose();
  }
}

/** The objective as stored: quantile levels only where they matter. */
function specOf(o: ObjectiveSpec): ObjectiveSpec {
  return { objective: o.objective, quantiles: o.objective === 'quantile' ? [...o.quantiles] : [] };
}

/** One epoch's early-stopping step; NaN never counts as an improvement. */
function advanceEarlyStop(s: EarlyStopState, epoch: number, loss: number, patience: number, model: tf.LayersModel): EarlyStopState {
  if (!Number.isNaN(loss) && (s.bestLoss === null || loss < s.bestLoss)) return { bestEpoch: epoch, bestLoss: loss, bestWeights: copyWeights(model), stopped: false };
  return { ...s, stopped: epoch - s.bestEpoch >= patience };
}

function buildModel<P extends TrainingParams>(net: NeuralNet<P>, p: P, inputShape: number[], head: Head, seed: number): tf.LayersModel {
  let k = 0;
  const ctx = { inputShape, params: p, nextSeed: () => seed + ++k };
  if ((net.body === undefined) === (net.graph === undefined)) throw new Error(`${net.label}: a net gives body or graph, exactly one`);
  net.check?.(inputShape, p);
  // Logits, then a separate activation: training uses the stable losses on the logits, while the
  // saved model outputs probabilities (or the linear values) directly.
  const logit = () => tf.layers.dense({ name: 'logit', units: head.units, kernelInitializer: head.zeroLogits === true ? tf.initializers.zeros() : tf.initializers.glorotUniform({ seed: ctx.nextSeed() }) });
  const output = () => head.outputLayer?.() ?? tf.layers.activation({ name: head.outputName, activation: head.activation });
  let model: tf.LayersModel;
  if (net.body !== undefined) {
    const seq = tf.sequential({ name: `barflow_${net.name}` });
    for (const layer of net.body(ctx)) seq.add(layer);
    seq.add(logit());
    seq.add(output());
    model = seq;
  } else {
    const input = tf.input({ name: 'x', shape: inputShape });
    const build = new NetBuilder(ctx.nextSeed);
    const hidden = net.graph!(input, ctx, build);
    const y = output().apply(logit().apply(hidden)) as tf.SymbolicTensor;
    model = tf.model({ name: `barflow_${net.name}`, inputs: input, outputs: y });
    setFixedKernels(model, build.fixed);
  }
  net.initialize?.(model, p);
  return model;
}

function setLogitBias(model: tf.LayersModel, bias: Float32Array): void {
  const layer = model.getLayer('logit');
  const [kernel] = layer.getWeights();
  const b = tf.tensor1d(bias);
  layer.setWeights([kernel!, b]);
  b.dispose();
}

type CallFn = (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];
const one = (t: tf.Tensor | tf.Tensor[]): tf.Tensor => (Array.isArray(t) ? t[0]! : t);

/**
 * The training-time forward pass through any tf.LayersModel we built: each Dropout layer's `call`
 * multiplies by the mask drawn for it (tf's own would draw from its unseeded random state), and the
 * head's activation passes the logits through while the loss is computed. Patched on the instances
 * (tf's graph executor calls `layer.call`), and undone by `detach` before the model is returned.
 */
class TrainingForward {
  private masks: Map<tf.layers.Layer, Float32Array> | null = null;
  private logitsOnly = false;
  private readonly restores: (() => void)[] = [];
  readonly dropouts: tf.layers.Layer[];

  constructor(
    private readonly model: tf.LayersModel,
    head: Head,
  ) {
    this.dropouts = model.layers.filter((l) => l.getClassName() === 'Dropout');
    for (const layer of this.dropouts) {
      this.patch(layer, (orig) => (inputs, kwargs) => {
        const m = this.masks?.get(layer);
        if (m === undefined) return orig(inputs, { ...kwargs, training: false });
        const x = one(inputs);
        return tf.mul(x, tf.tensor(m, x.shape));
      });
    }
    const activation = model.getLayer(head.outputName);
    this.patch(activation, (orig) => (inputs, kwargs) => (this.logitsOnly ? one(inputs) : orig(inputs, kwargs)));
  }

  /**
   * The head's pre-activation outputs; masks (one per Dropout layer, in order) when training. In
   * training, batch normalization uses the batch's statistics and moves its averages; in
   * evaluation it uses the averages, as at inference.
   */
  logits(x: tf.Tensor, masks: Float32Array[] | null, training: boolean): tf.Tensor {
    this.masks = masks === null ? null : new Map(this.dropouts.map((l, i) => [l, masks[i]!]));
    this.logitsOnly = true;
    try {
      return this.model.apply(x, { training }) as tf.Tensor;
    } finally {
      this.masks = null;
      this.logitsOnly = false;
    }
  }

  detach(): void {
    for (const r of this.restores.splice(0)) r();
  }

  private patch(layer: tf.layers.Layer, make: (orig: CallFn) => CallFn): void {
    const target = layer as unknown as { call: CallFn };
    const orig = target.call.bind(layer) as CallFn;
    target.call = make(orig);
    this.restores.push(() => void delete (target as { call?: CallFn }).call);
  }
}

function trainEpoch(forward: TrainingForward, head: Head, optimizer: tf.AdamOptimizer, vars: tf.Variable[], rng: Prng, rows: Rows, batchSize: number): number {
  const n = rows.dims[0]!;
  const rowShape = rows.dims.slice(1);
  const size = rowShape.reduce((a, d) => a * d, 1);
  const order = rng.permutation(n);
  let sum = 0;
  for (let s = 0; s < n; s += batchSize) {
    const idx = order.subarray(s, Math.min(n, s + batchSize));
    const b = idx.length;
    // A fresh buffer per batch: the CPU backend keeps the array it is given, not a copy.
    const bx = new Float32Array(b * size);
    const by = new Float32Array(b);
    for (let i = 0; i < b; i++) {
      const r = idx[i]!;
      bx.set(rows.x.subarray(r * size, (r + 1) * size), i * size);
      by[i] = rows.y[r]!;
    }
    const masks = forward.dropouts.length > 0 ? dropoutMasks(rng, forward.dropouts, b) : null;
    const xb = tf.tensor(bx, [b, ...rowShape]);
    const yb = tf.tensor2d(by, [b, 1]);
    const cost = optimizer.minimize(() => head.loss(yb, forward.logits(xb, masks, true)), true, vars)!;
    sum += cost.dataSync()[0]! * b;
    tf.dispose([xb, yb, cost]);
  }
  return sum / n;
}

/** Inverted dropout: kept units are scaled by 1/(1 − rate) so inference needs no rescaling. */
function dropoutMasks(rng: Prng, layers: tf.layers.Layer[], b: number): Float32Array[] {
  return layers.map((layer) => {
    const rate = (layer.getConfig() as { rate: number }).rate;
    const keep = 1 - rate;
    const shape = layer.outputShape as (number | null)[];
    const m = new Float32Array(b * shape.slice(1).reduce<number>((a, d) => a * d!, 1));
    for (let k = 0; k < m.length; k++) m[k] = rng.next() < keep ? 1 / keep : 0;
    return m;
  });
}

const EVAL_CHUNK = 512;

function evaluate(forward: TrainingForward, head: Head, rows: Rows): number {
  const n = rows.dims[0]!;
  const rowShape = rows.dims.slice(1);
  const size = rowShape.reduce((a, d) => a * d, 1);
  let sum = 0;
  for (let s = 0; s < n; s += EVAL_CHUNK) {
    const b = Math.min(EVAL_CHUNK, n - s);
    sum +=
      tf.tidy(() => {
        const xb = tf.tensor(rows.x.slice(s * size, (s + b) * size), [b, ...rowShape]);
        return head.loss(tf.tensor2d(rows.y.slice(s, s + b), [b, 1]), forward.logits(xb, null, false)).dataSync()[0]!;
      }) * b;
  }
  return sum / n;
}

/** Checks dims, lengths, finiteness and targets; returns one row's shape. */
function checkRows(what: string, rows: Rows, net: { label: string; inputRank: 1 | 2 }, head: Head): number[] {
  const { x, y, dims } = rows;
  if (dims.length !== net.inputRank + 1) throw new Error(`${what}: ${net.label} rows must be ${net.inputRank === 2 ? '[n, seqLen, features]' : '[n, features]'}, got dims [${dims.join(', ')}]`);
  for (const d of dims) if (!Number.isInteger(d) || d < 1) throw new Error(`${what}: dims must be positive integers, got [${dims.join(', ')}]`);
  const n = dims[0]!;
  const size = dims.slice(1).reduce((a, d) => a * d, 1);
  if (x.length !== n * size) throw new Error(`${what} x has ${x.length} values, expected ${n * size}`);
  if (y.length !== n) throw new Error(`${what} y has ${y.length} values, expected ${n}`);
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) throw new Error(`${what} x: window ${Math.floor(i / size)} holds ${x[i]} (impute and scale before training)`);
  head.checkTarget(y, what);
  return dims.slice(1);
}

