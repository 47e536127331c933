import { alphaOfCoverage, quantileOfSorted, sortScores } from './conformal.js';

/**
 * Adaptive conformal inference (Gibbs & Candès 2021): the miscoverage level α_t moves after each
 * observed outcome, α_{t+1} = α_t + γ(α − err_t), so that under any drift the long-run miss rate
 * tends to α (|mean(err) − α| ≤ (max(α_1, 1 − α_1) + γ)/(γT)) while α_t stays in [−γ, 1 + γ].
 * The width comes from fixed calibration scores at level 1 − α_t (conformalQuantile's rule).
 *
 * Causality: an interval's outcome may update α only once its label has ended. predict() records
 * an interval issued at ts whose label ends at t1; advance(now) observes, in (t1, id) order, every
 * pending interval with t1 ≤ now. A live loop per bar: advance(now, outcome) first, then
 * quantile() for the new intervals, then predict() each of them; a replay that does the same in
 * time order reproduces the live α path exactly. Outcomes with t1 > now are never read.
 *
 * Deterministic and allocation-light: pending intervals live in growable Float64Arrays kept sorted
 * by (t1, id); the state round-trips bit for bit through snapshot() / restore().
 */
export interface AdaptiveConformalOptions {
  coverage: number;
  /** Step size; the paper's default range is 0.001–0.01. */
  gamma?: number;
  /** Calibration scores (NaN ignored), e.g. split conformal's |y − ŷ|. */
  scores: ArrayLike<number>;
  /**
   * quantile() once α_t ≥ 1, where the paper issues the empty set. 0 is a zero-width interval for
   * absolute residuals (the default); signed scores such as CQR's want −Infinity.
   */
  emptyQuantile?: number;
}

const SNAPSHOT_VERSION = 1;
const HEADER = 12;
const FIELDS = 5; // id, ts, t1, lo, hi per pending interval

export class AdaptiveConformal {
  readonly coverage: number;
  readonly gamma: number;
  /** The target miscoverage, MAPIE's decimal 1 − coverage. */
  readonly alpha: number;
  readonly emptyQuantile: number;
  readonly #scores: Float64Array;
  #alphaT: number;
  #observed = 0;
  #missed = 0;
  #dropped = 0;
  #lastNow = -Infinity;
  #head = 0;
  #tail = 0;
  #p = new Float64Array(16 * FIELDS);

  constructor(options: AdaptiveConformalOptions) {
    const gamma = options.gamma ?? 0.005;
    if (!(gamma > 0 && Number.isFinite(gamma))) throw new RangeError(`gamma must be positive, got ${gamma}`);
    this.coverage = options.coverage;
    this.alpha = alphaOfCoverage(options.coverage);
    this.gamma = gamma;
    this.emptyQuantile = options.emptyQuantile ?? 0;
    this.#scores = sortScores(options.scores);
    this.#alphaT = this.alpha;
  }

  /** α_t itself, unclipped (it may leave [0, 1] by at most γ). */
  get alphaT(): number {
    return this.#alphaT;
  }
  get observed(): number {
    return this.#observed;
  }
  get missed(): number {
    return this.#missed;
  }
  /** Pending intervals whose outcome was unavailable when their t1 passed. */
  get dropped(): number {
    return this.#dropped;
  }
  get pendingCount(): number {
    return this.#tail - this.#head;
  }
  get calibrationSize(): number {
    return this.#scores.length;
  }

