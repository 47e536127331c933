import onnxProto from 'onnx-proto';
import { encodeModel, floatMatrix, node } from '../../../serving/onnx/onnxGraph.js';
import type { TreeArrays, TreeEnsemble } from './treeEnsemble.js';

/**
 * The one ONNX writer for tree ensembles (XGBoost and LightGBM are parsed into a TreeEnsemble
 * first). The graph: input `x` float32 [N, numFeatures] → ai.onnx.ml TreeEnsembleRegressor
 * (n_targets = numTargets, base_values = base, SUM) → Sigmoid / Softmax(axis 1) / nothing →
 * output `y` float32 [N, numTargets].
 *
 * Thresholds are exact, not approximately right: onnxruntime compares the float32 input against
 * float32 thresholds, so each split is rewritten as an equivalent float32 comparison.
 * - 'lt' (x < t left): x < t ⟺ x < t↑, t↑ = the smallest float32 ≥ t (t itself for XGBoost,
 *   whose thresholds are float32 already); BRANCH_LT.
 * - 'le' (x <= t left, t a float64 as LightGBM keeps it, x a float32 widened to double):
 *   x <= t ⟺ x <= t↓, t↓ = the largest float32 ≤ t; BRANCH_LEQ.
 * NaN goes where `missingLeft` says (nodes_missing_value_tracks_true: NaN takes the true = left
 * branch; without it every comparison with NaN is false, so NaN goes right).
 *
 * Sums: onnxruntime adds the leaf values of a row in float32 for a float input (measured in
 * tests/unit/training/treeOnnx.test.ts), starting from 0, adding base_values last; leaf values are
 * stored as float32 (exact for XGBoost; LightGBM's float64 leaves round by ≤ 2^-24 relative).
 * XGBoost sums in float32 too but starts from the base, so the two agree to a few float32 ulps,
 * not bit for bit.
 */

const onnx = onnxProto.onnx;
const AttrType = onnx.AttributeProto.AttributeType;

export const TREE_ONNX_INPUT = 'x';
export const TREE_ONNX_OUTPUT = 'y';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float32 next to a float32 value `v`, towards -∞ (dir -1) or +∞ (dir +1); v must be a float32. */
function float32Step(v: number, dir: -1 | 1): number {
  if (v === 0) return dir * 2 ** -149; // ±0 → the smallest subnormal of the step's sign
  f32[0] = v;
  // Bits of a positive float32 grow with its value, of a negative one shrink (sign-magnitude).
  u32[0] = u32[0]! + (v > 0 === dir > 0 ? 1 : -1);
  return f32[0]!;
}

/** The largest float32 ≤ t (−Infinity below −FLT_MAX, FLT_MAX for finite t above it). */
export function float32AtOrBelow(t: number): number {
  if (Number.isNaN(t)) throw new RangeError('threshold is NaN');
  const r = Math.fround(t);
  return r <= t ? r : float32Step(r, -1);
}

/** The smallest float32 ≥ t. */
export function float32AtOrAbove(t: number): number {
  if (Number.isNaN(t)) throw new RangeError('threshold is NaN');
  const r = Math.fround(t);
  return r >= t ? r : float32Step(r, 1);
}

/** Node ids reachable from the root, depth first (pruned nodes can stay in a library's arrays). */
export function reachableNodes(t: TreeArrays): number[] {
  const out: number[] = [];
  const seen = new Uint8Array(t.left.length);
  const stack = [0];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (!(id >= 0 && id < t.left.length)) throw new Error(`node id ${id} out of range 0..${t.left.length - 1}`);
    if (seen[id]) throw new Error(`node ${id} is reached twice: not a tree`);
    seen[id] = 1;
    out.push(id);
    if (t.left[id] !== -1) stack.push(t.right[id]!, t.left[id]!);
  }
  return out;
}

/** Checks the ensemble's shape before anything is written, naming what is wrong. */
export function validateEnsemble(e: TreeEnsemble): void {
  if (!(Number.isInteger(e.numFeatures) && e.numFeatures >= 1)) throw new Error(`numFeatures ${e.numFeatures} is not a positive integer`);
  if (!(Number.isInteger(e.numTargets) && e.numTargets >= 1)) throw new Error(`numTargets ${e.numTargets} is not a positive integer`);
  if (e.base.length !== e.numTargets) throw new Error(`base has ${e.base.length} values for ${e.numTargets} targets`);
  if (e.post === 'sigmoid' && e.numTargets !== 1) throw new Error(`sigmoid needs one target, not ${e.numTargets}`);
  if (e.post === 'softmax' && e.numTargets < 2) throw new Error('softmax needs two targets or more');
  e.base.forEach((b, i) => {
    if (!Number.isFinite(b)) throw new Error(`base[${i}] = ${b} is not finite`);
  });
  e.trees.forEach(({ target, nodes: t }, ti) => {
    if (!(Number.isInteger(target) && target >= 0 && target < e.numTargets)) throw new Error(`tree ${ti}: target ${target} outside 0..${e.numTargets - 1}`);
    const n = t.left.length;
    for (const [k, a] of Object.entries(t)) if ((a as ArrayLike<number>).length !== n) throw new Error(`tree ${ti}: ${k} has ${(a as ArrayLike<number>).length} entries for ${n} nodes`);
    for (const id of reachableNodes(t)) {
      if (t.left[id] === -1) {
        if (!Number.isFinite(t.leafValue[id]!)) throw new Error(`tree ${ti} leaf ${id}: value ${t.leafValue[id]} is not finite`);
        continue;
      }
      const fi = t.feature[id]!;
      if (!(fi >= 0 && fi < e.numFeatures)) throw new Error(`tree ${ti} node ${id}: feature ${fi} outside 0..${e.numFeatures - 1}`);
      if (Number.isNaN(t.threshold[id]!)) throw new Error(`tree ${ti} node ${id}: threshold is NaN`);
    }
  });
}

