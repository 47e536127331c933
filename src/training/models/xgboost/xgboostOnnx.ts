import type { TreeEnsemble } from '../trees/treeEnsemble.js';
import { treeEnsembleToOnnx } from '../trees/treeOnnx.js';

/**
 * XGBoost's JSON model → the library-neutral TreeEnsemble (../trees/treeEnsemble.ts), which
 * ../trees/treeOnnx.ts writes as ONNX. Written in TypeScript: no Python converter in the training
 * path. Reads the JSON of XGBoost 1.7, 2.x and 3.x.
 *
 * Why the ensemble reproduces XGBoost (checked in tests/unit/training/xgboost*.test.ts):
 * - XGBoost sends a row left ("yes") when `x < split_condition`, both float32: rule 'lt' with the
 *   same float32 thresholds.
 * - A missing value (NaN) follows the node's `default_left` (0/1 in 1.7+, true/false in older writers).
 * - A leaf's value is its `split_conditions` entry (learning rate applied; not `base_weights`).
 * - Tree i adds to output `tree_info[i]`: the class (multi:softprob, trees interleaved per class
 *   within a round) or the target (reg:quantileerror, one target per quantile_alpha level).
 * - `learner_model_param.base_score` is a number string ("5E-1") up to 2.x, one for every output;
 *   3.x writes a vector string ("[5E-1]", "[a,b,c]"), one per output. The logistic objectives keep
 *   it in probability space, so the margin starts at logit(base_score), in float32 as XGBoost's
 *   ProbToMargin computes it; every other objective here keeps it in margin (= value) space.
 * Only plain gbtree models with numerical splits and one output per tree are accepted; anything
 * else (dart, gblinear, categorical splits, multi-output trees, other objectives) is refused.
 */

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
  /** base_score as stored, one per output (probability space for the logistic objectives). */
  baseScore: number[];
  /** The margin each output starts from (logit(base_score) in float32 for the logistic objectives). */
  baseMargin: number[];
  /** Outputs the trees add to: 1, the classes (multi:softprob) or the quantile levels. */
  numOutputs: number;
  /** reg:quantileerror's levels (quantile_alpha), one per output. */
  quantileAlpha?: number[];
  post: TreeEnsemble['post'];
  numFeature: number;
  trees: XgbTree[];
  /** Output (class / quantile level) each tree adds to. */
  treeOutput: number[];
  version: number[];
}

const POST: Record<string, TreeEnsemble['post']> = {
  'binary:logistic': 'sigmoid',
  'reg:logistic': 'sigmoid',
  'multi:softprob': 'softmax',
  'reg:squarederror': 'none',
  'reg:quantileerror': 'none',
};
const PROBABILITY_BASE = new Set(['binary:logistic', 'reg:logistic']);

/** "5E-1", "[5E-1]", "[1E-1,2E-1]" or a plain number → the numbers. */
export function parseNumberList(text: unknown, what: string): number[] {
  if (typeof text === 'number') return [text];
  const s = String(text ?? '').trim();
  const body = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  const values = body.split(',').map((v) => Number(v.trim()));
  if (body.trim() === '' || values.some((v) => !Number.isFinite(v))) throw new Error(`${what} ${JSON.stringify(text)} is not a number or a list of numbers`);
  return values;
}

