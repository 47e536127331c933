import { encodeModel, floatMatrix, floatTensor, node } from '../../../serving/onnx/onnxGraph.js';
import type { LogisticModel } from './logisticRegression.js';

/**
 * The fitted model as ONNX: p_up = Sigmoid(input · W + b) on scaled float32 input [N, f], output
 * float32 [N, 1]. Weights are stored as float32, as onnxruntime computes; serving always goes
 * through this graph, so batch prediction and live serving run the same arithmetic.
 */
export function logisticToOnnx(m: LogisticModel, metadata: Record<string, string> = {}): Uint8Array {
  const f = m.weights.length;
  return encodeModel({
    graphName: 'barflow_logistic',
    nodes: [node('MatMul', ['input', 'W'], ['z0']), node('Add', ['z0', 'b'], ['z']), node('Sigmoid', ['z'], ['p_up'])],
    initializers: [floatTensor('W', [f, 1], m.weights), floatTensor('b', [1], [m.intercept])],
    inputs: [floatMatrix('input', f)],
    outputs: [floatMatrix('p_up', 1)],
    metadata,
  });
}
