/**
 * Conformal prediction intervals as pure functions of stored numbers: split conformal (absolute
 * residuals), conformalized quantile regression (Romano et al. 2019) and CV+ / jackknife+
 * (Barber et al. 2021). The rules are those of MAPIE 1.6.0, checked bit for bit against it by
 * tests/fixtures/conformal/make_mapie_fixture.py:
 *
 * - alpha = 1 − coverage is taken in decimal (MAPIE: float(Decimal(1) − Decimal(str(c)))), so
 *   coverage 0.9 gives alpha 0.1 exactly and the level is the float 1 − alpha;
 * - the quantile of n non-NaN scores at level L is np.nanquantile(s, ⌈L(n+1)⌉/n,
 *   method='lower'), which is the ⌈L(n+1)⌉-th smallest score (earlier MAPIE used 'higher', one
 *   rank more conservative); a rank above n means the calibration set is too small for the level:
 *   MAPIE raises unless allow_infinite_bounds, where the bound is infinite. Here it is always
 *   +Infinity (an interval that covers everything), never an error, so a live path keeps running;
 * - a rank below 1 (coverage 0) is −Infinity: the empty set, which MAPIE rejects as an input.
 */

/** MAPIE's alpha for a coverage: 1 − coverage in decimal, rounded once, so 0.9 → 0.1 exactly. */
export function alphaOfCoverage(coverage: number): number {
  if (!(coverage >= 0 && coverage <= 1)) throw new RangeError(`coverage must be in [0, 1], got ${coverage}`);
  // String() and Python's str() both print the shortest round-trip digits, so this is the same
  // decimal MAPIE starts from.
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(coverage));
  if (m === null) throw new RangeError(`coverage ${coverage} has no decimal form`);
  const frac = m[2] ?? '';
  let digits = BigInt((m[1] ?? '0') + frac);
  let scale = frac.length - (m[3] === undefined ? 0 : Number(m[3]));
  if (scale < 0) {
    digits *= 10n ** BigInt(-scale);
    scale = 0;
  }
  const text = (10n ** BigInt(scale) - digits).toString().padStart(scale + 1, '0');
  return Number(scale === 0 ? text : `${text.slice(0, -scale)}.${text.slice(-scale)}`);
}

/** The 1-based rank of the conformal quantile at level L among n scores: ⌈L(n+1)⌉. */
export function conformalRank(n: number, level: number): number {
  return Math.ceil(level * (n + 1));
}

/** The non-NaN scores, ascending: the one-off cost behind O(1) quantiles at any level. */
export function sortScores(scores: ArrayLike<number>): Float64Array {
  let n = 0;
  for (let i = 0; i < scores.length; i++) if (!Number.isNaN(scores[i]!)) n++;
  const out = new Float64Array(n);
  let j = 0;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i]!;
    if (!Number.isNaN(v)) out[j++] = v;
  }
  return out.sort();
}

/** The rank-th smallest (1-based) of ascending scores; +Infinity past the end, −Infinity before it. */
export function orderStatistic(sorted: ArrayLike<number>, rank: number): number {
  const n = sorted.length;
  if (rank > n) return Infinity;
  if (rank < 1) return -Infinity;
  // numpy's 'lower' index, floor((n − 1)·(rank / n)); it is rank − 1 for any n below 2^40, but
  // written as numpy computes it so that agreement does not rest on that argument.
  return sorted[Math.floor((n - 1) * (rank / n))]!;
}

/** The conformal quantile of ascending scores at level L (MAPIE's rule; see the file comment). */
export function quantileOfSorted(sorted: ArrayLike<number>, level: number): number {
  return orderStatistic(sorted, conformalRank(sorted.length, level));
}

/**
 * The finite-sample conformal quantile: the ⌈(n+1)·coverage⌉-th smallest of the n non-NaN scores,
 * +Infinity when that rank exceeds n (too few rows for the coverage), −Infinity at coverage 0.
 */
