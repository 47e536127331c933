import { z } from 'zod';
import { emissionLogDensities, emissionTables, type EmissionTables } from './baumWelch.js';

/**
 * A Gaussian HMM with diagonal covariances for the regime score: fitted offline by Baum–Welch
 * (baumWelch.ts), applied online by the forward filter alone, so a row's regime probability is
 * P(s_t | o_1..o_t) and never depends on a later row (no smoothing, no Viterbi).
 *
 * regime_score = the filtered probability of highVolatilityState(params), i.e. of state states − 1:
 * fits return states sorted by ascending variance of dimension 0 (the return), so the last state
 * is the most volatile one.
 */

export { fitGaussianHmm, type FitGaussianHmmOptions, type GaussianHmmFit } from './baumWelch.js';

/** Plain JSON-able data, as stored in a model bundle. means[k][d], vars[k][d]: state k, dimension d. */
export interface GaussianHmmParams {
  states: number;
  dims: number;
  startProb: number[];
  transmat: number[][];
  means: number[][];
  vars: number[][];
}

const SUM_TOLERANCE = 1e-9;
const finite = z.number().refine(Number.isFinite, 'must be finite');
const probability = finite.refine((v) => v >= 0, 'must be ≥ 0');

/** Shapes and stochasticity of params read from JSON: a bundle from another model is refused here, not mid-stream. */
export const GaussianHmmParamsSchema = z
  .object({
    states: z.number().int().min(1),
    dims: z.number().int().min(1),
    startProb: z.array(probability),
    transmat: z.array(z.array(probability)),
    means: z.array(z.array(finite)),
    vars: z.array(z.array(finite.refine((v) => v > 0, 'a variance must be > 0'))),
  })
  .superRefine((p, ctx) => {
    const issue = (path: (string | number)[], message: string): void => ctx.addIssue({ code: 'custom', path, message });
    const sumsToOne = (row: number[]): boolean => Math.abs(row.reduce((s, v) => s + v, 0) - 1) <= SUM_TOLERANCE;
    if (p.startProb.length !== p.states) issue(['startProb'], `needs ${p.states} entries (got ${p.startProb.length})`);
    else if (!sumsToOne(p.startProb)) issue(['startProb'], `must sum to 1 within ${SUM_TOLERANCE}`);
    if (p.transmat.length !== p.states) issue(['transmat'], `needs ${p.states} rows (got ${p.transmat.length})`);
    p.transmat.forEach((row, i) => {
      if (row.length !== p.states) issue(['transmat', i], `needs ${p.states} entries (got ${row.length})`);
      else if (!sumsToOne(row)) issue(['transmat', i], `must sum to 1 within ${SUM_TOLERANCE}`);
    });
    for (const key of ['means', 'vars'] as const) {
      if (p[key].length !== p.states) issue([key], `needs ${p.states} rows (got ${p[key].length})`);
      p[key].forEach((row, k) => {
        if (row.length !== p.dims) issue([key, k], `needs ${p.dims} entries (got ${row.length})`);
      });
    }
  });

