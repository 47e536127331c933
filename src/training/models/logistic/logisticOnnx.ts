import onnxProto from 'onnx-proto';
import { encodeModel, floatMatrix, floatTensor, node } from '../../../serving/onnx/onnxGraph.js';
import type { LogisticModel } from './logisticRegression.js';
import type { MultinomialModel } from './multinomialLogistic.js';

const INT = onnxProto.onnx.AttributeProto.AttributeType.INT;

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

/**
 * The multinomial model as ONNX: probabilities = Softmax(Gemm(input, W, b, transB = 1), axis = 1)
 * on scaled float32 input [N, f], output float32 [N, classes] (column k = class k). W is stored
 * classes × f, the layout of the fitted model.
 */
export function multinomialToOnnx(m: MultinomialModel, metadata: Record<string, string> = {}): Uint8Array {
  const f = m.weights.length / m.classes;
  return encodeModel({
    graphName: 'barflow_logistic_multinomial',
    nodes: [
      node('Gemm', ['input', 'W', 'b'], ['z'], [{ name: 'transB', type: INT, i: 1 }]),
      node('Softmax', ['z'], ['probabilities'], [{ name: 'axis', type: INT, i: 1 }]),
    ],
    initializers: [floatTensor('W', [m.classes, f], m.weights), floatTensor('b', [m.classes], m.intercepts)],
    inputs: [floatMatrix('input', f)],
    outputs: [floatMatrix('probabilities', m.classes)],
    metadata,
  });
}
