/**
 * A neural net's per-epoch checkpoint: one file, `<dir>/<net>.ckpt` (lstm.ckpt for the LSTM),
 * replaced atomically (written to a temporary file, fsynced, renamed), so a crash leaves either the
 * previous epoch's checkpoint or the new one, never half of one.
 *
 * Layout: `BFNNCKPT`, a uint32 LE header length, the header (JSON), then the float32 LE payload:
 * the model weights in `model.getWeights()` order, Adam's first and second moments in
 * `optimizer.getWeights()` order, then the best epoch's weights when early stopping kept some. The
 * header records the fingerprint of what was trained (net, config, data hash, backend, tfjs
 * version), the completed epoch, the PRNG state, the loss history, Adam's step count and its
 * bias-correction powers, the early-stopping state and the payload's sha256.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';

const MAGIC = Buffer.from('BFNNCKPT', 'latin1');
const FORMAT = 2;

/** What a checkpoint may be resumed by: everything that shapes the sequence of weights. */
export type Fingerprint = Record<string, unknown> & { net: string };

export interface TensorData {
  shape: number[];
  data: Float32Array;
}

export interface History {
  trainLoss: number[];
  /** The watch rows' loss per epoch; null without watch rows. */
  watchLoss: (number | null)[];
}

/** Early stopping's state: enough to resume it exactly. */
export interface EarlyStopState {
  /** Epoch of the lowest watch loss so far (0: none yet). */
  bestEpoch: number;
  bestLoss: number | null;
  /** The weights after bestEpoch; empty until there is one. */
  bestWeights: TensorData[];
  /** Patience ran out: training is over, the best weights are the model. */
  stopped: boolean;
}

export interface Checkpoint {
  fingerprint: Fingerprint;
  /** Epochs completed. */
  epoch: number;
  rngState: number;
  history: History;
  iterations: number;
  /** float32 values, exact in JSON (a float32 is a double, and JSON round-trips doubles). */
  accBeta1: number;
  accBeta2: number;
  weights: TensorData[];
  moments: TensorData[];
  early: EarlyStopState;
}

const Shape = z.array(z.number().int().nonnegative());
const HeaderSchema = z.object({
  format: z.literal(FORMAT),
  fingerprint: z.record(z.string(), z.unknown()),
  epoch: z.number().int().positive(),
  rngState: z.number().int().nonnegative(),
  history: z.object({ trainLoss: z.array(z.number()), watchLoss: z.array(z.number().nullable()) }),
  iterations: z.number().int().nonnegative(),
  accBeta1: z.number(),
  accBeta2: z.number(),
  weights: z.array(Shape),
  moments: z.array(Shape),
  early: z.object({ bestEpoch: z.number().int().nonnegative(), bestLoss: z.number().nullable(), bestWeights: z.array(Shape), stopped: z.boolean() }),
  payloadSha256: z.string(),
});

/** `<dir>/<name>.ckpt`; name is the net's short name (lstm). */
export function checkpointFile(dir: string, name: string): string {
  return join(dir, `${name}.ckpt`);
}

/** sha256 over the bytes of the arrays, in order (the data part of the fingerprint). */
export function dataSha256(arrays: Float32Array[]): string {
  const h = createHash('sha256');
  for (const a of arrays) {
    h.update(Buffer.from(String(a.length)));
    h.update(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  }
  return h.digest('hex');
}

export function writeCheckpoint(file: string, c: Checkpoint): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  const tensors = [...c.weights, ...c.moments, ...c.early.bestWeights];
  const payload = Buffer.concat(tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)));
  const header = Buffer.from(
    JSON.stringify({
      format: FORMAT,
      fingerprint: c.fingerprint,
      epoch: c.epoch,
      rngState: c.rngState,
      history: c.history,
      iterations: c.iterations,
      accBeta1: c.accBeta1,
      accBeta2: c.accBeta2,
      weights: c.weights.map((t) => t.shape),
      moments: c.moments.map((t) => t.shape),
      early: { bestEpoch: c.early.bestEpoch, bestLoss: c.early.bestLoss, bestWeights: c.early.bestWeights.map((t) => t.shape), stopped: c.early.stopped },
      payloadSha256: createHash('sha256').update(payload).digest('hex'),
    }),
  );
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.byteLength);
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    for (const part of [MAGIC, length, header, payload]) writeSync(fd, part);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  syncDir(dir);
}

/**
 * The checkpoint in `file`, or undefined when there is none. Throws when it is corrupt or was made
 * for a different fingerprint, naming the parts that differ: resuming it could not give the model
 * an uninterrupted run with this config would give. `label` names the net in messages (LSTM).
 */
