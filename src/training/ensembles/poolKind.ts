import { z } from 'zod';
import type { ModelKind, Scorer } from '../models/modelRegistry.js';
import { type ObjectiveSpec, pinball, rawOutputs } from '../objectives/objective.js';

/**
 * Soft voting as a meta-learner over the bases' outputs: the raw row of each base (p_up; the class
 * probabilities; e_r; the quantiles) pooled with weights on the simplex. Weights are fixed, equal,
 * fitted on the rows it is given (out-of-fold rows only: ensembleTrain.ts), or gated: one weight
 * vector per regime state, mixed by the row's filtered state probabilities (the last `states`
 * inputs), so the weights of a row still sum to 1.
 *
 * Written here rather than as an ONNX graph: a weighted average needs no runtime, and the pooled
 * row goes through the same output contract as any model's.
 */
export const PoolParams = z
  .object({
    bases: z.number().int().min(1),
    weights: z.union([z.array(z.number().nonnegative()), z.enum(['equal', 'fitted', 'gated'])]),
    space: z.enum(['probability', 'logit']).default('probability'),
    /** Regime states whose probabilities follow the bases' values (gated). */
    states: z.number().int().min(0).default(0),
    iterations: z.number().int().min(1).max(10_000).default(300),
  })
  .strict();
export type PoolParams = z.infer<typeof PoolParams>;

interface PoolDoc {
  format: 'barflow.pool';
  bases: number;
  width: number;
  space: 'probability' | 'logit';
  /** One row per regime state (a single row unless gated), each on the simplex. */
  weights: number[][];
}

const EPS = 1e-7;
const logit = (p: number) => {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q / (1 - q));
};

/** Pools row i of x (bases × width values, then the states' probabilities when gated) into out at `at`. */
function poolRow(doc: PoolDoc, spec: ObjectiveSpec, x: ArrayLike<number>, stride: number, i: number, out: Float64Array, at: number, w: Float64Array): void {
  const { bases, width, weights } = doc;
  const base = i * stride;
  w.fill(0);
  if (weights.length === 1) w.set(weights[0]!);
  else for (let s = 0; s < weights.length; s++) for (let b = 0; b < bases; b++) w[b]! += x[base + bases * width + s]! * weights[s]![b]!;
  const logSpace = doc.space === 'logit' && (spec.objective === 'binary' || spec.objective === 'multiclass');
  for (let j = 0; j < width; j++) {
    let v = 0;
    for (let b = 0; b < bases; b++) {
      const z = x[base + b * width + j]!;
      v += w[b]! * (logSpace ? (spec.objective === 'binary' ? logit(z) : Math.log(Math.max(EPS, z))) : z);
    }
    out[at + j] = v;
  }
  if (!logSpace) return;
  if (spec.objective === 'binary') out[at] = 1 / (1 + Math.exp(-out[at]!));
  else {
    // A log-linear pool of class probabilities, normalised.
    let m = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < width; j++) m = Math.max(m, out[at + j]!);
    let s = 0;
    for (let j = 0; j < width; j++) s += (out[at + j] = Math.exp(out[at + j]! - m));
    for (let j = 0; j < width; j++) out[at + j]! /= s;
  }
}

/** The loss a fitted pool minimises, per row: log loss of the pooled probability, squared error, mean pinball. */
function rowLoss(spec: ObjectiveSpec, pooled: Float64Array, y: number): number {
  switch (spec.objective) {
    case 'binary':
      return -Math.log(Math.max(EPS, y > 0.5 ? pooled[0]! : 1 - pooled[0]!));
    case 'multiclass':
      return -Math.log(Math.max(EPS, pooled[y]!));
    case 'regression':
      return (pooled[0]! - y) ** 2;
    case 'quantile': {
      let s = 0;
      spec.quantiles.forEach((q, j) => (s += pinball(q, y, pooled[j]!)));
      return s / spec.quantiles.length;
    }
  }
}

/**
 * Weights on the simplex minimising the rows' mean loss, each row weighted by `rowWeight` (a
 * regime state's probability when gated): exponentiated gradient with a numerical gradient and a
 * step halved whenever it does not improve, from equal weights. Deterministic; the loss never
 * rises (the best weights seen are kept).
 */
