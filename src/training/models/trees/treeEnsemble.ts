/**
 * A library-neutral tree ensemble: what XGBoost's JSON and LightGBM's model dump are both parsed
 * into, and what the one ONNX exporter (treeOnnx.ts) writes. Every tree adds its leaf value to one
 * output column (`target`); the column starts at `base[target]`; `post` maps the sums to the
 * scorer's outputs (sigmoid: binary P(up); softmax: class probabilities; none: returns, quantiles).
 */
export interface TreeArrays {
  /** Child node ids, -1 for a leaf. */
  left: Int32Array;
  right: Int32Array;
  /** Feature index of a split node (ignored for leaves). */
  feature: Int32Array;
  /** Split threshold as the library stores it (float32 values for XGBoost, float64 for LightGBM). */
  threshold: Float64Array;
  /** 1 when a missing value (NaN) goes to the left child. */
  missingLeft: Uint8Array;
  /** Leaf value (learning rate applied) for a leaf; ignored for split nodes. */
  leafValue: Float64Array;
}

export interface TreeEnsemble {
  numFeatures: number;
  /** Output columns the trees add to (1 binary / regression, classes for multiclass, levels for quantile). */
  numTargets: number;
  /** `lt`: x < threshold goes left (XGBoost); `le`: x <= threshold goes left (LightGBM). */
  rule: 'lt' | 'le';
  trees: { target: number; nodes: TreeArrays }[];
  /** Starting value of each output column (margin space), length numTargets. */
  base: Float64Array;
  post: 'none' | 'sigmoid' | 'softmax';
}
