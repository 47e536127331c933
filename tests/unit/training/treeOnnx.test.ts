import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { TreeArrays, TreeEnsemble } from '../../../src/training/models/trees/treeEnsemble.js';
import { float32AtOrAbove, float32AtOrBelow, treeEnsembleToOnnx } from '../../../src/training/models/trees/treeOnnx.js';
import { mulberry32 as rng } from '../../helpers/random.js';

// The tree-ensemble ONNX writer on hand-built ensembles, run by onnxruntime-node, against a
// float64 TypeScript walker of the same ensemble (the ensemble's meaning, written independently).

const FLT_MAX = 3.4028234663852886e38;
const U = 2 ** -24; // float32 unit roundoff

const bits = (v: number): number => new Uint32Array(Float32Array.of(v).buffer)[0]!;
/** The float32 right above / below a float32 (by its bit pattern, an independent route from the code's). */
function nextUp(v: number): number {
  if (v === 0) return 2 ** -149;
  const b = new Uint32Array(1);
  b[0] = bits(v) + (v > 0 ? 1 : -1);
  return new Float32Array(b.buffer)[0]!;
}
const nextDown = (v: number): number => -nextUp(-v);

describe('float32AtOrBelow / float32AtOrAbove: x <= t ⟺ x <= t↓ and x < t ⟺ x < t↑ for every float32 x', () => {
  const cases: Array<[string, number, number, number]> = [
    // [what, t, largest float32 ≤ t, smallest float32 ≥ t]
    ['a float32 already', 1.5, 1.5, 1.5],
    ['0.1f exactly', Math.fround(0.1), Math.fround(0.1), Math.fround(0.1)],
    ['0.1 (between two float32s, rounds up)', 0.1, nextDown(Math.fround(0.1)), Math.fround(0.1)],
    ['-0.1 (rounds down)', -0.1, Math.fround(-0.1), nextUp(Math.fround(-0.1))],
    ['1 + 2^-30 (rounds down to 1)', 1 + 2 ** -30, 1, nextUp(1)],
    ['zero', 0, 0, 0],
    ['tiny positive', 1e-50, 0, 2 ** -149],
    ['tiny negative', -1e-50, -(2 ** -149), -0],
    ['subnormal 1.5·2^-149', 1.5 * 2 ** -149, 2 ** -149, 2 ** -148],
    ['FLT_MAX', FLT_MAX, FLT_MAX, FLT_MAX],
    ['huge (1e300)', 1e300, FLT_MAX, Infinity],
    ['huge negative (-1e300)', -1e300, -Infinity, -FLT_MAX],
    ['just above FLT_MAX (rounds to FLT_MAX)', FLT_MAX * (1 + 2 ** -30), FLT_MAX, Infinity],
    ['+Infinity', Infinity, Infinity, Infinity],
    ['-Infinity', -Infinity, -Infinity, -Infinity],
  ];
  for (const [what, t, down, up] of cases) {
    it(what, () => {
      expect(float32AtOrBelow(t)).toBe(down);
      expect(float32AtOrAbove(t)).toBe(up);
    });
  }

  it('random doubles: the result is a float32 on the right side of t and its neighbour is not', () => {
    const r = rng(3);
    const wrong: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const t = (r() - 0.5) * 10 ** Math.floor(r() * 80 - 40);
      const d = float32AtOrBelow(t);
      const u = float32AtOrAbove(t);
      const ok =
        Math.fround(d) === d &&
        Math.fround(u) === u &&
        d <= t &&
        nextUp(d) > t &&
        u >= t &&
        nextDown(u) < t &&
        [d, nextUp(d), nextDown(d)].every((x) => x <= t === x <= d) &&
        [u, nextUp(u), nextDown(u)].every((x) => x < t === x < u);
      if (!ok) wrong.push(t);
    }
    expect(wrong).toEqual([]);
  });

  it('refuses NaN', () => {
    expect(() => float32AtOrBelow(Number.NaN)).toThrow(/NaN/);
    expect(() => float32AtOrAbove(Number.NaN)).toThrow(/NaN/);
  });
});

