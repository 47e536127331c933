import onnxProto from 'onnx-proto';
import { encodeModel, floatMatrix, floatTensor, node } from '../../../serving/onnx/onnxGraph.js';
import type { LinearModel } from './linearModel.js';

const INT = onnxProto.onnx.AttributeProto.AttributeType.INT;

/**
 * The fitted regression as ONNX: e_r = Gemm(input, W, b, transB = 1) on scaled float32 input
 * [N, f], output float32 [N, 1]. Weights are stored as float32, as onnxruntime computes.
 */
export function linearToOnnx(m: LinearModel, metadata: Record<string, string> = {}): Uint8Array {
  const f = m.weights.length;
  return encodeModel({
    graphName: 'barflow_linear_regression',
    nodes: [node('Gemm', ['input', 'W', 'b'], ['e_r'], [{ name: 'transB', type: INT, i: 1 }])],
    initializers: [floatTensor('W', [1, f], m.weights), floatTensor('b', [1], [m.intercept])],
    inputs: [floatMatrix('input', f)],
    outputs: [floatMatrix('e_r', 1)],
    metadata,
  });
}
