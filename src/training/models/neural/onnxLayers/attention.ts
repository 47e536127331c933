import type * as tf from '@tensorflow/tfjs';
import { causalMask } from '../layers/selfAttention.js';
import { cumulativeMatrix } from '../layers/outputHeads.js';
import { patchStarts } from '../layers/sequenceLayers.js';
import { GraphBuilder, attr } from './graphBuilder.js';
import { type Converted, layerConfig, layerWeights, where } from './layerInfo.js';

/**
 * The attention nets' layers (layers/selfAttention.ts, sequenceLayers.ts, outputHeads.ts) as opset
 * 13 nodes, each the same computation in the same order as the layer's `call`: MatMul, Softmax,
 * Reshape and Transpose for attention; layer and instance normalisation written out as
 * ReduceMean, Sub, Mul, Sqrt and Div (ONNX's LayerNormalization op is opset 17 and normalises over
 * the trailing axes only, not the time axis RevIN needs; one decomposition serves both).
 * Every op here gives a row the same bits in a batch of any size (prefix = whole, live = batch);
 * where onnxruntime's own kernel does not (Softplus, Log, Elu, ReduceMean over time), another
 * form is written, said where it is.
 */

function weight(layer: tf.layers.Layer, w: Map<string, Float32Array>, name: string, size: number): Float32Array {
  const v = w.get(name);
  if (v === undefined || v.length !== size) throw new Error(`${where(layer)}: expected a weight ${name} of ${size} values, found ${v?.length ?? 'none'}`);
  return v;
}

export function convertSelfAttention(g: GraphBuilder, layer: tf.layers.Layer, input: string, shape: number[]): Converted {
  const at = where(layer);
  if (shape.length < 2) throw new Error(`${at}: needs a [… T, D] input, got [${shape.join(', ')}]`);
  const c = layerConfig(layer);
  const heads = Number(c['heads']);
  const dk = Number(c['keyDim']);
  const shared = c['sharedValues'] === true;
  const [t, d] = shape.slice(-2) as [number, number];
  const hk = heads * dk;
  const vk = shared ? dk : hk;
  const w = layerWeights(layer);
  const x3 = g.op('Reshape', [input, g.int64s('shape', [-1, t, d])]);
  const project = (k: string, b: string, cols: number) => g.op('Add', [g.op('MatMul', [x3, g.floats(k, [d, cols], weight(layer, w, k, d * cols))]), g.floats(b, [cols], weight(layer, w, b, cols))]);
  const headsOf = (v: string, perm: number[]) => g.op('Transpose', [g.op('Reshape', [v, g.int64s('shape', [-1, t, heads, dk])])], [attr.ints('perm', perm)]);
  const q = headsOf(project('wq', 'bq', hk), [0, 2, 1, 3]);
  const kT = headsOf(project('wk', 'bk', hk), [0, 2, 3, 1]);
  let scores = g.op('Mul', [g.op('MatMul', [q, kT]), g.floats('scale', [], [1 / Math.sqrt(dk)])]);
  if (c['causal'] === true) scores = g.op('Add', [scores, g.floats('mask', [t, t], causalMask(t))]);
  const a = g.op('Softmax', [scores], [attr.int('axis', -1)]);
  const v = project('wv', 'bv', vk);
  let o: string;
  if (shared) {
    o = g.op('MatMul', [g.op('ReduceMean', [a], [attr.ints('axes', [1]), attr.int('keepdims', 0)]), v]);
  } else {
    const heads4 = g.op('MatMul', [a, headsOf(v, [0, 2, 1, 3])]);
    o = g.op('Reshape', [g.op('Transpose', [heads4], [attr.ints('perm', [0, 2, 1, 3])]), g.int64s('shape', [-1, t, hk])]);
  }
  const y = g.op('Add', [g.op('MatMul', [o, g.floats('wo', [vk, d], weight(layer, w, 'wo', vk * d))]), g.floats('bo', [d], weight(layer, w, 'bo', d))]);
  return { value: shape.length === 2 ? y : g.op('Reshape', [y, g.int64s('shape', [-1, ...shape])]), shape };
}

/**
 * The mean over the time axis (second to last) of a value of `rank` (batch included), kept as a
 * length-1 axis: a MatMul of the transposed value with a column of 1/T. onnxruntime's ReduceMean
 * over the time axis (also over the last axis of the transposed value) summed in an order that
 * depends on the batch size (2,050 of 15,360 values differed between batches of 1 and of 120); its
 * MatMul does not, nor its ReduceMean over the features of one step.
 */
