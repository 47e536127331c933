import { sigmoid } from './logistic/logisticRegression.js';

/**
 * Probability calibration, fitted on validation rows only (never on training or test rows):
 * temperature scaling (Guo et al. 2017: p' = σ(logit(p) / T), one parameter, keeps the ranking)
 * and isotonic regression (pool-adjacent-violators, a monotone step function interpolated
 * linearly between its knots and clipped outside them, as scikit-learn's IsotonicRegression with
 * out_of_bounds='clip'). Both are plain data in the bundle.
 */
export type Calibrator =
  | { kind: 'none' }
  | { kind: 'temperature'; temperature: number }
  | { kind: 'isotonic'; x: number[]; y: number[] }
  /**
   * Double calibration: isotonic first (fixes the shape of the reliability curve), then a
   * temperature on its output, both on the same calibration rows. Isotonic alone leaves flat steps
   * at 0 and 1 on a small slice; the temperature pulls those back from certainty.
   */
  | { kind: 'isotonic_temperature'; x: number[]; y: number[]; temperature: number };

const EPS = 1e-12;

function logit(p: number): number {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q / (1 - q));
}

function nll(p: ArrayLike<number>, y: ArrayLike<number>, t: number): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const q = Math.min(1 - EPS, Math.max(EPS, sigmoid(logit(p[i]!) / t)));
    s -= y[i]! > 0.5 ? Math.log(q) : Math.log(1 - q);
  }
  return s;
}

/** The temperature minimising the validation log loss: golden-section search on log T in [−4, 4]. */
export function fitTemperature(p: ArrayLike<number>, y: ArrayLike<number>): Calibrator {
  if (p.length === 0) throw new Error('temperature scaling needs validation rows');
  const g = (Math.sqrt(5) - 1) / 2;
  let a = -4;
  let b = 4;
  let c = b - g * (b - a);
  let d = a + g * (b - a);
  let fc = nll(p, y, Math.exp(c));
  let fd = nll(p, y, Math.exp(d));
  for (let i = 0; i < 80; i++) {
    if (fc <= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = nll(p, y, Math.exp(c));
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = nll(p, y, Math.exp(d));
    }
  }
  return { kind: 'temperature', temperature: Math.exp((a + b) / 2) };
}

/** Isotonic (increasing) regression of y on p by pool-adjacent-violators, ties in p averaged first. */
export function fitIsotonic(p: ArrayLike<number>, y: ArrayLike<number>): Calibrator {
  if (p.length === 0) throw new Error('isotonic calibration needs validation rows');
  const order = Array.from({ length: p.length }, (_, i) => i).sort((i, j) => p[i]! - p[j]! || i - j);
  // Unique x with the mean y and the count of each.
  const xs: number[] = [];
  const sums: number[] = [];
  const counts: number[] = [];
  for (const i of order) {
    if (xs.length > 0 && xs[xs.length - 1] === p[i]) {
      sums[sums.length - 1]! += y[i]!;
      counts[counts.length - 1]! += 1;
    } else {
      xs.push(p[i]!);
      sums.push(y[i]!);
      counts.push(1);
    }
  }
  // Blocks: [first x index, last x index, sum, count]; merge while a block's mean is below its predecessor's.
  const blocks: [number, number, number, number][] = [];
  for (let k = 0; k < xs.length; k++) {
    blocks.push([k, k, sums[k]!, counts[k]!]);
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1]!;
      const a = blocks[blocks.length - 2]!;
      if (a[2] / a[3] <= b[2] / b[3]) break;
      blocks.splice(blocks.length - 2, 2, [a[0], b[1], a[2] + b[2], a[3] + b[3]]);
    }
  }
  const kx: number[] = [];
  const ky: number[] = [];
  for (const [s, e, sum, count] of blocks) {
    const v = sum / count;
    kx.push(xs[s]!);
    ky.push(v);
    if (e > s) {
      kx.push(xs[e]!);
      ky.push(v);
    }
  }
  return { kind: 'isotonic', x: kx, y: ky };
}

export function calibrate(c: Calibrator, p: number): number {
  if (Number.isNaN(p)) return p;
  switch (c.kind) {
    case 'none':
      return p;
    case 'temperature':
      return sigmoid(logit(p) / c.temperature);
    case 'isotonic_temperature':
      return sigmoid(logit(isotonicAt(c.x, c.y, p)) / c.temperature);
    case 'isotonic':
      return isotonicAt(c.x, c.y, p);
  }
}

/** The isotonic step function at p: linear between knots, clipped outside them. */
function isotonicAt(x: readonly number[], y: readonly number[], p: number): number {
  if (p <= x[0]!) return y[0]!;
  if (p >= x[x.length - 1]!) return y[y.length - 1]!;
  let lo = 0;
  let hi = x.length - 1;
  while (hi - lo > 1) {
    const m = (lo + hi) >> 1;
    if (x[m]! <= p) lo = m;
    else hi = m;
  }
  const w = (p - x[lo]!) / (x[hi]! - x[lo]!);
  return y[lo]! + w * (y[hi]! - y[lo]!);
}

export function fitCalibrator(kind: Calibrator['kind'], p: ArrayLike<number>, y: ArrayLike<number>): Calibrator {
  if (kind === 'temperature') return fitTemperature(p, y);
  if (kind === 'isotonic') return fitIsotonic(p, y);
  if (kind === 'isotonic_temperature') {
    const iso = fitIsotonic(p, y) as { kind: 'isotonic'; x: number[]; y: number[] };
    const stepped = Float64Array.from({ length: p.length }, (_, i) => isotonicAt(iso.x, iso.y, p[i]!));
    const t = fitTemperature(stepped, y) as { kind: 'temperature'; temperature: number };
    return { kind: 'isotonic_temperature', x: iso.x, y: iso.y, temperature: t.temperature };
  }
  return { kind: 'none' };
}
