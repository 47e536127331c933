import onnxProto from 'onnx-proto';
import { encodeModel, floatMatrix, node } from '../../../serving/onnx/onnxGraph.js';

/**
 * XGBoost's JSON model → ONNX, written here in TypeScript (no Python converter in the training
 * path). The graph is one ai.onnx.ml TreeEnsembleRegressor that sums the leaf values of every tree
 * plus the base margin, then a Sigmoid: input float32 [N, f], output float32 [N, 1] = P(class 1).
 *
 * Why this reproduces XGBoost (checked in tests/unit/training/xgboost.test.ts):
 * - XGBoost sends a row left ("yes") when `x < split_condition`, both float32: BRANCH_LT with the
 *   same float32 thresholds.
 * - A missing value (NaN) follows the node's `default_left`; ONNX's
 *   `nodes_missing_value_tracks_true` sends NaN to the true (= left) branch, so it is `default_left`.
 * - A leaf's value is stored in `split_conditions` (the learning rate is already applied;
 *   `base_weights` is not the leaf value).
 * - `learner_model_param.base_score` is stored in probability space for the logistic objectives
 *   (XGBoost 1.x and 2.x); the margin starts at logit(base_score), as XGBoost's ProbToMargin does.
 * Only plain gbtree models with numerical splits and one output are accepted; anything else
 * (dart, gblinear, categorical splits, multi-class, other objectives) is refused with a reason.
 */

const onnx = onnxProto.onnx;
const AttrType = onnx.AttributeProto.AttributeType;

/** One tree of XGBoost's JSON, as flat arrays indexed by node id (-1 children = leaf). */
export interface XgbTree {
  left: Int32Array;
  right: Int32Array;
  splitIndex: Int32Array;
  /** Threshold for a split node, leaf value for a leaf (float32, as XGBoost keeps them). */
  splitCondition: Float32Array;
  defaultLeft: Uint8Array;
  /** Gain of each split (0 for leaves): the gain feature importance. */
  lossChange: Float32Array;
}

export interface XgbModel {
  objective: string;
  /** base_score as stored (probability space for the logistic objectives). */
  baseScore: number;
  /** The margin every prediction starts from: logit(base_score) in float32. */
  baseMargin: number;
  numFeature: number;
  trees: XgbTree[];
  version: number[];
}

const LOGISTIC_OBJECTIVES = new Set(['binary:logistic', 'reg:logistic']);

/** Parses and validates XGBoost's JSON model bytes (the output of XGBoosterSaveModelToBuffer with format json). */
export function parseXgboostJson(modelJson: Uint8Array): XgbModel {
  const doc = JSON.parse(new TextDecoder().decode(modelJson)) as { version?: number[]; learner?: Record<string, any> };
  const learner = doc.learner;
  if (!learner) throw new Error('not an XGBoost JSON model: no "learner"');
  const objective = String(learner.objective?.name ?? '');
  if (!LOGISTIC_OBJECTIVES.has(objective)) throw new Error(`XGBoost objective ${objective} is not supported (binary:logistic or reg:logistic)`);
  const booster = learner.gradient_booster;
  if (booster?.name !== 'gbtree') throw new Error(`XGBoost booster ${String(booster?.name)} is not supported (gbtree only; dart weighs trees, gblinear has none)`);
  const lmp = learner.learner_model_param ?? {};
  const numClass = Number(lmp.num_class ?? 0);
  const numTarget = Number(lmp.num_target ?? 1);
  if (numClass > 1 || numTarget > 1) throw new Error(`multi-output XGBoost models are not supported (num_class ${numClass}, num_target ${numTarget})`);
  const baseScore = Number(lmp.base_score);
  if (!(baseScore > 0 && baseScore < 1)) throw new Error(`base_score ${String(lmp.base_score)} is not a probability in (0, 1)`);
  const numFeature = Number(lmp.num_feature);
  const model = booster.model;
  const trees: XgbTree[] = (model.trees as any[]).map((t, i) => parseTree(t, i, numFeature));
  if ((model.tree_info as number[]).some((g) => g !== 0)) throw new Error('trees for more than one output group');
  // ProbToMargin in float32, as XGBoost computes it: -logf(1/base_score - 1).
  const f = Math.fround;
  const baseMargin = f(-Math.log(f(f(1 / f(baseScore)) - 1)));
  return { objective, baseScore, baseMargin, numFeature, trees, version: doc.version ?? [] };
}

function parseTree(t: any, i: number, numFeature: number): XgbTree {
  const n = Number(t.tree_param?.num_nodes);
  const arr = (key: string): number[] => {
    const v = (t[key] ?? []) as Array<number | boolean>;
    if (v.length !== n) throw new Error(`tree ${i}: ${key} has ${v.length} entries for ${n} nodes`);
    return v.map(Number); // default_left is 0/1 in 1.7 and was true/false in older writers
  };
  if ((t.split_type as number[] | undefined)?.some((s) => s !== 0)) throw new Error(`tree ${i}: categorical splits are not supported`);
  const tree: XgbTree = {
    left: Int32Array.from(arr('left_children')),
    right: Int32Array.from(arr('right_children')),
    splitIndex: Int32Array.from(arr('split_indices')),
    splitCondition: Float32Array.from(arr('split_conditions')),
    defaultLeft: Uint8Array.from(arr('default_left')),
    lossChange: Float32Array.from(arr('loss_changes')),
  };
  for (const id of reachable(tree)) {
    if (isLeaf(tree, id)) continue;
    const fi = tree.splitIndex[id]!;
    if (fi < 0 || fi >= numFeature) throw new Error(`tree ${i} node ${id}: feature ${fi} outside 0..${numFeature - 1}`);
  }
  return tree;
}

