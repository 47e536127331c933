import type { TreeArrays, TreeEnsemble } from '../trees/treeEnsemble.js';

/**
 * LightGBM's JSON model dump (LGBM_BoosterDumpModel) → the library-neutral TreeEnsemble IR that
 * the ONNX exporter reads. What LightGBM does at prediction time (LightGBM/tree.h,
 * NumericalDecision), and how it maps onto the IR:
 *  - `x <= threshold` goes left: rule 'le'; thresholds are doubles (the dump prints 17 digits, so
 *    JSON.parse gives back LightGBM's exact double) and the float32 input is compared as a double.
 *  - LightGBM's predictor reads every |x| <= kZeroThreshold (1e-35f) as 0 before the trees see it
 *    (c_api.cpp keeps only |x| > kZeroThreshold or NaN of a dense row; the rest is 0), and its bins
 *    put thresholds at ±kZeroThreshold. A threshold inside that zone is moved to where the zone's
 *    edge puts the same rows on each side (`zoneSafeThreshold`), so plain `x <= t` agrees.
 *  - missing_type "NaN": NaN follows default_left. missing_type "None": LightGBM replaces NaN by 0
 *    before comparing, so NaN goes left exactly when 0 <= threshold. missing_type "Zero"
 *    (zero_as_missing): |x| <= 1e-35 and NaN follow default_left, which one threshold and one
 *    missing direction cannot say: refused (barflow trains with zero_as_missing=false).
 *  - the initial score (boost_from_average) is already added to the first round's leaves, and raw
 *    predictions are the plain sum of the trees: base = 0.
 *  - tree i adds to class i % num_tree_per_iteration (multiclass: one tree per class per round).
 *  - binary's probability is sigmoid(sigmoid_param · raw): leaves are scaled by sigmoid_param so
 *    that post = plain sigmoid.
 * Anything else (categorical splits, linear trees, random-forest averaging, transformed regression
 * objectives) is refused with the reason, rather than exported wrong.
 */

export type LightgbmObjective = 'binary' | 'multiclass' | 'regression' | 'quantile';

export interface ParsedLightgbmModel {
  objective: LightgbmObjective;
  /** The objective's parameters from the dump, e.g. { sigmoid: 1 }, { num_class: 3 }, { alpha: 0.05 }. */
  objectiveParams: Record<string, number>;
  ensemble: TreeEnsemble;
}

interface DumpNode {
  split_index?: number;
  split_feature?: number;
  threshold?: number | string;
  decision_type?: string;
  default_left?: boolean;
  missing_type?: string;
  left_child?: DumpNode;
  right_child?: DumpNode;
  leaf_value?: number;
  leaf_coeff?: unknown;
}

interface DumpTree {
  tree_index: number;
  num_cat?: number;
  is_linear?: boolean;
  tree_structure: DumpNode;
}

interface Dump {
  num_class: number;
  num_tree_per_iteration: number;
  max_feature_idx: number;
  objective: string;
  average_output?: boolean;
  tree_info: DumpTree[];
}

/** Thrown for a model the IR cannot represent exactly; the message says what and where. */
export class UnsupportedLightgbmModelError extends Error {
  override name = 'UnsupportedLightgbmModelError';
}

