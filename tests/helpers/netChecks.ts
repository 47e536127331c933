/**
 * Checks every window net's test makes (issues 16 and 18): causality as a property, and an exact
 * resume from an epoch checkpoint.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Scorer } from '../../src/training/models/modelRegistry.js';
import type { NeuralNet } from '../../src/training/models/neural/net.js';
import { trainNet } from '../../src/training/models/neural/trainLoop.js';
import type { ObjectiveSpec } from '../../src/training/objectives/objective.js';
import { gaussian, mulberry32 } from './random.js';
import { testTempDir } from './tempDir.js';
import { series, windows } from './windowSamples.js';

/**
 * Changing or appending rows after row t leaves every window ending at or before t alone: windows
 * of `len` steps over 48 rows of f features, the scorer's `k` outputs per window compared bit for bit.
 */
export async function expectCausal(scorer: Scorer, len: number, f: number, k: number, seed: number): Promise<void> {
  const base = series(48, f, 21);
  const before = windows(base, len, f);
  const p = await scorer.score(before.x, [before.n, len, f]);
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: len, max: 47 }), fc.integer({ min: 0, max: 20 }), fc.integer(), async (cut, extra, s) => {
      const rand = mulberry32(s >>> 0);
      const later = Float32Array.from({ length: (48 + extra) * f }, (_, i) => (i < cut * f ? base[i]! : 3 * gaussian(rand)));
      const after = windows(later, len, f);
      const q = await scorer.score(after.x, [after.n, len, f]);
      const kept = (cut - len + 1) * k; // windows 0 … cut − len end before row `cut`
      expect(Array.from(q.subarray(0, kept))).toEqual(Array.from(p.subarray(0, kept)));
    }),
    { numRuns: 12, seed },
  );
}

/** Three epochs straight, and one epoch then a resume from its checkpoint: the same history and weights. */
export async function expectExactResume(net: NeuralNet<never>, rows: { x: Float32Array; dims: number[]; y: Float32Array }, objective: ObjectiveSpec, params: Record<string, unknown>, tempName: string): Promise<void> {
  const run = (extra: Partial<Parameters<typeof trainNet>[0]> = {}) => trainNet({ net, x: rows.x, dims: rows.dims, y: rows.y, objective, params: { ...params, epochs: 3 }, seed: 3, ...extra });
  const weights = async (m: Awaited<ReturnType<typeof run>>) => Buffer.from((await m.save()).get('weights.bin')!);
  const straight = await run();
  const dir = testTempDir(tempName);
  (await run({ checkpoint: { dir }, stopAfterEpoch: 1 })).dispose();
  const resumed = await run({ checkpoint: { dir } });
  expect(resumed.resumedFrom).toBe(1);
  expect(resumed.history).toEqual(straight.history);
  expect((await weights(resumed)).equals(await weights(straight))).toBe(true);
  straight.dispose();
  resumed.dispose();
}
