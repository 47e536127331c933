import type * as tf from '@tensorflow/tfjs';

/** A converted layer's output: its ONNX value and its shape without the batch axis. */
export interface Converted {
  value: string;
  shape: number[];
}

/** "LSTM layer 'lstm_0'": how errors name a layer. */
export function where(layer: tf.layers.Layer): string {
  return `${layer.getClassName()} layer '${layer.name}'`;
}

/** The layer's serialized config (what model.json stores): activations as their class names. */
export function layerConfig(layer: tf.layers.Layer): Record<string, unknown> {
  return layer.getConfig() as Record<string, unknown>;
}

/**
 * The layer's weights by their short name ('kernel', 'recurrent_kernel', 'bias'), read without
 * copying tensors out of the model: `read()` returns the variable itself, which must not be disposed.
 */
export function layerWeights(layer: tf.layers.Layer): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const w of layer.weights) {
    const short = w.originalName.slice(w.originalName.lastIndexOf('/') + 1);
    if (out.has(short)) throw new Error(`${where(layer)}: two weights named ${short}`);
    out.set(short, Float32Array.from(w.read().dataSync() as Float32Array));
  }
  return out;
}