function checkedParams(params: GaussianHmmParams, who: string): GaussianHmmParams {
  const r = GaussianHmmParamsSchema.safeParse(params);
  if (!r.success) throw new Error(`${who}: invalid Gaussian HMM params: ${r.error.issues.slice(0, 4).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

/**
 * FNV-1a over the bits of every parameter: a snapshot carries it so that filter state is never
 * resumed under other params, whose states could mean other regimes even at the same shape.
 */
function paramsCheck(p: GaussianHmmParams): number {
  const values = Float64Array.from([...p.startProb, ...p.transmat.flat(), ...p.means.flat(), ...p.vars.flat()]);
  const bytes = new Uint8Array(values.buffer);
  let h = 0x811c9dc5;
  for (const byte of bytes) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

/** First slot of a snapshot: "HMMf" as a uint32, so a foreign Float64Array is named as such. */
const SNAPSHOT_TAG = 0x484d4d66;
const HEADER = 5; // tag, states, dims, check, steps

export class HmmFilter {
  readonly states: number;
  readonly dims: number;
  private readonly start: Float64Array;
  private readonly trans: Float64Array;
  private readonly emissions: EmissionTables;
  private readonly check: number;
  private readonly probs: Float64Array;
  private readonly prior: Float64Array;
  private readonly logE: Float64Array;
  private count = 0;

  constructor(params: GaussianHmmParams) {
    const p = checkedParams(params, 'HmmFilter');
    this.states = p.states;
    this.dims = p.dims;
    this.start = Float64Array.from(p.startProb);
    this.trans = Float64Array.from(p.transmat.flat());
    this.emissions = emissionTables(p.states, p.dims, p.means.flat(), p.vars.flat());
    this.check = paramsCheck(p);
    this.probs = Float64Array.from(p.startProb);
    this.prior = new Float64Array(p.states);
    this.logE = new Float64Array(p.states);
  }

  /** Filtered P(s_t | o_1..o_t) after the last step (startProb before any); the reused buffer step returns. */
  get probabilities(): Float64Array {
    return this.probs;
  }

  /** Steps taken since construction or reset, NaN (predict-only) steps included. */
  get steps(): number {
    return this.count;
  }

  reset(): void {
    this.count = 0;
    this.probs.set(this.start);
  }

  /**
   * One row: prior = startProb on the first step, else previous filtered · transmat; then Bayes with
   * the emission densities, in log space with a max shift so an observation far from every mean
   * cannot give 0/0. A row with any NaN is predict-only (features still warming up); a row that no
   * state can explain at all (every log-density −Infinity) keeps the prior too. Returns the internal
   * buffer (copy it to keep a row).
   */
  step(obs: Float64Array | ArrayLike<number>, at = 0): Float64Array {
    if (at < 0 || at + this.dims > obs.length) throw new Error(`HmmFilter.step: needs ${this.dims} values from index ${at}, the observation has ${obs.length}`);
    const K = this.states;
    const prior = this.prior;
    const probs = this.probs;
    if (this.count === 0) prior.set(this.start);
    else {
      for (let j = 0; j < K; j++) {
        let s = 0;
        for (let i = 0; i < K; i++) s += probs[i]! * this.trans[i * K + j]!;
        prior[j] = s;
      }
    }
    this.count++;
    let missing = false;
    for (let d = 0; d < this.dims; d++) if (Number.isNaN(obs[at + d])) missing = true;
    const logE = this.logE;
    let m = -Infinity;
    if (!missing) {
      emissionLogDensities(this.emissions, obs, at, logE);
      for (let k = 0; k < K; k++) {
        logE[k] = Math.log(prior[k]!) + logE[k]!;
        if (logE[k]! > m) m = logE[k]!;
      }
    }
    let total = 0;
    if (m === -Infinity) {
      for (let k = 0; k < K; k++) total += prior[k]!;
      for (let k = 0; k < K; k++) probs[k] = prior[k]! / total;
    } else {
      for (let k = 0; k < K; k++) total += probs[k] = Math.exp(logE[k]! - m);
      for (let k = 0; k < K; k++) probs[k]! /= total;
    }
    return probs;
  }

  /** [tag, states, dims, params check, steps, probabilities…]: restore resumes bit for bit. */
  snapshot(): Float64Array {
    const snap = new Float64Array(HEADER + this.states);
    snap.set([SNAPSHOT_TAG, this.states, this.dims, this.check, this.count]);
    snap.set(this.probs, HEADER);
    return snap;
  }

  static restore(params: GaussianHmmParams, snap: Float64Array): HmmFilter {
    const f = new HmmFilter(params);
    if (snap.length < HEADER || snap[0] !== SNAPSHOT_TAG) throw new Error('HmmFilter.restore: not an HmmFilter snapshot (its tag is missing)');
    const [, states, dims, check, steps] = snap;
    if (states !== f.states || dims !== f.dims || snap.length !== HEADER + f.states) {
      throw new Error(`HmmFilter.restore: the snapshot is of a ${states}-state × ${dims}-dim filter (${snap.length} values), these params are ${f.states} states × ${f.dims} dims`);
    }
    if (check !== f.check) throw new Error(`HmmFilter.restore: the snapshot was taken under other params (check ${check}, these params give ${f.check})`);
    if (!Number.isInteger(steps) || steps! < 0) throw new Error(`HmmFilter.restore: bad step count ${steps}`);
    f.count = steps!;
    f.probs.set(snap.subarray(HEADER));
    return f;
  }
}

/** Filtered probabilities of every row of one sequence (row-major n × dims, NaN rows allowed), n × states. */
export function filterSequence(params: GaussianHmmParams, x: Float64Array, n: number): Float64Array {
  const f = new HmmFilter(params);
  if (!Number.isInteger(n) || n < 0 || x.length !== n * f.dims) throw new Error(`filterSequence: x has ${x.length} values, not n (${n}) × dims (${f.dims})`);
  const out = new Float64Array(n * f.states);
  for (let t = 0; t < n; t++) out.set(f.step(x, t * f.dims), t * f.states);
  return out;
}

/**
 * The state whose filtered probability is the regime score: states − 1, valid because fits return
 * states by ascending variance of dimension 0; params in another order are refused.
 */
export function highVolatilityState(params: GaussianHmmParams): number {
  for (let k = 1; k < params.states; k++) {
    if (params.vars[k]![0]! < params.vars[k - 1]![0]!) throw new Error(`highVolatilityState: params are not in canonical order (vars[${k}][0] = ${params.vars[k]![0]} < vars[${k - 1}][0] = ${params.vars[k - 1]![0]}); use params from fitGaussianHmm`);
  }
  return params.states - 1;
}