const isLeaf = (t: XgbTree, id: number): boolean => t.left[id] === -1;

/**
 * Node ids reachable from the root, in depth-first order. Pruned nodes stay in XGBoost's arrays
 * (`num_deleted`) but no parent points to them; they must not go into the ONNX graph.
 */
export function reachable(t: XgbTree): number[] {
  const out: number[] = [];
  const stack = [0];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (id < 0 || id >= t.left.length) throw new Error(`node id ${id} out of range`);
    out.push(id);
    if (!isLeaf(t, id)) stack.push(t.right[id]!, t.left[id]!);
  }
  return out;
}

export interface XgboostOnnxOptions {
  inputName?: string;
  outputName?: string;
  /** Extra metadata_props (feature schema hash, dataset fingerprint…). */
  metadata?: Record<string, string>;
}

/** Builds the ONNX model bytes (ir_version 8; ai.onnx 13, ai.onnx.ml 3) for an XGBoost JSON model. */
export function xgboostToOnnx(modelJson: Uint8Array, featureCount: number, opts: XgboostOnnxOptions = {}): Uint8Array {
  const inputName = opts.inputName ?? 'input';
  const outputName = opts.outputName ?? 'p_up';
  const m = parseXgboostJson(modelJson);
  if (m.numFeature > featureCount) throw new Error(`the model was trained on ${m.numFeature} features, the ONNX input has ${featureCount}`);

  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const values: number[] = [];
  const modes: Uint8Array[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const missingTrue: number[] = [];
  const targetTree: number[] = [];
  const targetNode: number[] = [];
  const targetWeight: number[] = [];
  const LEAF = new TextEncoder().encode('LEAF');
  const BRANCH_LT = new TextEncoder().encode('BRANCH_LT');

  m.trees.forEach((t, ti) => {
    for (const id of reachable(t)) {
      treeIds.push(ti);
      nodeIds.push(id);
      if (isLeaf(t, id)) {
        modes.push(LEAF);
        featureIds.push(0);
        values.push(0);
        trueIds.push(0);
        falseIds.push(0);
        missingTrue.push(0);
        targetTree.push(ti);
        targetNode.push(id);
        targetWeight.push(t.splitCondition[id]!);
      } else {
        modes.push(BRANCH_LT);
        featureIds.push(t.splitIndex[id]!);
        values.push(t.splitCondition[id]!);
        trueIds.push(t.left[id]!);
        falseIds.push(t.right[id]!);
        missingTrue.push(t.defaultLeft[id]!);
      }
    }
  });

  const margin = `${outputName}_margin`;
  const ensemble = node(
    'TreeEnsembleRegressor',
    [inputName],
    [margin],
    [
      int('n_targets', 1),
      ints('nodes_treeids', treeIds),
      ints('nodes_nodeids', nodeIds),
      ints('nodes_featureids', featureIds),
      floats('nodes_values', values),
      strings('nodes_modes', modes),
      ints('nodes_truenodeids', trueIds),
      ints('nodes_falsenodeids', falseIds),
      ints('nodes_missing_value_tracks_true', missingTrue),
      ints('target_treeids', targetTree),
      ints('target_nodeids', targetNode),
      ints('target_ids', targetTree.map(() => 0)),
      floats('target_weights', targetWeight),
      floats('base_values', [m.baseMargin]),
      str('aggregate_function', 'SUM'),
      str('post_transform', 'NONE'),
    ],
    'ai.onnx.ml',
  );
  return encodeModel({
    graphName: 'xgboost_binary',
    nodes: [ensemble, node('Sigmoid', [margin], [outputName])],
    initializers: [],
    inputs: [floatMatrix(inputName, featureCount)],
    outputs: [floatMatrix(outputName, 1)],
    opsets: { 'ai.onnx.ml': 3 },
    metadata: {
      model: 'xgboost',
      xgboost_version: m.version.join('.'),
      objective: m.objective,
      base_score: String(m.baseScore),
      trees: String(m.trees.length),
      features: String(featureCount),
      ...opts.metadata,
    },
  });
}

type Attr = onnxProto.onnx.IAttributeProto;
const int = (name: string, i: number): Attr => ({ name, type: AttrType.INT, i });
const ints = (name: string, v: number[]): Attr => ({ name, type: AttrType.INTS, ints: v });
// Leaf values and thresholds are float32 already, so the FLOATS attribute holds them exactly.
const floats = (name: string, v: number[]): Attr => ({ name, type: AttrType.FLOATS, floats: v });
const strings = (name: string, v: Uint8Array[]): Attr => ({ name, type: AttrType.STRINGS, strings: v });
const str = (name: string, s: string): Attr => ({ name, type: AttrType.STRING, s: new TextEncoder().encode(s) });