export function conformalQuantile(scores: ArrayLike<number>, coverage: number): number {
  return quantileOfSorted(sortScores(scores), 1 - alphaOfCoverage(coverage));
}

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: lengths differ (${a.length} vs ${b.length})`);
}

/**
 * Split conformal with the absolute-residual score |y − ŷ| on calibration rows that the model
 * never trained on; n counts the rows with a non-NaN score.
 */
export function splitConformal(
  pred: ArrayLike<number>,
  y: ArrayLike<number>,
  coverage: number,
): { halfWidth: number; n: number } {
  checkSameLength(pred, y, 'splitConformal');
  const scores = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) scores[i] = Math.abs(y[i]! - pred[i]!);
  const sorted = sortScores(scores);
  return { halfWidth: quantileOfSorted(sorted, 1 - alphaOfCoverage(coverage)), n: sorted.length };
}

/** [ŷ − q, ŷ + q], formed as MAPIE does (ŷ + (−q) equals ŷ − q in IEEE arithmetic). */
export function splitInterval(pred: number, halfWidth: number): [number, number] {
  return [pred - halfWidth, pred + halfWidth];
}

/**
 * CQR with one shift for both sides (MAPIE's symmetric_correction=True): the score is
 * max(lower − y, y − upper) and the interval [lower − shift, upper + shift]. A negative shift
 * narrows quantile bands that over-cover.
 */
export function cqrShift(
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
  y: ArrayLike<number>,
  coverage: number,
): { shift: number; n: number } {
  checkSameLength(lower, y, 'cqrShift');
  checkSameLength(upper, y, 'cqrShift');
  const scores = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) scores[i] = Math.max(lower[i]! - y[i]!, y[i]! - upper[i]!);
  const sorted = sortScores(scores);
  return { shift: quantileOfSorted(sorted, 1 - alphaOfCoverage(coverage)), n: sorted.length };
}

/**
 * CQR with one shift per side (MAPIE's default, symmetric_correction=False): each side gets the
 * quantile of its own signed score at level 1 − alpha/2, so each side misses at most alpha/2.
 * Interval [lower − lowerShift, upper + upperShift].
 */
export function cqrShifts(
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
  y: ArrayLike<number>,
  coverage: number,
): { lowerShift: number; upperShift: number; n: number } {
  checkSameLength(lower, y, 'cqrShifts');
  checkSameLength(upper, y, 'cqrShifts');
  const lo = new Float64Array(y.length);
  const up = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) {
    lo[i] = lower[i]! - y[i]!;
    up[i] = y[i]! - upper[i]!;
  }
  const level = 1 - alphaOfCoverage(coverage) / 2;
  const sl = sortScores(lo);
  const su = sortScores(up);
  return { lowerShift: quantileOfSorted(sl, level), upperShift: quantileOfSorted(su, level), n: Math.min(sl.length, su.length) };
}

/** The bundle form of a CrossConformal: plain arrays, sorted residuals per fold. */
export interface CrossConformalJson {
  format: 'cv-plus/1';
  coverage: number;
  k: number;
  residualsByFold: number[][];
}

/**
 * CV+ (jackknife+ when every fold is one row; MAPIE method='plus'). Each training row i has an
 * out-of-fold residual R_i from the model μ_{−k(i)} that did not see it; for a new x,
 *   lo = the ⌈((1 − 2α) + α)(n+1)⌉-th largest of { μ_{−k(i)}(x) − R_i } (MAPIE's reversed
 *      quantile; the ⌊α(n+1)⌋-th smallest up to the rounding of that float expression),
 *   hi = the ⌈(1 − α)(n+1)⌉-th smallest of { μ_{−k(i)}(x) + R_i },
 * −Infinity / +Infinity when the rank falls outside 1..n. μ_{−k(i)}(x) takes only k values, so
 * the n candidates are k sorted lists shifted by a constant each: a selection over k sorted
 * lists finds the order statistic in O(k² log² n) without building the n values, and returns one
 * of the candidates exactly (the same float sum a brute-force sort would hold).
 * Not reentrant: one instance keeps its scratch buffers between calls.
 */
export class CrossConformal {
  readonly k: number;
  readonly n: number;
  readonly coverage: number;
  readonly alpha: number;
  readonly #sorted: Float64Array[];
  readonly #rankLow: number;
  readonly #rankUp: number;
  readonly #shift: Float64Array;
  readonly #lo: Int32Array;
  readonly #hi: Int32Array;
  readonly #lt: Int32Array;
  readonly #le: Int32Array;

  constructor(residuals: ArrayLike<number>, folds: ArrayLike<number>, k: number, coverage: number) {
    checkSameLength(residuals, folds, 'CrossConformal');
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
    const counts = new Int32Array(k);
    for (let i = 0; i < folds.length; i++) {
      const f = folds[i]!;
      if (!Number.isInteger(f) || f < 0 || f >= k) throw new RangeError(`fold ${f} of row ${i} is outside 0..${k - 1}`);
      const r = residuals[i]!;
      // A non-finite residual could not survive the JSON bundle; NaN is MAPIE's "no score" and is dropped.
      if (r === Infinity || r === -Infinity) throw new RangeError(`residual of row ${i} is not finite`);
      if (!Number.isNaN(r)) counts[f]!++;
    }
    this.#sorted = Array.from(counts, (c) => new Float64Array(c));
    counts.fill(0);
    for (let i = 0; i < folds.length; i++) {
      const r = residuals[i]!;
      if (Number.isNaN(r)) continue;
      const f = folds[i]!;
      this.#sorted[f]![counts[f]!++] = r;
    }
    let n = 0;
    for (const s of this.#sorted) {
      s.sort();
      n += s.length;
    }
    this.k = k;
    this.n = n;
    this.coverage = coverage;
    this.alpha = alphaOfCoverage(coverage);
    const a = this.alpha;
    // MAPIE's exact float expressions: the lower bound is its reversed quantile at (1 − 2α) + α.
    this.#rankLow = conformalRank(n, 1 - 2 * a + a);
    this.#rankUp = conformalRank(n, 1 - a);
    this.#shift = new Float64Array(k);
    this.#lo = new Int32Array(k);
    this.#hi = new Int32Array(k);
    this.#lt = new Int32Array(k);
    this.#le = new Int32Array(k);
  }

  /**
   * Writes [lo, hi] to out[at], out[at + 1]. foldPredictions[j] is fold j's model at the new x.
   * A NaN prediction of a non-empty fold gives [NaN, NaN] rather than an interval over fewer rows.
   */
  interval(foldPredictions: ArrayLike<number>, out: Float64Array, at = 0): void {
    if (foldPredictions.length !== this.k) {
      throw new RangeError(`expected ${this.k} fold predictions, got ${foldPredictions.length}`);
    }
    for (let j = 0; j < this.k; j++) {
      if (Number.isNaN(foldPredictions[j]!) && this.#sorted[j]!.length > 0) {
        out[at] = NaN;
        out[at + 1] = NaN;
        return;
      }
    }
    for (let j = 0; j < this.k; j++) this.#shift[j] = foldPredictions[j]!;
    // lo is the rank-th largest of μ − R, i.e. minus the rank-th smallest of −(μ − R); negating the
    // difference itself (not forming R − μ) keeps even the sign of a zero identical to MAPIE's.
    out[at] = this.#rankLow > this.n ? -Infinity : -this.#select(this.#rankLow, true);
    out[at + 1] = this.#rankUp > this.n ? Infinity : this.#select(this.#rankUp, false);
  }

  /**
   * The rank-th smallest (1 ≤ rank ≤ n) over all j, i of v(j, i) = shift[j] + sorted[j][i], or
   * with neg of v(j, i) = −(shift[j] − sorted[j][i]); either way v is nondecreasing in i, as float
   * rounding is monotone.
   */
  #select(rank: number, neg: boolean): number {
    const lists = this.#sorted;
    const shift = this.#shift;
    const lo = this.#lo;
    const hi = this.#hi;
    const lt = this.#lt;
    const le = this.#le;
    const k = this.k;
    for (let j = 0; j < k; j++) {
      lo[j] = 0;
      hi[j] = lists[j]!.length;
    }
    // Invariant: the answer lies in the active ranges [lo, hi); everything before lo[j] is below it,
    // everything from hi[j] on is above it, and `below` counts the former.
    let below = 0;
    for (;;) {
      let best = 0;
      let bestLen = -1;
      for (let j = 0; j < k; j++) {
        const len = hi[j]! - lo[j]!;
        if (len > bestLen) {
          best = j;
          bestLen = len;
        }
      }
      // The middle of the widest range as pivot: whichever side is cut, that range at least halves,
      // so there are at most k·log2(n) rounds.
      const r = lists[best]![lo[best]! + (bestLen >> 1)]!;
      const pivot = neg ? -(shift[best]! - r) : shift[best]! + r;
      let less = below;
      let lessEq = below;
      for (let j = 0; j < k; j++) {
        const list = lists[j]!;
        const c = shift[j]!;
        let a = lo[j]!;
        let b = hi[j]!;
        while (a < b) {
          const m = (a + b) >>> 1;
          if ((neg ? -(c - list[m]!) : c + list[m]!) < pivot) a = m + 1;
          else b = m;
        }
        lt[j] = a;
        b = hi[j]!;
        while (a < b) {
          const m = (a + b) >>> 1;
          if ((neg ? -(c - list[m]!) : c + list[m]!) <= pivot) a = m + 1;
          else b = m;
        }
        le[j] = a;
        less += lt[j]! - lo[j]!;
        lessEq += a - lo[j]!;
      }
      if (rank <= less) {
        for (let j = 0; j < k; j++) hi[j] = lt[j]!;
      } else if (rank > lessEq) {
        for (let j = 0; j < k; j++) {
          below += le[j]! - lo[j]!;
          lo[j] = le[j]!;
        }
      } else {
        return pivot;
      }
    }
  }

  toJson(): CrossConformalJson {
    return { format: 'cv-plus/1', coverage: this.coverage, k: this.k, residualsByFold: this.#sorted.map((s) => Array.from(s)) };
  }

  static fromJson(json: CrossConformalJson): CrossConformal {
    if (json.format !== 'cv-plus/1') throw new Error(`unknown CrossConformal format ${String(json.format)}`);
    if (!Array.isArray(json.residualsByFold) || json.residualsByFold.length !== json.k) {
      throw new Error(`CrossConformal bundle: ${json.k} folds expected`);
    }
    const residuals: number[] = [];
    const folds: number[] = [];
    json.residualsByFold.forEach((list, f) => {
      for (const r of list) {
        if (typeof r !== 'number') throw new Error(`CrossConformal bundle: fold ${f} holds a non-number`);
        residuals.push(r);
        folds.push(f);
      }
    });
    return new CrossConformal(residuals, folds, json.k, json.coverage);
  }
}