/** The ONNX model (ir_version 8; ai.onnx 13, ai.onnx.ml 3) of a tree ensemble; the same ensemble and metadata give the same bytes. */
export function treeEnsembleToOnnx(ensemble: TreeEnsemble, metadata: Record<string, string>): Uint8Array {
  validateEnsemble(ensemble);
  const a = {
    treeIds: [] as number[],
    nodeIds: [] as number[],
    featureIds: [] as number[],
    values: [] as number[],
    modes: [] as Uint8Array[],
    trueIds: [] as number[],
    falseIds: [] as number[],
    missingTrue: [] as number[],
    targetTree: [] as number[],
    targetNode: [] as number[],
    targetIds: [] as number[],
    targetWeight: [] as number[],
  };
  const LEAF = new TextEncoder().encode('LEAF');
  const branch = new TextEncoder().encode(ensemble.rule === 'lt' ? 'BRANCH_LT' : 'BRANCH_LEQ');
  const exact = ensemble.rule === 'lt' ? float32AtOrAbove : float32AtOrBelow;

  ensemble.trees.forEach(({ target, nodes: t }, ti) => {
    // Ascending node ids: the same bytes whatever order a parser listed the nodes in.
    for (const id of reachableNodes(t).sort((x, y) => x - y)) {
      a.treeIds.push(ti);
      a.nodeIds.push(id);
      if (t.left[id] === -1) {
        a.modes.push(LEAF);
        a.featureIds.push(0);
        a.values.push(0);
        a.trueIds.push(0);
        a.falseIds.push(0);
        a.missingTrue.push(0);
        a.targetTree.push(ti);
        a.targetNode.push(id);
        a.targetIds.push(target);
        a.targetWeight.push(Math.fround(t.leafValue[id]!));
      } else {
        a.modes.push(branch);
        a.featureIds.push(t.feature[id]!);
        a.values.push(exact(t.threshold[id]!));
        a.trueIds.push(t.left[id]!);
        a.falseIds.push(t.right[id]!);
        a.missingTrue.push(t.missingLeft[id] ? 1 : 0);
      }
    }
  });

  const sums = ensemble.post === 'none' ? TREE_ONNX_OUTPUT : `${TREE_ONNX_OUTPUT}_margin`;
  const nodes = [
    node(
      'TreeEnsembleRegressor',
      [TREE_ONNX_INPUT],
      [sums],
      [
        int('n_targets', ensemble.numTargets),
        ints('nodes_treeids', a.treeIds),
        ints('nodes_nodeids', a.nodeIds),
        ints('nodes_featureids', a.featureIds),
        floats('nodes_values', a.values),
        strings('nodes_modes', a.modes),
        ints('nodes_truenodeids', a.trueIds),
        ints('nodes_falsenodeids', a.falseIds),
        ints('nodes_missing_value_tracks_true', a.missingTrue),
        ints('target_treeids', a.targetTree),
        ints('target_nodeids', a.targetNode),
        ints('target_ids', a.targetIds),
        floats('target_weights', a.targetWeight),
        floats('base_values', Array.from(ensemble.base, Math.fround)),
        str('aggregate_function', 'SUM'),
        str('post_transform', 'NONE'),
      ],
      'ai.onnx.ml',
    ),
  ];
  if (ensemble.post === 'sigmoid') nodes.push(node('Sigmoid', [sums], [TREE_ONNX_OUTPUT]));
  if (ensemble.post === 'softmax') nodes.push(node('Softmax', [sums], [TREE_ONNX_OUTPUT], [int('axis', 1)]));
  return encodeModel({
    graphName: 'tree_ensemble',
    nodes,
    initializers: [],
    inputs: [floatMatrix(TREE_ONNX_INPUT, ensemble.numFeatures)],
    outputs: [floatMatrix(TREE_ONNX_OUTPUT, ensemble.numTargets)],
    opsets: { 'ai.onnx.ml': 3 },
    metadata,
  });
}

type Attr = onnxProto.onnx.IAttributeProto;
const int = (name: string, i: number): Attr => ({ name, type: AttrType.INT, i });
const ints = (name: string, v: number[]): Attr => ({ name, type: AttrType.INTS, ints: v });
// Every value is a float32 already (rounded above), so the FLOATS attribute holds it exactly.
const floats = (name: string, v: number[]): Attr => ({ name, type: AttrType.FLOATS, floats: v });
const strings = (name: string, v: Uint8Array[]): Attr => ({ name, type: AttrType.STRINGS, strings: v });
const str = (name: string, s: string): Attr => ({ name, type: AttrType.STRING, s: new TextEncoder().encode(s) });
