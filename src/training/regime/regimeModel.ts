import { z } from 'zod';
import type { FeatureTable } from '../featureTable.js';
import type { RegimeConfig } from '../train/trainConfig.js';
import { type GaussianHmmParams, GaussianHmmParamsSchema, HmmFilter, fitGaussianHmm, highVolatilityState } from './gaussianHmm.js';

/**
 * The regime of a bundle (`regime.json`): a Gaussian HMM on standardised observation columns of
 * the row (returns, volatility), fitted by Baum–Welch on training rows only, then run forward
 * only. `regime_score` is the filtered probability of the high-volatility state (the state whose
 * first observation column has the largest variance): a function of the rows up to t, so a prefix
 * of a series gets the same scores as the whole, and the live topology keeps the filter's state
 * per symbol in its snapshots.
 */
export const RegimeDocSchema = z
  .object({
    method: z.literal('hmm'),
    columns: z.array(z.string()).min(1),
    mean: z.array(z.number()),
    std: z.array(z.number().positive()),
    hmm: GaussianHmmParamsSchema,
    highState: z.number().int().nonnegative(),
    logLikelihood: z.number(),
    iterations: z.number().int(),
  })
  .strict();
export type RegimeDoc = z.infer<typeof RegimeDocSchema>;

/**
 * Fits on the given table rows: each symbol's rows cut into runs of consecutive rows that are in
 * `rows` with every observation present (a purged fold's hole or a warm-up row ends a run), each
 * run one sequence of the EM.
 */
export function fitRegime(config: RegimeConfig, table: FeatureTable, rows: ArrayLike<number>, seed: number): RegimeDoc {
  const cols = config.features.map((c) => table.column(c));
  const d = cols.length;
  const take = new Uint8Array(table.n);
  for (let i = 0; i < rows.length; i++) take[rows[i]!] = 1;
  const complete = (r: number) => take[r] === 1 && cols.every((c) => !Number.isNaN(c[r]!));
  const mean = new Array<number>(d).fill(0);
  const sq = new Array<number>(d).fill(0);
  let count = 0;
  for (let r = 0; r < table.n; r++) {
    if (!complete(r)) continue;
    count++;
    for (let j = 0; j < d; j++) mean[j]! += cols[j]![r]!;
  }
  if (count < 10 * config.states) throw new Error(`regime: ${count} training rows have every observation (${config.features.join(', ')}); the HMM needs at least ${10 * config.states}`);
  for (let j = 0; j < d; j++) mean[j]! /= count;
  for (let r = 0; r < table.n; r++) if (complete(r)) for (let j = 0; j < d; j++) sq[j]! += (cols[j]![r]! - mean[j]!) ** 2;
  const std = sq.map((s) => (s > 0 ? Math.sqrt(s / Math.max(1, count - 1)) : 1));
  const sequences: { x: Float64Array; n: number }[] = [];
  for (let k = 0; k < table.symbols.length; k++) {
    let run: number[] = [];
    const close = () => {
      if (run.length >= 2) {
        const x = new Float64Array(run.length * d);
        run.forEach((r, i) => {
          for (let j = 0; j < d; j++) x[i * d + j] = (cols[j]![r]! - mean[j]!) / std[j]!;
        });
        sequences.push({ x, n: run.length });
      }
      run = [];
    };
    for (let r = table.symbolStart[k]!; r < table.symbolStart[k + 1]!; r++) {
      if (complete(r)) run.push(r);
      else close();
    }
    close();
  }
  const fit = fitGaussianHmm(sequences, { states: config.states, dims: d, seed, maxIterations: config.maxIterations });
  return { method: 'hmm', columns: [...config.features], mean, std, hmm: fit.params, highState: highVolatilityState(fit.params), logLikelihood: fit.logLikelihood, iterations: fit.iterations };
}

/** One symbol's filter: standardises the row's observation columns and steps the HMM forward. */
export class RegimeFilter {
  private readonly obs: Float64Array;
  private filter: HmmFilter;

  constructor(readonly doc: RegimeDoc) {
    this.obs = new Float64Array(doc.columns.length);
    this.filter = new HmmFilter(doc.hmm);
  }

  /** Steps on a live feature row (`columns`: the observations' indices in it); returns the filtered state probabilities (a reused buffer). */
  stepRow(row: ArrayLike<number>, columns: ArrayLike<number>): Float64Array {
    const { mean, std } = this.doc;
    for (let j = 0; j < this.obs.length; j++) this.obs[j] = (row[columns[j]!]! - mean[j]!) / std[j]!;
    return this.filter.step(this.obs);
  }

  /** The same on row r of a table's observation columns: the same arithmetic, so the same bits. */
  stepColumns(cols: readonly Float64Array[], r: number): Float64Array {
    const { mean, std } = this.doc;
    for (let j = 0; j < this.obs.length; j++) this.obs[j] = (cols[j]![r]! - mean[j]!) / std[j]!;
    return this.filter.step(this.obs);
  }

  snapshot(): Float64Array {
    return this.filter.snapshot();
  }

  static restore(doc: RegimeDoc, snap: Float64Array): RegimeFilter {
    const f = new RegimeFilter(doc);
    f.filter = HmmFilter.restore(doc.hmm, snap);
    return f;
  }
}

/**
 * The filtered state probabilities of every row of a table (n × states), each symbol from its
 * first row: what the live topology computes bar by bar, so the same bits.
 */
export function filterTable(doc: RegimeDoc, table: FeatureTable): Float64Array {
  const cols = doc.columns.map((c) => table.column(c));
  const states = doc.hmm.states;
  const out = new Float64Array(table.n * states);
  for (let k = 0; k < table.symbols.length; k++) {
    const f = new RegimeFilter(doc);
    for (let r = table.symbolStart[k]!; r < table.symbolStart[k + 1]!; r++) out.set(f.stepColumns(cols, r), r * states);
  }
  return out;
}

export function parseRegimeDoc(doc: unknown, where: string): RegimeDoc {
  const parsed = RegimeDocSchema.safeParse(doc);
  if (!parsed.success) throw new Error(`${where}: not a regime model: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

export type { GaussianHmmParams };