/** Node i: a split [feature, threshold, left, right, missingLeft] or a leaf value. */
type Spec = Array<[number, number, number, number, 0 | 1] | number>;
function tree(spec: Spec): TreeArrays {
  const n = spec.length;
  const t: TreeArrays = {
    left: new Int32Array(n).fill(-1),
    right: new Int32Array(n).fill(-1),
    feature: new Int32Array(n),
    threshold: new Float64Array(n),
    missingLeft: new Uint8Array(n),
    leafValue: new Float64Array(n),
  };
  spec.forEach((s, i) => {
    if (typeof s === 'number') t.leafValue[i] = s;
    else [t.feature[i], t.threshold[i], t.left[i], t.right[i], t.missingLeft[i]] = s;
  });
  return t;
}

/** The ensemble's meaning in float64: walk each tree (x widened to double), sum per target from base, then post. */
function walk(e: TreeEnsemble, x: Float32Array, n: number): { out: Float64Array; scale: Float64Array; depth: Int32Array } {
  const T = e.numTargets;
  const margin = new Float64Array(n * T);
  const scale = new Float64Array(n * T); // |base| + Σ|leaf|: what the float32 rounding errors scale with
  const depth = new Int32Array(T); // trees per target
  for (const { target } of e.trees) depth[target]! += 1;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < T; k++) {
      margin[i * T + k] = e.base[k]!;
      scale[i * T + k] = Math.abs(e.base[k]!);
    }
    for (const { target, nodes: t } of e.trees) {
      let id = 0;
      while (t.left[id] !== -1) {
        const v = x[i * e.numFeatures + t.feature[id]!]!;
        const goLeft = Number.isNaN(v) ? t.missingLeft[id] === 1 : e.rule === 'lt' ? v < t.threshold[id]! : v <= t.threshold[id]!;
        id = goLeft ? t.left[id]! : t.right[id]!;
      }
      margin[i * T + target]! += t.leafValue[id]!;
      scale[i * T + target]! += Math.abs(t.leafValue[id]!);
    }
  }
  const out = Float64Array.from(margin);
  for (let i = 0; i < n; i++) {
    const row = out.subarray(i * T, (i + 1) * T);
    if (e.post === 'sigmoid') row[0] = 1 / (1 + Math.exp(-row[0]!));
    if (e.post === 'softmax') {
      const m = Math.max(...row);
      const ex = Array.from(row, (v) => Math.exp(v - m));
      const s = ex.reduce((a, b) => a + b, 0);
      ex.forEach((v, k) => (row[k] = v / s));
    }
  }
  return { out, scale, depth };
}

async function runOnnx(bytes: Uint8Array, x: Float32Array, n: number, f: number, t: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    expect(session.inputNames).toEqual(['x']);
    expect(session.outputNames).toEqual(['y']);
    const y = (await session.run({ x: new ort.Tensor('float32', x, [n, f]) })).y!;
    expect(y.dims).toEqual([n, t]);
    return y.data as Float32Array;
  } finally {
    await session.release();
  }
}

/**
 * ONNX within the float32 error bound of the float64 walk. onnxruntime adds a row's m leaves of a
 * target in float32, then the base (measured below): m + 1 roundings of a partial sum whose size
 * is at most S = |base| + Σ|leaf|, plus each leaf rounded to float32 (≤ u·|leaf|), so
 * |Δmargin| ≤ (m + 2)·u·S. Sigmoid and softmax shrink a margin error (their ∞-norm Lipschitz
 * constants are 1/4 and 1/2), and evaluating them in float32 adds a few ulps of a value ≤ 1:
 * 8·u covers it.
 */
async function expectMatchesWalker(e: TreeEnsemble, x: Float32Array, n: number): Promise<void> {
  const onnx = await runOnnx(treeEnsembleToOnnx(e, {}), x, n, e.numFeatures, e.numTargets);
  const { out, scale, depth } = walk(e, x, n);
  for (let i = 0; i < n * e.numTargets; i++) {
    const k = i % e.numTargets;
    const tol = (depth[k]! + 2) * U * scale[i]! + (e.post === 'none' ? 0 : 8 * U);
    expect(Math.abs(onnx[i]! - out[i]!), `row ${Math.floor(i / e.numTargets)} target ${k}: ONNX ${onnx[i]} vs walker ${out[i]}`).toBeLessThanOrEqual(tol);
  }
}

