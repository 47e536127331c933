import type * as tf from '@tensorflow/tfjs';
import { type RnnActivation, rnnActivation, rnnActivationAttrs } from './activations.js';
import { GraphBuilder, attr } from './graphBuilder.js';
import { type Converted, layerConfig, layerWeights, where } from './layerInfo.js';

/**
 * tfjs LSTM and GRU layers as ONNX LSTM / GRU nodes (opset 13, layout 0: time-major).
 *
 * Mapping, checked against tfjs-layers 4.22 recurrent.js and the ONNX operator spec:
 * - tfjs keeps kernel [f, G·u] and recurrent_kernel [u, G·u] with gate blocks side by side, and
 *   computes x·kernel; ONNX W [1, G·h, f] and R [1, G·h, h] hold one row per gate unit and
 *   compute x·Wᵀ: each gate block is transposed.
 * - LSTM gate order: tfjs i, f, c, o; ONNX i, o, f, c. GRU: z, r, h in both.
 * - tfjs adds one bias [G·u] (to the input part, for the GRU); ONNX B [1, 2·G·h] is Wb then Rb:
 *   the bias goes in Wb, zeros in Rb. tfjs's GRU is reset-before (it throws on resetAfter), so
 *   ONNX linear_before_reset = 0: h̃ = g(x·Wh + (r ⊙ h)·Rh + Wbh), h' = z ⊙ h + (1 − z) ⊙ h̃.
 * - recurrentActivation (tfjs default hardSigmoid) is ONNX's f; activation (default tanh) is g and,
 *   for the LSTM, h. unitForgetBias only shapes the initial bias; the trained bias is read as is.
 * - In-cell dropout and recurrentDropout are identity at inference.
 */
const LSTM_ONNX_FROM_TFJS = [0, 3, 1, 2]; // ONNX gate g reads tfjs gate block LSTM_ONNX_FROM_TFJS[g]
const GRU_ONNX_FROM_TFJS = [0, 1, 2];

export function convertRecurrent(g: GraphBuilder, layer: tf.layers.Layer, input: string, shape: number[]): Converted {
  const cls = layer.getClassName();
  const at = where(layer);
  if (shape.length !== 2) throw new Error(`${at}: needs a [seqLen, features] input, got [${shape.join(', ')}]`);
  const [seqLen, f] = shape as [number, number];
  const c = layerConfig(layer);
  for (const flag of ['goBackwards', 'stateful', 'returnState'] as const) {
    if (c[flag] === true) throw new Error(`${at}: ${flag} is not supported by the ONNX export`);
  }
  if (cls === 'GRU' && c['resetAfter'] === true) throw new Error(`${at}: resetAfter GRUs are not supported (tfjs 4.22 cannot build them either)`);
  const u = Number(c['units']);
  const gates = cls === 'LSTM' ? 4 : 3;
  const order = cls === 'LSTM' ? LSTM_ONNX_FROM_TFJS : GRU_ONNX_FROM_TFJS;
  const w = layerWeights(layer);
  const kernel = w.get('kernel');
  const recurrent = w.get('recurrent_kernel');
  if (kernel === undefined || recurrent === undefined) throw new Error(`${at}: kernel or recurrent_kernel weight not found (has ${[...w.keys()].join(', ')})`);
  const bias = w.get('bias') ?? new Float32Array(gates * u);

  const W = gateRows(kernel, f, u, order);
  const R = gateRows(recurrent, u, u, order);
  const B = new Float32Array(2 * gates * u);
  for (let gi = 0; gi < gates; gi++) B.set(bias.subarray(order[gi]! * u, (order[gi]! + 1) * u), gi * u);

  const recurrentAct = rnnActivation(String(c['recurrentActivation']), at);
  const act = rnnActivation(String(c['activation']), at);
  const acts: RnnActivation[] = cls === 'LSTM' ? [recurrentAct, act, act] : [recurrentAct, act];
  const attrs = [attr.int('hidden_size', u), ...rnnActivationAttrs(acts), ...(cls === 'GRU' ? [attr.int('linear_before_reset', 0)] : [])];

  const timeMajor = g.op('Transpose', [input], [attr.ints('perm', [1, 0, 2])]);
  const inputs = [timeMajor, g.floats('W', [1, gates * u, f], W), g.floats('R', [1, gates * u, u], R), g.floats('B', [1, 2 * gates * u], B)];
  if (c['returnSequences'] === true) {
    const y = g.name(`${cls}_Y`);
    g.opMulti(cls, inputs, [y], attrs);
    // Y is [seq, num_directions = 1, N, u]: drop the direction, back to batch-major.
    const seq = g.op('Squeeze', [y, g.int64s('axes', [1])]);
    return { value: g.op('Transpose', [seq], [attr.ints('perm', [1, 0, 2])]), shape: [seqLen, u] };
  }
  const yh = g.name(`${cls}_Y_h`);
  g.opMulti(cls, inputs, ['', yh], attrs);
  // Y_h is [num_directions = 1, N, u], the state after the last step.
  return { value: g.op('Squeeze', [yh, g.int64s('axes', [0])]), shape: [u] };
}

/** tfjs [rows, G·u] (gate blocks side by side) → ONNX [G·u, rows] in ONNX gate order. */
function gateRows(m: Float32Array, rows: number, u: number, order: number[]): Float32Array {
  const gates = order.length;
  const out = new Float32Array(gates * u * rows);
  for (let gi = 0; gi < gates; gi++) {
    const src = order[gi]! * u;
    for (let j = 0; j < u; j++) for (let k = 0; k < rows; k++) out[(gi * u + j) * rows + k] = m[k * gates * u + src + j]!;
  }
  return out;
}