/** Parses and validates XGBoost's JSON model bytes (the output of XGBoosterSaveModelToBuffer with format json). */
export function parseXgboostJson(modelJson: Uint8Array): XgbModel {
  const doc = JSON.parse(new TextDecoder().decode(modelJson)) as { version?: number[]; learner?: Record<string, any> };
  const learner = doc.learner;
  if (!learner) throw new Error('not an XGBoost JSON model: no "learner"');
  const objective = String(learner.objective?.name ?? '');
  const post = POST[objective];
  if (post === undefined) throw new Error(`XGBoost objective ${objective} is not supported (${Object.keys(POST).join(', ')})`);
  const booster = learner.gradient_booster;
  if (booster?.name !== 'gbtree') throw new Error(`XGBoost booster ${String(booster?.name)} is not supported (gbtree only; dart weighs trees, gblinear has none)`);
  const lmp = learner.learner_model_param ?? {};
  const numClass = Number(lmp.num_class ?? 0);
  const numTarget = Number(lmp.num_target ?? 1);
  if (numClass > 1 && numTarget > 1) throw new Error(`XGBoost model with both num_class ${numClass} and num_target ${numTarget}`);
  const numOutputs = Math.max(numClass, numTarget, 1);
  if (post === 'softmax' ? numOutputs < 2 : post === 'sigmoid' && numOutputs !== 1) throw new Error(`${objective} with ${numOutputs} outputs`);

  const stored = parseNumberList(lmp.base_score, 'base_score');
  if (stored.length !== 1 && stored.length !== numOutputs) throw new Error(`base_score has ${stored.length} values for ${numOutputs} outputs`);
  const baseScore = stored.length === numOutputs ? stored : new Array<number>(numOutputs).fill(stored[0]!);
  const f = Math.fround;
  const baseMargin = baseScore.map((b) => {
    if (!PROBABILITY_BASE.has(objective)) return f(b);
    if (!(b > 0 && b < 1)) throw new Error(`base_score ${b} is not a probability in (0, 1)`);
    return f(-Math.log(f(f(1 / f(b)) - 1))); // ProbToMargin: -logf(1/base_score - 1)
  });

  const numFeature = Number(lmp.num_feature);
  if (!(Number.isInteger(numFeature) && numFeature >= 1)) throw new Error(`num_feature ${String(lmp.num_feature)} is not a positive integer`);
  const model = booster.model;
  const parallel = Number(model.gbtree_model_param?.num_parallel_tree ?? 1);
  if (parallel !== 1) throw new Error(`num_parallel_tree ${parallel} (random forests) is not supported`);
  const trees: XgbTree[] = (model.trees as any[]).map((t, i) => parseTree(t, i, numFeature));
  const treeOutput = (model.tree_info as number[]).map(Number);
  if (treeOutput.length !== trees.length) throw new Error(`tree_info has ${treeOutput.length} entries for ${trees.length} trees`);
  treeOutput.forEach((g, i) => {
    if (!(Number.isInteger(g) && g >= 0 && g < numOutputs)) throw new Error(`tree ${i} adds to output ${g}, outside 0..${numOutputs - 1}`);
  });

  const out: XgbModel = { objective, baseScore, baseMargin, numOutputs, post, numFeature, trees, treeOutput, version: doc.version ?? [] };
  if (objective === 'reg:quantileerror') {
    const alpha = parseNumberList(learner.objective?.quantile_loss_param?.quantile_alpha, 'quantile_alpha');
    if (alpha.length !== numOutputs) throw new Error(`quantile_alpha has ${alpha.length} levels for ${numOutputs} outputs`);
    out.quantileAlpha = alpha;
  }
  return out;
}

function parseTree(t: any, i: number, numFeature: number): XgbTree {
  const n = Number(t.tree_param?.num_nodes);
  const leafVector = Number(t.tree_param?.size_leaf_vector ?? 0);
  if (leafVector > 1) throw new Error(`tree ${i}: multi-output trees (size_leaf_vector ${leafVector}, multi_strategy multi_output_tree) are not supported`);
  const arr = (key: string): number[] => {
    const v = (t[key] ?? []) as Array<number | boolean>;
    if (v.length !== n) throw new Error(`tree ${i}: ${key} has ${v.length} entries for ${n} nodes`);
    return v.map(Number); // default_left is 0/1 in 1.7+ and was true/false in older writers
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

/** The parsed model as a TreeEnsemble over `featureCount` inputs (≥ the features it was trained on). */
export function xgboostToEnsemble(m: XgbModel, featureCount = m.numFeature): TreeEnsemble {
  if (m.numFeature > featureCount) throw new Error(`the model was trained on ${m.numFeature} features, the ONNX input has ${featureCount}`);
  return {
    numFeatures: featureCount,
    numTargets: m.numOutputs,
    rule: 'lt',
    trees: m.trees.map((t, i) => ({
      target: m.treeOutput[i]!,
      nodes: {
        left: t.left,
        right: t.right,
        feature: t.splitIndex,
        threshold: Float64Array.from(t.splitCondition),
        missingLeft: t.defaultLeft,
        // split_conditions holds a leaf's value (float32); for a split it is the threshold, unused here.
        leafValue: Float64Array.from(t.splitCondition),
      },
    })),
    base: Float64Array.from(m.baseMargin),
    post: m.post,
  };
}

/**
 * ONNX bytes for XGBoost JSON bytes: input `x` [N, featureCount], output `y` [N, outputs]
 * (P(class 1); the class probabilities; the value; one column per quantile level). `metadata`
 * is added to what the model says about itself (library version, objective, trees).
 */
export function xgboostToOnnx(modelJson: Uint8Array, featureCount: number, metadata: Record<string, string> = {}): Uint8Array {
  const m = parseXgboostJson(modelJson);
  return treeEnsembleToOnnx(xgboostToEnsemble(m, featureCount), {
    model: 'xgboost',
    xgboost_version: m.version.join('.'),
    objective: m.objective,
    base_score: m.baseScore.join(','),
    trees: String(m.trees.length),
    features: String(featureCount),
    ...metadata,
  });
}