/** Parses a DumpModel JSON string; `numFeatures` (the training matrix's columns) overrides max_feature_idx + 1. */
export function parseLightgbmDump(json: string, numFeatures?: number): ParsedLightgbmModel {
  const dump = JSON.parse(json) as Dump;
  if (!Array.isArray(dump.tree_info) || typeof dump.objective !== 'string') {
    throw new UnsupportedLightgbmModelError('not a LightGBM model dump: no tree_info / objective');
  }
  const { objective, objectiveParams } = parseObjective(dump.objective);
  if (dump.average_output === true) {
    throw new UnsupportedLightgbmModelError('random-forest models (boosting=rf, average_output) are not supported: their trees are averaged, not summed');
  }
  const perRound = dump.num_tree_per_iteration;
  const expectedTargets = objective === 'multiclass' ? objectiveParams.num_class : 1;
  if (perRound !== expectedTargets) {
    throw new UnsupportedLightgbmModelError(`objective ${dump.objective} with ${perRound} trees per round: expected ${expectedTargets}`);
  }
  const features = numFeatures ?? dump.max_feature_idx + 1;
  if (dump.max_feature_idx + 1 > features) {
    throw new UnsupportedLightgbmModelError(`the model uses ${dump.max_feature_idx + 1} features, the input has ${features}`);
  }
  // sigmoid(s · raw) = sigmoid(raw') with every leaf scaled by s (raw is a sum of leaves).
  const leafScale = objective === 'binary' ? objectiveParams.sigmoid! : 1;
  if (!(leafScale > 0)) throw new UnsupportedLightgbmModelError(`binary objective with sigmoid ${leafScale}: must be > 0`);

  const trees = dump.tree_info.map((t) => {
    if (t.is_linear === true) throw new UnsupportedLightgbmModelError(`tree ${t.tree_index} is a linear tree (linear_tree=true): not supported`);
    if ((t.num_cat ?? 0) > 0) {
      throw new UnsupportedLightgbmModelError(`tree ${t.tree_index} has ${t.num_cat} categorical splits: not supported (train with numeric features only)`);
    }
    return { target: t.tree_index % perRound, nodes: flattenTree(t, features, leafScale) };
  });
  return {
    objective,
    objectiveParams,
    ensemble: {
      numFeatures: features,
      numTargets: perRound,
      rule: 'le',
      trees,
      base: new Float64Array(perRound),
      post: objective === 'binary' ? 'sigmoid' : objective === 'multiclass' ? 'softmax' : 'none',
    },
  };
}

/**
 * One ensemble with a column per quantile level, from one single-output booster per level (in
 * level order): LightGBM's quantile objective fits a single alpha per booster.
 */
export function mergeQuantileEnsembles(parts: readonly TreeEnsemble[]): TreeEnsemble {
  if (parts.length === 0) throw new RangeError('mergeQuantileEnsembles: no ensembles');
  const first = parts[0]!;
  for (const [i, p] of parts.entries()) {
    if (p.numTargets !== 1 || p.post !== 'none' || p.rule !== first.rule || p.numFeatures !== first.numFeatures) {
      throw new RangeError(`mergeQuantileEnsembles: part ${i} is not a single-output '${first.rule}' ensemble over ${first.numFeatures} features without post`);
    }
  }
  return {
    numFeatures: first.numFeatures,
    numTargets: parts.length,
    rule: first.rule,
    trees: parts.flatMap((p, level) => p.trees.map((t) => ({ target: level, nodes: t.nodes }))),
    base: Float64Array.from(parts, (p) => p.base[0]!),
    post: 'none',
  };
}

/** "binary sigmoid:1" → binary, { sigmoid: 1 }; refuses objectives whose output is transformed some other way. */
function parseObjective(text: string): { objective: LightgbmObjective; objectiveParams: Record<string, number> } {
  const [name = '', ...rest] = text.trim().split(/\s+/);
  const objectiveParams: Record<string, number> = {};
  const flags: string[] = [];
  for (const token of rest) {
    const [k, v] = token.split(':');
    if (v === undefined) flags.push(token);
    else objectiveParams[k!] = Number(v);
  }
  const refuse = (why: string): never => {
    throw new UnsupportedLightgbmModelError(`LightGBM objective "${text}": ${why}`);
  };
  if (flags.length > 0) refuse(`the option(s) ${flags.join(', ')} (e.g. regression sqrt) transform the output and are not supported`);
  switch (name) {
    case 'binary':
      objectiveParams.sigmoid ??= 1;
      return { objective: 'binary', objectiveParams };
    case 'multiclass':
      if (!(objectiveParams.num_class! >= 2)) refuse('no num_class');
      return { objective: 'multiclass', objectiveParams };
    case 'regression':
      return { objective: 'regression', objectiveParams };
    case 'quantile':
      return { objective: 'quantile', objectiveParams };
    default:
      return refuse('only binary, multiclass, regression (L2) and quantile are supported');
  }
}

