import { GraphBuilder, attr } from './graphBuilder.js';

/**
 * tfjs activations (their serialized class names, tfjs-layers 4.22 activations.js) as ONNX nodes,
 * each written to compute what tfjs computes, not what the name suggests elsewhere:
 * - hardSigmoid is clip(0.2·x + 0.5, 0, 1) (K.hardSigmoid), ONNX HardSigmoid(alpha 0.2, beta 0.5);
 * - elu has alpha 1 (tfjs throws on any other), written as Where(x > 0, x, exp(min(x, 0)) − 1);
 * - selu uses tfjs's constants (scale·alpha 1.7580993…, scale 1.0507009…), as ONNX Selu(alpha, gamma);
 * - gelu is the exact erf form x·½(1 + erf(x/√2)), gelu_new the tanh approximation;
 * - softmax and logSoftmax run over the last axis.
 */
const SELU_SCALE = 1.0507009873554804934193349852946;
const SELU_SCALEALPHA = 1.7580993408473768599402175208123;

type Emit = (g: GraphBuilder, x: string) => string;

const scalar = (g: GraphBuilder, v: number): string => g.floats('c', [], [v]);

const ACTIVATIONS: Record<string, Emit> = {
  linear: (_g, x) => x,
  sigmoid: (g, x) => g.op('Sigmoid', [x]),
  hardSigmoid: (g, x) => g.op('HardSigmoid', [x], [attr.float('alpha', 0.2), attr.float('beta', 0.5)]),
  tanh: (g, x) => g.op('Tanh', [x]),
  relu: (g, x) => g.op('Relu', [x]),
  relu6: (g, x) => g.op('Clip', [x, scalar(g, 0), scalar(g, 6)]),
  // Not ONNX's Elu: onnxruntime's Elu kernel gives a value different last bits depending on where
  // it falls in the batch's buffer (measured: 17 of 600), which would break prefix = whole.
  elu: (g, x) => g.op('Where', [g.op('Greater', [x, scalar(g, 0)]), x, g.op('Sub', [g.op('Exp', [g.op('Min', [x, scalar(g, 0)])]), scalar(g, 1)])]),
  selu: (g, x) => g.op('Selu', [x], [attr.float('alpha', SELU_SCALEALPHA / SELU_SCALE), attr.float('gamma', SELU_SCALE)]),
  softplus: (g, x) => g.op('Softplus', [x]),
  softsign: (g, x) => g.op('Softsign', [x]),
  softmax: (g, x) => g.op('Softmax', [x], [attr.int('axis', -1)]),
  logSoftmax: (g, x) => g.op('LogSoftmax', [x], [attr.int('axis', -1)]),
  swish: (g, x) => g.op('Mul', [x, g.op('Sigmoid', [x])]),
  mish: (g, x) => g.op('Mul', [x, g.op('Tanh', [g.op('Softplus', [x])])]),
  gelu: (g, x) => {
    const erf = g.op('Erf', [g.op('Div', [x, scalar(g, Math.SQRT2)])]);
    return g.op('Mul', [x, g.op('Mul', [scalar(g, 0.5), g.op('Add', [scalar(g, 1), erf])])]);
  },
  gelu_new: (g, x) => {
    const cube = g.op('Mul', [x, g.op('Mul', [x, x])]);
    const inner = g.op('Mul', [scalar(g, Math.sqrt(2 / Math.PI)), g.op('Add', [x, g.op('Mul', [scalar(g, 0.044715), cube])])]);
    return g.op('Mul', [scalar(g, 0.5), g.op('Mul', [x, g.op('Add', [scalar(g, 1), g.op('Tanh', [inner])])])]);
  },
};

export const SUPPORTED_ACTIVATIONS: readonly string[] = Object.keys(ACTIVATIONS);

/** Applies a tfjs activation to value `x`; `where` names the layer for the refusal. */
export function applyActivation(g: GraphBuilder, x: string, activation: string, where: string): string {
  const emit = ACTIVATIONS[activation];
  if (emit === undefined) throw new Error(`${where}: activation '${activation}' has no ONNX export (supported: ${SUPPORTED_ACTIVATIONS.join(', ')})`);
  return emit(g, x);
}

/**
 * A tfjs activation as an ONNX RNN `activations` entry with the alpha/beta it consumes. ONNX
 * consumes activation_alpha / activation_beta in the order of the activations, one value per
 * function that takes one (onnxruntime's rnn_helpers), so only those get an entry.
 */
export interface RnnActivation {
  name: string;
  alpha?: number;
  beta?: number;
}

const RNN_ACTIVATIONS: Record<string, RnnActivation> = {
  sigmoid: { name: 'Sigmoid' },
  hardSigmoid: { name: 'HardSigmoid', alpha: 0.2, beta: 0.5 },
  tanh: { name: 'Tanh' },
  relu: { name: 'Relu' },
  linear: { name: 'Affine', alpha: 1, beta: 0 },
  elu: { name: 'Elu', alpha: 1 },
  softsign: { name: 'Softsign' },
  softplus: { name: 'Softplus' },
};

export function rnnActivation(activation: string, where: string): RnnActivation {
  const a = RNN_ACTIVATIONS[activation];
  if (a === undefined) throw new Error(`${where}: activation '${activation}' has no ONNX RNN equivalent (supported inside LSTM/GRU: ${Object.keys(RNN_ACTIVATIONS).join(', ')})`);
  return a;
}

/** The activations, activation_alpha and activation_beta attributes of an ONNX LSTM/GRU node. */
export function rnnActivationAttrs(acts: RnnActivation[]): ReturnType<typeof attr.strings>[] {
  const alphas = acts.flatMap((a) => (a.alpha === undefined ? [] : [a.alpha]));
  const betas = acts.flatMap((a) => (a.beta === undefined ? [] : [a.beta]));
  return [
    attr.strings('activations', acts.map((a) => a.name)),
    ...(alphas.length > 0 ? [attr.floats('activation_alpha', alphas)] : []),
    ...(betas.length > 0 ? [attr.floats('activation_beta', betas)] : []),
  ];
}