const stump = (feature: number, threshold: number, lo: number, hi: number, missingLeft: 0 | 1): TreeArrays =>
  tree([[feature, threshold, 1, 2, missingLeft], lo, hi]);

describe('treeEnsembleToOnnx against the walker', () => {
  it("rule 'lt' sends x == threshold right, 'le' sends it left; NaN follows missingLeft", async () => {
    for (const rule of ['lt', 'le'] as const) {
      const e: TreeEnsemble = {
        numFeatures: 2,
        numTargets: 1,
        rule,
        trees: [{ target: 0, nodes: stump(0, 0.5, 1, 2, 1) }, { target: 0, nodes: stump(1, -0.25, 10, 20, 0) }],
        base: Float64Array.of(0),
        post: 'none',
      };
      const x = Float32Array.of(0.5, -0.25, 0.25, -1, 0.75, 0, Number.NaN, Number.NaN);
      const y = await runOnnx(treeEnsembleToOnnx(e, {}), x, 4, 2, 1);
      // At the thresholds: 'lt' → right (2 + 20), 'le' → left (1 + 10); NaN → left (1) and right (20).
      expect(Array.from(y)).toEqual([rule === 'lt' ? 22 : 11, 11, 22, 21]);
      await expectMatchesWalker(e, x, 4);
    }
  });

  it("float64 thresholds between two float32s take the walker's branch for the float32s around them (both rules)", async () => {
    const thresholds = [0.1, -0.1, 1 + 2 ** -30, 1e-40, -3.3333333333333335, 123456.789, 1e300, -1e300];
    const inputs: number[] = [];
    for (const t of thresholds) {
      const r = Math.fround(t);
      inputs.push(r, nextUp(r), nextDown(r), nextUp(nextUp(r)), nextDown(nextDown(r)));
    }
    const x = Float32Array.from(inputs.map((v) => (Number.isFinite(v) ? v : 0)));
    for (const rule of ['lt', 'le'] as const) {
      for (const t of thresholds) {
        const e: TreeEnsemble = { numFeatures: 1, numTargets: 1, rule, trees: [{ target: 0, nodes: stump(0, t, 1, 2, 0) }], base: Float64Array.of(0), post: 'none' };
        const y = await runOnnx(treeEnsembleToOnnx(e, {}), x, x.length, 1, 1);
        const expected = Array.from(x, (v) => ((rule === 'lt' ? v < t : v <= t) ? 1 : 2));
        expect(Array.from(y), `${rule} ${t}`).toEqual(expected);
      }
    }
  });

  it('sigmoid, softmax over three targets, and several targets without a transform, with NaN rows (random ensembles)', async () => {
    const r = rng(7);
    const F = 4;
    const randomTree = (depth: number): TreeArrays => {
      const spec: Spec = [];
      const grow = (d: number): number => {
        const id = spec.length;
        spec.push(0);
        if (d === depth || r() < 0.15) spec[id] = (r() - 0.5) * 0.6;
        else {
          const f = Math.floor(r() * F);
          const t = (r() - 0.5) * 2;
          const miss = r() < 0.5 ? 1 : 0;
          const left = grow(d + 1);
          const right = grow(d + 1);
          spec[id] = [f, t, left, right, miss];
        }
        return id;
      };
      grow(0);
      return tree(spec);
    };
    const n = 500;
    const x = new Float32Array(n * F);
    for (let i = 0; i < x.length; i++) x[i] = r() < 0.1 ? Number.NaN : (r() - 0.5) * 2.2;
    const configs: Array<Pick<TreeEnsemble, 'numTargets' | 'post' | 'rule'>> = [
      { numTargets: 1, post: 'sigmoid', rule: 'lt' },
      { numTargets: 3, post: 'softmax', rule: 'lt' },
      { numTargets: 3, post: 'softmax', rule: 'le' },
      { numTargets: 5, post: 'none', rule: 'le' },
    ];
    for (const c of configs) {
      const trees = Array.from({ length: 40 * c.numTargets }, (_, i) => ({ target: i % c.numTargets, nodes: randomTree(4) }));
      const base = Float64Array.from({ length: c.numTargets }, () => r() - 0.5);
      await expectMatchesWalker({ numFeatures: F, ...c, trees, base }, x, n);
    }
  });

  it('onnxruntime adds the leaves in float32, the base last (what the tolerance above assumes)', async () => {
    const leaf = (v: number): TreeArrays => tree([v]);
    const tiny = 2 ** -30; // lost when added to 1 in float32 (ulp(1) = 2^-23), kept in float64
    const run = async (base: number, first: number): Promise<number> => {
      const trees = [{ target: 0, nodes: leaf(first) }, ...Array.from({ length: 1000 }, () => ({ target: 0, nodes: leaf(tiny) }))];
      const e: TreeEnsemble = { numFeatures: 1, numTargets: 1, rule: 'lt', trees, base: Float64Array.of(base), post: 'none' };
      return (await runOnnx(treeEnsembleToOnnx(e, {}), Float32Array.of(0), 1, 1, 1))[0]!;
    };
    // 1 first, then the tiny leaves: each is lost (float32); a double accumulator would keep them.
    expect(await run(0, 1)).toBe(1);
    // The tiny leaves first (they add up), the base 1 last: 1 + 1001·2^-30 rounded once.
    expect(await run(1, tiny)).toBe(Math.fround(1 + 1001 * tiny));
  });

  it('writes the same bytes for the same ensemble and metadata; metadata travels in the file', () => {
    const e = (): TreeEnsemble => ({ numFeatures: 2, numTargets: 2, rule: 'le', trees: [{ target: 1, nodes: stump(1, 0.3, -1, 1, 1) }], base: Float64Array.of(0.1, 0.2), post: 'softmax' });
    const a = treeEnsembleToOnnx(e(), { b: '2', a: '1' });
    const b = treeEnsembleToOnnx(e(), { a: '1', b: '2' });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).includes(Buffer.from('schema-hash'))).toBe(false);
    expect(Buffer.from(treeEnsembleToOnnx(e(), { schema: 'schema-hash' })).includes(Buffer.from('schema-hash'))).toBe(true);
  });

  it('refuses malformed ensembles, naming what is wrong', () => {
    const ok = (): TreeEnsemble => ({ numFeatures: 2, numTargets: 1, rule: 'lt', trees: [{ target: 0, nodes: stump(1, 0.3, -1, 1, 1) }], base: Float64Array.of(0), post: 'sigmoid' });
    expect(() => treeEnsembleToOnnx({ ...ok(), base: Float64Array.of(0, 1) }, {})).toThrow(/base has 2 values for 1 targets/);
    expect(() => treeEnsembleToOnnx({ ...ok(), trees: [{ target: 1, nodes: stump(0, 0, 0, 1, 0) }] }, {})).toThrow(/target 1 outside 0\.\.0/);
    expect(() => treeEnsembleToOnnx({ ...ok(), trees: [{ target: 0, nodes: stump(2, 0, 0, 1, 0) }] }, {})).toThrow(/feature 2 outside 0\.\.1/);
    expect(() => treeEnsembleToOnnx({ ...ok(), trees: [{ target: 0, nodes: stump(0, Number.NaN, 0, 1, 0) }] }, {})).toThrow(/threshold is NaN/);
    expect(() => treeEnsembleToOnnx({ ...ok(), trees: [{ target: 0, nodes: tree([[0, 0, 0, 0, 0]]) }] }, {})).toThrow(/reached twice/);
    expect(() => treeEnsembleToOnnx({ ...ok(), numTargets: 2, base: Float64Array.of(0, 0) }, {})).toThrow(/sigmoid needs one target/);
    expect(() => treeEnsembleToOnnx({ ...ok(), post: 'softmax' }, {})).toThrow(/softmax needs two targets/);
  });
});
