/**
 * One Transformer encoder layer (Vaswani et al. 2017), post-norm as PatchTST's and iTransformer's
 * reference code: x ← LN(x + Dropout(MHA(x))); x ← LN(x + Dropout(FFN(x))), with FFN a GELU Dense
 * of `ffUnits` then a Dense back to the model width. Attention runs over the second-to-last axis
 * (patches for PatchTST, variates for iTransformer).
 */
import type * as tf from '@tensorflow/tfjs';
import type { NetBuilder } from './netBuilder.js';

export interface EncoderParams {
  dModel: number;
  heads: number;
  ffUnits: number;
  dropout: number;
  /** Mask attention so that a token sees no later token. */
  causal?: boolean;
}

export function encoderLayer(x: tf.SymbolicTensor, p: EncoderParams, b: NetBuilder): tf.SymbolicTensor {
  const attended = b.selfAttention(x, { heads: p.heads, keyDim: Math.max(1, Math.floor(p.dModel / p.heads)), causal: p.causal ?? false });
  const h = b.normalize(b.add([x, b.dropout(attended, p.dropout)]), 'features');
  const ff = b.dense(b.dropout(b.dense(h, p.ffUnits, 'gelu'), p.dropout), p.dModel);
  return b.normalize(b.add([h, b.dropout(ff, p.dropout)]), 'features');
}

/** The width check every attention net makes: heads must divide the model width. */
export function checkHeads(label: string, p: { dModel: number; heads: number }): void {
  if (p.dModel % p.heads !== 0) throw new Error(`${label}: dModel ${p.dModel} is not a multiple of heads ${p.heads}`);
}