export function readCheckpoint(file: string, expected: Fingerprint, label: string): Checkpoint | undefined {
  if (!existsSync(file)) return undefined;
  const bytes = readFileSync(file);
  const fail = (why: string): never => {
    throw new Error(`${label} checkpoint ${file}: ${why}; delete it to start over`);
  };
  if (bytes.byteLength < 12 || !bytes.subarray(0, 8).equals(MAGIC)) fail(`not a barflow ${label} checkpoint (or one from before format ${FORMAT})`);
  const headerLength = bytes.readUInt32LE(8);
  if (12 + headerLength > bytes.byteLength) fail('truncated header');
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.subarray(12, 12 + headerLength).toString('utf8'));
  } catch {
    return fail('unreadable header');
  }
  const parsed = HeaderSchema.safeParse(raw);
  if (!parsed.success) return fail(`bad header: ${z.prettifyError(parsed.error)}`);
  const h = parsed.data;
  const differ = Object.keys({ ...expected, ...h.fingerprint }).filter((k) => canonical(expected[k]) !== canonical(h.fingerprint[k]));
  if (differ.length > 0) {
    const show = (k: string): string => `${k}: checkpoint ${canonical(h.fingerprint[k])}, now ${canonical(expected[k])}`;
    fail(`made for a different run (${differ.map(show).join('; ')})`);
  }
  const payload = bytes.subarray(12 + headerLength);
  if (createHash('sha256').update(payload).digest('hex') !== h.payloadSha256) fail('payload checksum mismatch');
  let at = 0;
  const take = (shape: number[]): TensorData => {
    const size = shape.reduce((a, d) => a * d, 1);
    if (at + 4 * size > payload.byteLength) fail('payload shorter than its shapes');
    // Copied out: the file buffer's offset need not be 4-byte aligned.
    const data = new Float32Array(size);
    new Uint8Array(data.buffer).set(payload.subarray(at, at + 4 * size));
    at += 4 * size;
    return { shape, data };
  };
  const weights = h.weights.map(take);
  const moments = h.moments.map(take);
  const bestWeights = h.early.bestWeights.map(take);
  if (at !== payload.byteLength) fail('payload longer than its shapes');
  if (h.history.trainLoss.length !== h.epoch || h.history.watchLoss.length !== h.epoch) fail('history does not match the epoch');
  return {
    fingerprint: expected,
    epoch: h.epoch,
    rngState: h.rngState,
    history: h.history,
    iterations: h.iterations,
    accBeta1: h.accBeta1,
    accBeta2: h.accBeta2,
    weights,
    moments,
    early: { bestEpoch: h.early.bestEpoch, bestLoss: h.early.bestLoss, bestWeights, stopped: h.early.stopped },
  };
}

/** Adam's bias-correction powers β₁ᵗ, β₂ᵗ: tf keeps them as running float32 products. */
interface AdamInternals {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
}

function adamInternals(optimizer: tf.AdamOptimizer): AdamInternals {
  const a = optimizer as unknown as Partial<AdamInternals>;
  if (!(a.accBeta1 instanceof tf.Variable) || !(a.accBeta2 instanceof tf.Variable)) throw new Error('this tfjs AdamOptimizer has no accBeta1/accBeta2: checkpoints cannot restore it exactly');
  return a as AdamInternals;
}

/** The model's weights, copied out of tf (later training steps do not change the copy). */
export function copyWeights(model: tf.LayersModel): TensorData[] {
  return model.getWeights().map((t) => ({ shape: t.shape, data: (t.dataSync() as Float32Array).slice() }));
}

export function setWeights(model: tf.LayersModel, weights: TensorData[]): void {
  const tensors = weights.map((w) => tf.tensor(w.data, w.shape, 'float32'));
  model.setWeights(tensors);
  tf.dispose(tensors);
}

/** The state after `epoch`, copied out of tf. */
export async function snapshot(
  fingerprint: Fingerprint,
  epoch: number,
  rng: { state: number },
  history: History,
  early: EarlyStopState,
  model: tf.LayersModel,
  optimizer: tf.AdamOptimizer,
): Promise<Checkpoint> {
  const named = await optimizer.getWeights(); // [iter, …first moments, …second moments]
  const iter = named[0]!.tensor;
  const iterations = iter.dataSync()[0]!;
  iter.dispose(); // a fresh scalar; the moments are the optimizer's own variables, left alone
  const internals = adamInternals(optimizer);
  return {
    fingerprint,
    epoch,
    rngState: rng.state,
    history: { trainLoss: [...history.trainLoss], watchLoss: [...history.watchLoss] },
    iterations,
    accBeta1: internals.accBeta1.dataSync()[0]!,
    accBeta2: internals.accBeta2.dataSync()[0]!,
    weights: copyWeights(model),
    moments: named.slice(1).map((w) => ({ shape: w.tensor.shape, data: (w.tensor.dataSync() as Float32Array).slice() })),
    early: { ...early, bestWeights: [...early.bestWeights] },
  };
}

/**
 * Puts a checkpoint's state into a freshly built model and optimizer. Adam's β powers are assigned
 * from the checkpoint: its setWeights recomputes them as pow(β, t + 1), which differs from the
 * running product in the last bit after a few steps, and the resumed run would drift.
 */
export async function restore(ckpt: Checkpoint, model: tf.LayersModel, optimizer: tf.AdamOptimizer): Promise<void> {
  setWeights(model, ckpt.weights);
  const named = [{ name: 'iter', tensor: tf.scalar(ckpt.iterations, 'int32') }, ...ckpt.moments.map((m, i) => ({ name: `m${i}`, tensor: tf.tensor(m.data, m.shape, 'float32') }))];
  await optimizer.setWeights(named);
  tf.dispose(named.map((w) => w.tensor));
  const internals = adamInternals(optimizer);
  tf.tidy(() => {
    internals.accBeta1.assign(tf.scalar(ckpt.accBeta1));
    internals.accBeta2.assign(tf.scalar(ckpt.accBeta2));
  });
}

/** JSON with sorted keys, so equal values compare equal whatever order their keys were written in. */
function canonical(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

/** Makes the rename durable; some platforms cannot open a directory, which only weakens that. */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // best effort
  }
}