function meanOverTime(g: GraphBuilder, v: string, rank: number, steps: number): string {
  const swap = Array.from({ length: rank }, (_, i) => (i === rank - 2 ? rank - 1 : i === rank - 1 ? rank - 2 : i));
  const column = g.floats('mean_w', [steps, 1], new Float32Array(steps).fill(1 / steps));
  return g.op('Transpose', [g.op('MatMul', [g.op('Transpose', [v], [attr.ints('perm', swap)]), column])], [attr.ints('perm', swap)]);
}

export function convertNormalization(g: GraphBuilder, layer: tf.layers.Layer, input: string, shape: number[]): Converted {
  const c = layerConfig(layer);
  const rank = shape.length + 1;
  const d = shape.at(-1)!;
  const w = layerWeights(layer);
  const meanOf = (v: string) => (c['over'] === 'time' ? meanOverTime(g, v, rank, shape.at(-2)!) : g.op('ReduceMean', [v], [attr.ints('axes', [rank - 1]), attr.int('keepdims', 1)]));
  const mean = meanOf(input);
  const centred = g.op('Sub', [input, mean]);
  const variance = meanOf(g.op('Mul', [centred, centred]));
  const y = g.op('Div', [centred, g.op('Sqrt', [g.op('Add', [variance, g.floats('eps', [], [Number(c['epsilon'])])])])]);
  const scaled = g.op('Mul', [y, g.floats('gamma', [d], weight(layer, w, 'gamma', d))]);
  return { value: g.op('Add', [scaled, g.floats('beta', [d], weight(layer, w, 'beta', d))]), shape };
}

/** WindowStats: [N, T, C] → [N, 2C], the means over time then √(var + ε). */
export function convertWindowStats(g: GraphBuilder, layer: tf.layers.Layer, input: string, shape: number[]): Converted {
  if (shape.length !== 2) throw new Error(`${where(layer)}: needs a [length, channels] input, got [${shape.join(', ')}]`);
  const [t, ch] = shape as [number, number];
  const meanOf = (v: string) => meanOverTime(g, v, 3, t);
  const mean = meanOf(input);
  const centred = g.op('Sub', [input, mean]);
  const deviation = g.op('Sqrt', [g.op('Add', [meanOf(g.op('Mul', [centred, centred])), g.floats('eps', [], [Number(layerConfig(layer)['epsilon'])])])]);
  const flat = (v: string) => g.op('Reshape', [v, g.int64s('shape', [-1, ch])]);
  return { value: g.op('Concat', [flat(mean), flat(deviation)], [attr.int('axis', 1)]), shape: [2 * ch] };
}

export function convertPositionalEmbedding(g: GraphBuilder, layer: tf.layers.Layer, input: string, shape: number[]): Converted {
  const [t, d] = shape.slice(-2) as [number, number];
  return { value: g.op('Add', [input, g.floats('pos', [t, d], weight(layer, layerWeights(layer), 'pos', t * d))]), shape };
}

export function convertPatches(g: GraphBuilder, layer: tf.layers.Layer, input: string, shape: number[]): Converted {
  if (shape.length !== 2) throw new Error(`${where(layer)}: needs a [length, channels] input, got [${shape.join(', ')}]`);
  const [len, ch] = shape as [number, number];
  const c = layerConfig(layer);
  const patchLen = Number(c['patchLen']);
  const stride = Number(c['stride']);
  const starts = patchStarts(len, patchLen, stride);
  const xt = g.op('Transpose', [input], [attr.ints('perm', [0, 2, 1])]);
  const last = g.op('Slice', [xt, g.int64s('starts', [len - 1]), g.int64s('ends', [len]), g.int64s('axes', [2])]);
  const padded = g.op('Concat', [xt, ...Array.from({ length: stride }, () => last)], [attr.int('axis', 2)]);
  const idx = starts.flatMap((s) => Array.from({ length: patchLen }, (_, j) => s + j));
  return { value: g.op('Gather', [padded, g.int64Tensor('patch_idx', [starts.length, patchLen], idx)], [attr.int('axis', 2)]), shape: [ch, starts.length, patchLen] };
}

