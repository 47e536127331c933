import type * as tf from '@tensorflow/tfjs';
import { windowPads } from './core.js';
import { GraphBuilder, attr } from './graphBuilder.js';
import { type Converted, layerConfig, layerWeights, where } from './layerInfo.js';

/**
 * The layers residual and inception nets (ResNet, InceptionTime, TCN) are assembled from, on
 * channels-last values: BatchNormalization (inference: moving statistics), Add, Concatenate,
 * Max/AveragePooling1D and the global 1D poolings.
 */

/**
 * BatchNormalization over the last axis, folded into one Mul and one Add with
 * scale = γ / √(var + ε) and shift = β − mean · scale (tfjs computes (x − mean) · rsqrt(var + ε) · γ + β;
 * the folded form differs only in float32 rounding).
 */
export function convertBatchNorm(g: GraphBuilder, layer: tf.layers.Layer, value: string, shape: number[]): Converted {
  const at = where(layer);
  const c = layerConfig(layer);
  const axis = Number(c['axis'] ?? -1);
  if (axis !== -1 && axis !== shape.length) throw new Error(`${at}: axis ${axis} is not supported (the last axis only)`);
  const ch = shape.at(-1)!;
  const eps = Number(c['epsilon'] ?? 1e-3);
  const w = layerWeights(layer);
  const mean = w.get('moving_mean');
  const variance = w.get('moving_variance');
  if (mean === undefined || variance === undefined) throw new Error(`${at}: moving_mean or moving_variance weight not found`);
  const gamma = w.get('gamma');
  const beta = w.get('beta');
  const scale = Float32Array.from({ length: ch }, (_, i) => (gamma?.[i] ?? 1) / Math.sqrt(variance[i]! + eps));
  const shift = Float32Array.from({ length: ch }, (_, i) => (beta?.[i] ?? 0) - mean[i]! * scale[i]!);
  const y = g.op('Mul', [value, g.floats('bn_scale', [ch], scale)]);
  return { value: g.op('Add', [y, g.floats('bn_shift', [ch], shift)]), shape };
}

export function convertAdd(g: GraphBuilder, layer: tf.layers.Layer, inputs: Converted[]): Converted {
  const shape = inputs[0]!.shape;
  for (const i of inputs) {
    if (i.shape.join() !== shape.join()) throw new Error(`${where(layer)}: inputs of shapes ${inputs.map((x) => `[${x.shape.join(', ')}]`).join(', ')} (broadcasting is not supported)`);
  }
  return { value: g.op('Sum', inputs.map((i) => i.value)), shape };
}

export function convertConcatenate(g: GraphBuilder, layer: tf.layers.Layer, inputs: Converted[]): Converted {
  const rank = inputs[0]!.shape.length;
  const raw = Number(layerConfig(layer)['axis'] ?? -1);
  // tfjs counts the batch axis: axis 0 is the batch, −1 the last.
  const axis = raw < 0 ? raw + rank + 1 : raw;
  if (axis < 1 || axis > rank) throw new Error(`${where(layer)}: axis ${raw} is not supported (not the batch axis)`);
  const shape = [...inputs[0]!.shape];
  shape[axis - 1] = inputs.reduce((s, i) => s + i.shape[axis - 1]!, 0);
  return { value: g.op('Concat', inputs.map((i) => i.value), [attr.int('axis', axis)]), shape };
}

/** MaxPooling1D / AveragePooling1D; 'same' padding is left out of the max and of the average's count, as in TensorFlow. */
export function convertPooling1D(g: GraphBuilder, layer: tf.layers.Layer, value: string, shape: number[]): Converted {
  const at = where(layer);
  if (shape.length !== 2) throw new Error(`${at}: needs a [length, channels] input, got [${shape.join(', ')}]`);
  const c = layerConfig(layer);
  const one = (v: unknown, dflt: number): number => (Array.isArray(v) ? Number(v[0]) : v == null ? dflt : Number(v));
  const k = one(c['poolSize'], 2);
  const s = one(c['strides'], k);
  const { pads, outLen } = windowPads(at, shape[0]!, k, s, String(c['padding'] ?? 'valid'));
  const op = layer.getClassName() === 'MaxPooling1D' ? 'MaxPool' : 'AveragePool';
  const attrs = [attr.ints('kernel_shape', [k]), attr.ints('strides', [s]), attr.ints('pads', pads), ...(op === 'AveragePool' ? [attr.int('count_include_pad', 0)] : [])];
  const pooled = g.op(op, [g.op('Transpose', [value], [attr.ints('perm', [0, 2, 1])])], attrs);
  return { value: g.op('Transpose', [pooled], [attr.ints('perm', [0, 2, 1])]), shape: [outLen, shape[1]!] };
}

/** GlobalAveragePooling1D / GlobalMaxPooling1D: the mean / max over the steps. */
export function convertGlobalPooling1D(g: GraphBuilder, layer: tf.layers.Layer, value: string, shape: number[]): Converted {
  if (shape.length !== 2) throw new Error(`${where(layer)}: needs a [length, channels] input, got [${shape.join(', ')}]`);
  const op = layer.getClassName() === 'GlobalMaxPooling1D' ? 'ReduceMax' : 'ReduceMean';
  return { value: g.op(op, [value], [attr.ints('axes', [1]), attr.int('keepdims', 0)]), shape: [shape[1]!] };
}
