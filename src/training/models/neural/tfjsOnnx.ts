/**
 * A trained TensorFlow.js LayersModel as ONNX, written in TypeScript from the model's own weights
 * (no Python converter in the training path), so serving runs the same graph as batch prediction.
 *
 * Input 'x' float32 [N, …inputShape]; output 'y' float32 [N, units of the last layer]. The graph is
 * built by walking the model's layer graph from its output back to its input (Sequential and
 * functional models alike), one converter per layer class (onnxLayers/). Supported: LSTM and GRU
 * (stacked, last step or full sequence), Dense, Activation, Dropout / SpatialDropout1D (identity at
 * inference), Flatten, Permute, Reshape, Conv1D and BarflowConv1D (valid / same / causal, strides, dilation),
 * BarflowLastStep, BatchNormalization,
 * Add, Multiply, Concatenate, Max/AveragePooling1D, GlobalAverage/MaxPooling1D, the attention nets'
 * layers (onnxLayers/attention.ts); the activations listed in
 * onnxLayers/activations.ts. Anything else is refused with the layer's class and name.
 *
 * Determinism: value names come from a counter in walk order and the metadata is sorted by
 * encodeModel, so the same weights give the same bytes. Opset 13 (the LSTM/GRU are time-major,
 * so the batch-first `layout` attribute of opset 14 is not needed).
 */
import type * as tf from '@tensorflow/tfjs';
import { FLOAT, encodeModel } from '../../../serving/onnx/onnxGraph.js';
import { convertActivation, convertConv1D, convertDense, convertFlatten, convertLastStep, convertPermute, convertReshape } from './onnxLayers/core.js';
import { convertAdd, convertBatchNorm, convertConcatenate, convertGlobalPooling1D, convertPooling1D } from './onnxLayers/blocks.js';
import { GraphBuilder } from './onnxLayers/graphBuilder.js';
import { type Converted, where } from './onnxLayers/layerInfo.js';
import { convertRecurrent } from './onnxLayers/recurrent.js';
import {
  convertLocationScale,
  convertMonotoneQuantiles,
  convertMultiply,
  convertNormalization,
  convertPatches,
  convertPositionalEmbedding,
  convertSelfAttention,
  convertVariableEmbedding,
  convertWindowStats,
  convertWeightedSum,
} from './onnxLayers/attention.js';

export interface TfjsOnnxOptions {
  /** Stored in metadata_props (sorted). */
  metadata: Record<string, string>;
  /** Input shape without the batch axis. */
  inputShape: [seqLen: number, features: number] | [features: number];
}

type Converter = (g: GraphBuilder, layer: tf.layers.Layer, inputs: Converted[]) => Converted;
type SingleConverter = (g: GraphBuilder, layer: tf.layers.Layer, input: string, shape: number[]) => Converted;

/** A converter for a layer that takes exactly one input. */
const single =
  (convert: SingleConverter): Converter =>
  (g, layer, inputs) => {
    if (inputs.length !== 1) throw new Error(`${where(layer)}: takes ${inputs.length} inputs, expected 1`);
    return convert(g, layer, inputs[0]!.value, inputs[0]!.shape);
  };

const identity = single((_g, _layer, value, shape) => ({ value, shape }));

const CONVERTERS: Record<string, Converter> = {
  LSTM: single(convertRecurrent),
  GRU: single(convertRecurrent),
  Dense: single(convertDense),
  Activation: single(convertActivation),
  Dropout: identity,
  SpatialDropout1D: identity,
  Flatten: single(convertFlatten),
  Conv1D: single(convertConv1D),
  // neural/layers/shiftedConv1d.ts: stores Conv1D's kernel layout and config keys.
  BarflowConv1D: single(convertConv1D),
  BarflowLastStep: single(convertLastStep),
  Permute: single(convertPermute),
  Reshape: single(convertReshape),
  BatchNormalization: single(convertBatchNorm),
  Add: convertAdd,
  Concatenate: convertConcatenate,
  MaxPooling1D: single(convertPooling1D),
  AveragePooling1D: single(convertPooling1D),
  GlobalAveragePooling1D: single(convertGlobalPooling1D),
  GlobalMaxPooling1D: single(convertGlobalPooling1D),
  Multiply: convertMultiply,
  // neural/layers/selfAttention.ts, sequenceLayers.ts, outputHeads.ts
  BarflowSelfAttention: single(convertSelfAttention),
  BarflowNormalization: single(convertNormalization),
  BarflowPositionalEmbedding: single(convertPositionalEmbedding),
  BarflowWindowStats: single(convertWindowStats),
  BarflowPatches: single(convertPatches),
  BarflowVariableEmbedding: single(convertVariableEmbedding),
  BarflowWeightedSum: convertWeightedSum,
  BarflowMonotoneQuantiles: single(convertMonotoneQuantiles),
  BarflowLocationScale: single(convertLocationScale),
};

export const INPUT_NAME = 'x';
export const OUTPUT_NAME = 'y';

export function tfjsToOnnx(model: tf.LayersModel, opts: TfjsOnnxOptions): Uint8Array {
  const inputShape = [...opts.inputShape];
  if (inputShape.length < 1 || inputShape.length > 2 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`inputShape must be [seqLen, features] or [features] of positive integers, got [${inputShape.join(', ')}]`);
  }
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new Error(`the ONNX export needs one input and one output, the model has ${model.inputs.length} and ${model.outputs.length}`);
  const declared = model.inputs[0]!.shape.slice(1);
  if (declared.length !== inputShape.length || declared.some((d, i) => d !== null && d !== inputShape[i])) {
    throw new Error(`inputShape [${inputShape.join(', ')}] does not match the model's input [N, ${declared.map((d) => d ?? '?').join(', ')}]`);
  }

  const g = new GraphBuilder();
  const done = new Map<string, Converted[]>();
  const convert = (t: tf.SymbolicTensor): Converted => {
    const layer = t.sourceLayer;
    if (layer.getClassName() === 'InputLayer') return { value: INPUT_NAME, shape: inputShape };
    const key = `${layer.name}#${t.nodeIndex}`;
    let outs = done.get(key);
    if (outs === undefined) {
      const inbound = layer.inboundNodes[t.nodeIndex]!.inputTensors;
      const converter = CONVERTERS[layer.getClassName()];
      if (converter === undefined) throw new Error(`${where(layer)} has no ONNX export (supported layers: ${Object.keys(CONVERTERS).join(', ')})`);
      outs = [converter(g, layer, inbound.map(convert))];
      done.set(key, outs);
    }
    return outs[t.tensorIndex]!;
  };
  const out = convert(model.outputs[0]!);
  if (out.shape.length !== 1) {
    throw new Error(`the model's output is [N, ${out.shape.join(', ')}]; the export needs [N, units] (end with a last-step recurrent layer, Flatten or Dense on one)`);
  }
  g.opMulti('Identity', [out.value], [OUTPUT_NAME]);

  const tensor = (name: string, dims: number[]) => ({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'N' }, ...dims.map((d) => ({ dimValue: d }))] } } },
  });
  return encodeModel({
    graphName: 'barflow_tfjs',
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: [tensor(INPUT_NAME, inputShape)],
    outputs: [tensor(OUTPUT_NAME, out.shape)],
    metadata: opts.metadata,
  });
}