export function convertVariableEmbedding(g: GraphBuilder, layer: tf.layers.Layer, input: string, shape: number[]): Converted {
  const units = Number(layerConfig(layer)['units']);
  const ch = shape.at(-1)!;
  const w = layerWeights(layer);
  const x = g.op('Unsqueeze', [input, g.int64s('axes', [shape.length + 1])]);
  const y = g.op('Mul', [x, g.floats('kernel', [ch, units], weight(layer, w, 'kernel', ch * units))]);
  return { value: g.op('Add', [y, g.floats('bias', [ch, units], weight(layer, w, 'bias', ch * units))]), shape: [...shape, units] };
}

export function convertWeightedSum(g: GraphBuilder, layer: tf.layers.Layer, inputs: Converted[]): Converted {
  if (inputs.length !== 2) throw new Error(`${where(layer)}: takes [weights, values], got ${inputs.length} inputs`);
  const [w, v] = inputs as [Converted, Converted];
  const weighted = g.op('Mul', [g.op('Unsqueeze', [w.value, g.int64s('axes', [w.shape.length + 1])]), v.value]);
  // Full rank of v is v.shape.length + 1; the variables' axis is the second to last.
  return { value: g.op('ReduceSum', [weighted, g.int64s('axes', [v.shape.length - 1])], [attr.int('keepdims', 0)]), shape: [...v.shape.slice(0, -2), v.shape.at(-1)!] };
}

export function convertMultiply(g: GraphBuilder, layer: tf.layers.Layer, inputs: Converted[]): Converted {
  const shape = inputs[0]!.shape;
  for (const i of inputs) if (i.shape.join() !== shape.join()) throw new Error(`${where(layer)}: inputs of different shapes (broadcasting is not supported)`);
  return { value: inputs.slice(1).reduce((acc, i) => g.op('Mul', [acc, i.value]), inputs[0]!.value), shape };
}

/** pos(l) = Where(l > 0, l + 1, exp(min(l, 0))), as layers/outputHeads.ts computes it. */
function positive(g: GraphBuilder, l: string): string {
  const zero = g.floats('zero', [], [0]);
  return g.op('Where', [g.op('Greater', [l, zero]), g.op('Add', [l, g.floats('one', [], [1])]), g.op('Exp', [g.op('Min', [l, zero])])]);
}

const sliceCols = (g: GraphBuilder, x: string, from: number, to: number): string => g.op('Slice', [x, g.int64s('starts', [from]), g.int64s('ends', [to]), g.int64s('axes', [1])]);

function unscale(g: GraphBuilder, c: Record<string, unknown>, y: string): string {
  return g.op('Add', [g.op('Mul', [y, g.floats('scale', [], [Number(c['scale'])])]), g.floats('shift', [], [Number(c['shift'])])]);
}

export function convertMonotoneQuantiles(g: GraphBuilder, layer: tf.layers.Layer, input: string, shape: number[]): Converted {
  const k = shape[0]!;
  let q = input;
  if (k > 1) {
    const steps = g.op('Concat', [sliceCols(g, input, 0, 1), positive(g, sliceCols(g, input, 1, k))], [attr.int('axis', 1)]);
    q = g.op('MatMul', [steps, g.floats('cumulative', [k, k], cumulativeMatrix(k))]);
  }
  return { value: unscale(g, layerConfig(layer), q), shape };
}

export function convertLocationScale(g: GraphBuilder, layer: tf.layers.Layer, input: string, shape: number[]): Converted {
  if (shape[0] !== 2) throw new Error(`${where(layer)}: needs the 2 logits (location, scale), got [${shape.join(', ')}]`);
  const c = layerConfig(layer);
  const z = (c['z'] as number[]).map(Number);
  const mu = sliceCols(g, input, 0, 1);
  const parts: string[] = [];
  if (c['mean'] === true) parts.push(mu);
  if (z.length > 0) {
    const sigma = g.op('Add', [positive(g, sliceCols(g, input, 1, 2)), g.floats('min_scale', [], [Number(c['minScale'])])]);
    parts.push(g.op('Add', [mu, g.op('Mul', [sigma, g.floats('z', [1, z.length], z)])]));
  }
  const y = parts.length === 1 ? parts[0]! : g.op('Concat', parts, [attr.int('axis', 1)]);
  return { value: unscale(g, c, y), shape: [(c['mean'] === true ? 1 : 0) + z.length] };
}