  /** The current quantile level 1 − α_t, clipped to [0, 1]. */
  level(): number {
    return Math.min(1, Math.max(0, 1 - this.#alphaT));
  }

  /** The calibration-score quantile at level 1 − α_t: +Infinity once α_t ≤ 0, emptyQuantile once α_t ≥ 1. */
  quantile(): number {
    if (this.#alphaT <= 0) return Infinity;
    if (this.#alphaT >= 1) return this.emptyQuantile;
    return quantileOfSorted(this.#scores, 1 - this.#alphaT);
  }

  /** One step of the update, for callers that resolve outcomes themselves (in causal order). */
  observe(miss: boolean): void {
    this.#alphaT += this.gamma * (this.alpha - (miss ? 1 : 0));
    this.#observed++;
    if (miss) this.#missed++;
  }

  /** Records an interval issued at ts for a label that ends at t1 (t1 ≥ ts). */
  predict(id: number, ts: number, t1: number, lo: number, hi: number): void {
    if (!Number.isFinite(id) || !Number.isFinite(ts) || !Number.isFinite(t1)) {
      throw new RangeError(`predict: id, ts and t1 must be finite (${id}, ${ts}, ${t1})`);
    }
    if (t1 < ts) throw new RangeError(`predict: label end ${t1} precedes issue time ${ts}`);
    if (Number.isNaN(lo) || Number.isNaN(hi)) throw new RangeError(`predict: interval [${lo}, ${hi}] has a NaN bound`);
    if ((this.#tail + 1) * FIELDS > this.#p.length) this.#makeRoom();
    const p = this.#p;
    // Labels usually end in issue order, so the insertion point is almost always the tail.
    let at = this.#tail;
    while (at > this.#head) {
      const q = (at - 1) * FIELDS;
      const pt1 = p[q + 2]!;
      if (pt1 < t1 || (pt1 === t1 && p[q]! <= id)) break;
      at--;
    }
    if (at < this.#tail) p.copyWithin((at + 1) * FIELDS, at * FIELDS, this.#tail * FIELDS);
    const o = at * FIELDS;
    p[o] = id;
    p[o + 1] = ts;
    p[o + 2] = t1;
    p[o + 3] = lo;
    p[o + 4] = hi;
    this.#tail++;
  }

  /**
   * Observes every pending interval with t1 ≤ now, in (t1, id) order; outcome(id) gives its label
   * value, or undefined / NaN when it will never be known (the interval is dropped, α untouched).
   * now may not go back in time. Returns how many intervals were observed.
   */
  advance(now: number, outcome: (id: number) => number | undefined): number {
    if (Number.isNaN(now) || now < this.#lastNow) throw new RangeError(`advance: now ${now} goes back from ${this.#lastNow}`);
    this.#lastNow = now;
    const p = this.#p;
    let seen = 0;
    while (this.#head < this.#tail) {
      const o = this.#head * FIELDS;
      if (!(p[o + 2]! <= now)) break;
      const y = outcome(p[o]!);
      this.#head++;
      if (y === undefined || Number.isNaN(y)) {
        this.#dropped++;
        continue;
      }
      this.observe(y < p[o + 3]! || y > p[o + 4]!);
      seen++;
    }
    if (this.#head === this.#tail) this.#head = this.#tail = 0;
    return seen;
  }

  /** The whole state, calibration scores and pending intervals included, as float64s. */
  snapshot(): Float64Array {
    const n = this.#scores.length;
    const m = this.#tail - this.#head;
    const out = new Float64Array(HEADER + n + m * FIELDS);
    out[0] = SNAPSHOT_VERSION;
    out[1] = this.coverage;
    out[2] = this.gamma;
    out[3] = this.alpha;
    out[4] = this.emptyQuantile;
    out[5] = this.#alphaT;
    out[6] = this.#observed;
    out[7] = this.#missed;
    out[8] = this.#dropped;
    out[9] = this.#lastNow;
    out[10] = n;
    out[11] = m;
    out.set(this.#scores, HEADER);
    out.set(this.#p.subarray(this.#head * FIELDS, this.#tail * FIELDS), HEADER + n);
    return out;
  }

  static restore(snapshot: Float64Array): AdaptiveConformal {
    if (snapshot[0] !== SNAPSHOT_VERSION) throw new Error(`AdaptiveConformal snapshot version ${snapshot[0]} is not ${SNAPSHOT_VERSION}`);
    const n = snapshot[10]!;
    const m = snapshot[11]!;
    if (!Number.isInteger(n) || !Number.isInteger(m) || snapshot.length !== HEADER + n + m * FIELDS) {
      throw new Error('AdaptiveConformal snapshot: truncated or malformed');
    }
    const aci = new AdaptiveConformal({
      coverage: snapshot[1]!,
      gamma: snapshot[2]!,
      emptyQuantile: snapshot[4]!,
      scores: snapshot.subarray(HEADER, HEADER + n),
    });
    if (!Object.is(aci.alpha, snapshot[3])) throw new Error('AdaptiveConformal snapshot: alpha does not match its coverage');
    aci.#alphaT = snapshot[5]!;
    aci.#observed = snapshot[6]!;
    aci.#missed = snapshot[7]!;
    aci.#dropped = snapshot[8]!;
    aci.#lastNow = snapshot[9]!;
    aci.#p = new Float64Array(Math.max(16, m * 2) * FIELDS);
    aci.#p.set(snapshot.subarray(HEADER + n));
    aci.#tail = m;
    return aci;
  }

  #makeRoom(): void {
    const live = this.#tail - this.#head;
    // Reclaim the consumed head first; grow only when the live part fills half the buffer.
    if (live * 2 * FIELDS > this.#p.length) {
      const grown = new Float64Array(this.#p.length * 2);
      grown.set(this.#p.subarray(this.#head * FIELDS, this.#tail * FIELDS));
      this.#p = grown;
    } else {
      this.#p.copyWithin(0, this.#head * FIELDS, this.#tail * FIELDS);
    }
    this.#head = 0;
    this.#tail = live;
  }
}
