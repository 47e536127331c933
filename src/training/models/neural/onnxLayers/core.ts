import type * as tf from '@tensorflow/tfjs';
import { applyActivation } from './activations.js';
import { GraphBuilder, attr } from './graphBuilder.js';
import { type Converted, layerConfig, layerWeights, where } from './layerInfo.js';

/** Dense: x·kernel + bias over the last axis (MatMul broadcasts over [N, seqLen, …] like tfjs), then its activation. */
export function convertDense(g: GraphBuilder, layer: tf.layers.Layer, input: string, shape: number[]): Converted {
  const c = layerConfig(layer);
  const units = Number(c['units']);
  const inDim = shape.at(-1)!;
  const w = layerWeights(layer);
  const kernel = w.get('kernel');
  if (kernel === undefined || kernel.length !== inDim * units) throw new Error(`${where(layer)}: expected a kernel [${inDim}, ${units}]`);
  let y = g.op('MatMul', [input, g.floats('kernel', [inDim, units], kernel)]);
  const bias = w.get('bias');
  if (bias !== undefined) y = g.op('Add', [y, g.floats('bias', [units], bias)]);
  return { value: applyActivation(g, y, String(c['activation'] ?? 'linear'), where(layer)), shape: [...shape.slice(0, -1), units] };
}

export function convertActivation(g: GraphBuilder, layer: tf.layers.Layer, input: string, shape: number[]): Converted {
  return { value: applyActivation(g, input, String(layerConfig(layer)['activation']), where(layer)), shape };
}

/** Flatten: row-major, as tfjs's reshape to [N, ∏ dims]. */
export function convertFlatten(g: GraphBuilder, _layer: tf.layers.Layer, input: string, shape: number[]): Converted {
  if (shape.length === 1) return { value: input, shape };
  return { value: g.op('Flatten', [input], [attr.int('axis', 1)]), shape: [shape.reduce((a, b) => a * b, 1)] };
}

/**
 * Conv1D on channels-last [N, L, C]: ONNX Conv is channels-first, so transpose around it. The
 * kernel [k, C, filters] becomes W [filters, C, k]. Padding is explicit (the length is known):
 * 'valid' none; 'same' TensorFlow's split, the odd unit at the end; 'causal' (k − 1)·d at the
 * start. tfjs 4.22 itself throws on 'causal' at predict time, so a causal layer can only come from
 * a model whose predictions were computed elsewhere; the export follows Keras's definition.
 */
export function convertConv1D(g: GraphBuilder, layer: tf.layers.Layer, input: string, shape: number[]): Converted {
  const at = where(layer);
  if (shape.length !== 2) throw new Error(`${at}: needs a [length, channels] input, got [${shape.join(', ')}]`);
  const [len, ch] = shape as [number, number];
  const c = layerConfig(layer);
  if (c['dataFormat'] !== undefined && c['dataFormat'] !== 'channelsLast') throw new Error(`${at}: dataFormat ${String(c['dataFormat'])} is not supported (channelsLast only)`);
  const one = (v: unknown): number => (Array.isArray(v) ? Number(v[0]) : Number(v ?? 1));
  const k = one(c['kernelSize']);
  const s = one(c['strides']);
  const d = one(c['dilationRate']);
  const filters = Number(c['filters']);
  const padding = String(c['padding'] ?? 'valid');
  const span = (k - 1) * d + 1;
  const { pads, outLen } = windowPads(at, len, span, s, padding);
  const w = layerWeights(layer);
  const kernel = w.get('kernel');
  if (kernel === undefined || kernel.length !== k * ch * filters) throw new Error(`${at}: expected a kernel [${k}, ${ch}, ${filters}]`);
  const W = new Float32Array(filters * ch * k);
  for (let t = 0; t < k; t++) for (let i = 0; i < ch; i++) for (let o = 0; o < filters; o++) W[(o * ch + i) * k + t] = kernel[(t * ch + i) * filters + o]!;
  const inputs = [g.op('Transpose', [input], [attr.ints('perm', [0, 2, 1])]), g.floats('W', [filters, ch, k], W)];
  const bias = w.get('bias');
  if (bias !== undefined) inputs.push(g.floats('B', [filters], bias));
  const conv = g.op('Conv', inputs, [attr.ints('kernel_shape', [k]), attr.ints('strides', [s]), attr.ints('dilations', [d]), attr.ints('pads', pads), attr.int('group', 1)]);
  const y = g.op('Transpose', [conv], [attr.ints('perm', [0, 2, 1])]);
  return { value: applyActivation(g, y, String(c['activation'] ?? 'linear'), at), shape: [outLen, filters] };
}

/**
 * Explicit [start, end] padding and output length of a window of `span` steps over `len` steps, as
 * tfjs pads: 'valid' none; 'same' TensorFlow's split (the odd step at the end); 'causal' all at the start.
 */
export function windowPads(at: string, len: number, span: number, stride: number, padding: string): { pads: [number, number]; outLen: number } {
  let pads: [number, number];
  let outLen: number;
  if (padding === 'valid') {
    pads = [0, 0];
    outLen = Math.floor((len - span) / stride) + 1;
  } else if (padding === 'same') {
    outLen = Math.ceil(len / stride);
    const total = Math.max((outLen - 1) * stride + span - len, 0);
    pads = [Math.floor(total / 2), total - Math.floor(total / 2)];
  } else if (padding === 'causal') {
    pads = [span - 1, 0];
    outLen = Math.floor((len - 1) / stride) + 1;
  } else {
    throw new Error(`${at}: padding '${padding}' is not supported (valid, same, causal)`);
  }
  if (outLen < 1) throw new Error(`${at}: input length ${len} is shorter than the window span ${span}`);
  return { pads, outLen };
}

/** Permute: tfjs's dims count from 1 and leave the batch axis out; ONNX's perm keeps it first. */
export function convertPermute(g: GraphBuilder, layer: tf.layers.Layer, input: string, shape: number[]): Converted {
  const dims = (layerConfig(layer)['dims'] as number[]).map(Number);
  return { value: g.op('Transpose', [input], [attr.ints('perm', [0, ...dims])]), shape: dims.map((d) => shape[d - 1]!) };
}

/** Reshape to tfjs's targetShape (row-major in both); 0 copies the batch axis. */
export function convertReshape(g: GraphBuilder, layer: tf.layers.Layer, input: string, shape: number[]): Converted {
  const target = (layerConfig(layer)['targetShape'] as number[]).map(Number);
  const size = shape.reduce((a, d) => a * d, 1);
  const known = target.filter((d) => d !== -1).reduce((a, d) => a * d, 1);
  const out = target.map((d) => (d === -1 ? size / known : d));
  if (out.reduce((a, d) => a * d, 1) !== size) throw new Error(`${where(layer)}: cannot reshape [${shape.join(', ')}] to [${target.join(', ')}]`);
  return { value: g.op('Reshape', [input, g.int64s('shape', [0, ...out])]), shape: out };
}

/** BarflowLastStep (neural/layers/shiftedConv1d.ts): [N, L, C] → [N, C], the step at L − 1. */
export function convertLastStep(g: GraphBuilder, layer: tf.layers.Layer, input: string, shape: number[]): Converted {
  if (shape.length !== 2) throw new Error(`${where(layer)}: needs a [length, channels] input, got [${shape.join(', ')}]`);
  const step = g.op('Slice', [input, g.int64s('starts', [shape[0]! - 1]), g.int64s('ends', [shape[0]!]), g.int64s('axes', [1])]);
  return { value: g.op('Squeeze', [step, g.int64s('axes', [1])]), shape: [shape[1]!] };
}