function fitWeights(spec: ObjectiveSpec, x: Float32Array, n: number, stride: number, bases: number, width: number, y: Float32Array, rowWeight: (i: number) => number, space: PoolDoc['space'], iterations: number): number[] {
  const out = new Float64Array(width);
  const scratch = new Float64Array(bases);
  const loss = (w: number[]) => {
    const doc: PoolDoc = { format: 'barflow.pool', bases, width, space, weights: [w] };
    let s = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const rw = rowWeight(i);
      if (rw === 0) continue;
      poolRow(doc, spec, x, stride, i, out, 0, scratch);
      s += rw * rowLoss(spec, out, y[i]!);
      total += rw;
    }
    return total > 0 ? s / total : 0;
  };
  let w = new Array<number>(bases).fill(1 / bases);
  let best = loss(w);
  let eta = 1;
  for (let it = 0; it < iterations && eta > 1e-6; it++) {
    const g = w.map((_, b) => {
      const h = 1e-5;
      const wp = w.map((v, c) => (c === b ? v + h : v));
      return (loss(wp) - best) / h;
    });
    const scale = Math.max(...g.map(Math.abs)) || 1;
    const next = w.map((v, b) => v * Math.exp((-eta * g[b]!) / scale));
    const sum = next.reduce((a, v) => a + v, 0);
    const cand = next.map((v) => v / sum);
    const l = loss(cand);
    if (l < best) {
      w = cand;
      best = l;
    } else eta /= 2;
  }
  return w;
}

export const poolKind: ModelKind<PoolParams> = {
  name: 'pool',
  family: 'linear',
  view: 'tabular',
  objectives: ['binary', 'multiclass', 'regression', 'quantile'],
  causal: true,
  needsTraining: true,
  params: PoolParams,
  async train(input, params) {
    const width = rawOutputs(input.objective).length;
    const stride = input.f;
    if (stride !== params.bases * width + params.states) throw new Error(`pool: ${stride} inputs per row, expected ${params.bases} bases × ${width} + ${params.states} states`);
    let weights: number[][];
    if (Array.isArray(params.weights)) {
      const s = params.weights.reduce((a, v) => a + v, 0);
      if (params.weights.length !== params.bases || !(s > 0)) throw new Error(`pool: ${params.weights.length} weights (sum ${s}) for ${params.bases} bases`);
      weights = [params.weights.map((v) => v / s)];
    } else if (params.weights === 'equal') weights = [new Array<number>(params.bases).fill(1 / params.bases)];
    else if (params.weights === 'fitted') weights = [fitWeights(input.objective, input.x, input.n, stride, params.bases, width, input.y, () => 1, params.space, params.iterations)];
    else {
      if (params.states === 0) throw new Error('pool: gated weights need the regime state probabilities as inputs');
      const at = params.bases * width;
      weights = Array.from({ length: params.states }, (_, s) => fitWeights(input.objective, input.x, input.n, stride, params.bases, width, input.y, (i) => input.x[i * stride + at + s]!, params.space, params.iterations));
    }
    input.onProgress?.({ step: 1, steps: 1 });
    const doc: PoolDoc = { format: 'barflow.pool', bases: params.bases, width, space: params.space, weights };
    return { format: 'json', files: new Map([['pool.json', Buffer.from(`${JSON.stringify(doc, null, 2)}\n`)]]) };
  },
  async load(artifact, objective): Promise<Scorer> {
    const bytes = artifact.files.get('pool.json');
    if (bytes === undefined) throw new Error('pool: the artifact has no pool.json');
    const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as PoolDoc;
    const outputs = rawOutputs(objective);
    if (doc.format !== 'barflow.pool' || doc.width !== outputs.length) throw new Error(`pool.json is not a pool of ${outputs.length}-wide outputs`);
    const stride = doc.bases * doc.width + (doc.weights.length > 1 ? doc.weights.length : 0);
    const w = new Float64Array(doc.bases);
    return {
      outputs,
      async score(x, dims) {
        const n = dims[0]!;
        if (dims[1] !== stride) throw new Error(`pool: ${dims[1]} inputs per row, expected ${stride}`);
        const out = new Float64Array(n * doc.width);
        for (let i = 0; i < n; i++) poolRow(doc, objective, x, stride, i, out, i * doc.width, w);
        return out;
      },
    };
  },
};

/** The weights a pool artifact holds (for reports). */
export function poolWeights(artifactFile: Uint8Array): number[][] {
  return (JSON.parse(Buffer.from(artifactFile).toString('utf8')) as PoolDoc).weights;
}