/** Nested dump nodes → the IR's parallel arrays, in pre-order (the root is node 0). */
function flattenTree(tree: DumpTree, numFeatures: number, leafScale: number): TreeArrays {
  const nodes: DumpNode[] = [];
  const parentSlot: Array<{ parent: number; side: 'left' | 'right' } | undefined> = [];
  const stack: Array<{ node: DumpNode; from?: { parent: number; side: 'left' | 'right' } }> = [{ node: tree.tree_structure }];
  while (stack.length > 0) {
    const { node, from } = stack.pop()!;
    nodes.push(node);
    parentSlot.push(from);
    const id = nodes.length - 1;
    if (node.leaf_value === undefined) {
      if (node.left_child === undefined || node.right_child === undefined) {
        throw new UnsupportedLightgbmModelError(`tree ${tree.tree_index}: split ${node.split_index} lacks a child`);
      }
      // Right pushed first so the left subtree is numbered first (pre-order).
      stack.push({ node: node.right_child, from: { parent: id, side: 'right' } }, { node: node.left_child, from: { parent: id, side: 'left' } });
    }
  }
  const size = nodes.length;
  const out: TreeArrays = {
    left: new Int32Array(size).fill(-1),
    right: new Int32Array(size).fill(-1),
    feature: new Int32Array(size),
    threshold: new Float64Array(size),
    missingLeft: new Uint8Array(size),
    leafValue: new Float64Array(size),
  };
  for (let id = 0; id < size; id++) {
    const from = parentSlot[id];
    if (from !== undefined) out[from.side][from.parent] = id;
    const node = nodes[id]!;
    if (node.leaf_value !== undefined) {
      if (node.leaf_coeff !== undefined) throw new UnsupportedLightgbmModelError(`tree ${tree.tree_index}: linear leaves are not supported`);
      out.leafValue[id] = node.leaf_value * leafScale;
      continue;
    }
    const where = `tree ${tree.tree_index}, split ${node.split_index}`;
    if (node.decision_type !== '<=') {
      throw new UnsupportedLightgbmModelError(`${where}: decision "${node.decision_type}" (categorical split) is not supported`);
    }
    const feature = node.split_feature!;
    if (!Number.isInteger(feature) || feature < 0 || feature >= numFeatures) {
      throw new UnsupportedLightgbmModelError(`${where}: feature ${feature} outside 0..${numFeatures - 1}`);
    }
    // LightGBM's dump writes ±inf thresholds as ±1e300 (Common::AvoidInf): still the right order.
    const threshold = Number(node.threshold);
    if (Number.isNaN(threshold)) throw new UnsupportedLightgbmModelError(`${where}: threshold ${String(node.threshold)} is not a number`);
    out.feature[id] = feature;
    out.threshold[id] = zoneSafeThreshold(threshold);
    switch (node.missing_type) {
      case 'None':
        out.missingLeft[id] = 0 <= threshold ? 1 : 0;
        break;
      case 'NaN':
        out.missingLeft[id] = node.default_left === true ? 1 : 0;
        break;
      case 'Zero':
        throw new UnsupportedLightgbmModelError(
          `${where}: missing_type Zero (zero_as_missing=true) sends zeros the default way, which a threshold split cannot express; train with zero_as_missing=false`,
        );
      default:
        throw new UnsupportedLightgbmModelError(`${where}: unknown missing_type ${JSON.stringify(node.missing_type)}`);
    }
  }
  return out;
}

/** LightGBM's kZeroThreshold (meta.h: `const double kZeroThreshold = 1e-35f`). */
export const LIGHTGBM_ZERO_THRESHOLD = Math.fround(1e-35);

/**
 * The threshold t' with `x <= t'` ⇔ LightGBM's `zeroed(x) <= t`, where zeroed maps
 * |x| <= kZeroThreshold to 0. Only t in [-kZeroThreshold, kZeroThreshold) differs from its raw
 * comparison: with -kZ <= t < 0 the zone (read as 0) goes right, so left is x < -kZ, i.e.
 * x <= the double below -kZ; with 0 <= t < kZ the zone goes left, so left is x <= kZ.
 */
export function zoneSafeThreshold(t: number): number {
  const z = LIGHTGBM_ZERO_THRESHOLD;
  if (t >= -z && t < 0) return -nextDoubleUp(z);
  if (t >= 0 && t < z) return z;
  return t;
}

/** The next double above a positive finite v. */
function nextDoubleUp(v: number): number {
  const bits = new BigInt64Array(new Float64Array([v]).buffer);
  bits[0] = bits[0]! + 1n;
  return new Float64Array(bits.buffer)[0]!;
}
