import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openOnnxSession, runOnnx } from '../../../src/serving/onnx/onnxSession.js';
import { parseXgboostJson, xgboostToOnnx } from '../../../src/training/models/xgboost/xgboostOnnx.js';
import { FIXTURES } from '../../helpers/files.js';

// Models written by XGBoost 1.7.4, 2.1.4 and 3.2.0 with XGBoost's own predictions for them
// (tests/fixtures/xgboost/makeFixtures.ts says how they were made): the JSON of each version is
// parsed and exported, and onnxruntime reproduces XGBoost, with no XGBoost library needed here.

const DIR = resolve(FIXTURES, 'xgboost');
const stems = readdirSync(DIR)
  .filter((f) => f.endsWith('.expected.json'))
  .map((f) => f.replace('.expected.json', ''))
  .sort();

interface Expected {
  xgboost: string;
  objective: { objective: string; quantiles: number[] };
  n: number;
  f: number;
  x: Array<number | null>;
  predictions: number[];
}

describe('XGBoost JSON of every version → ONNX', () => {
  it('has fixtures of 1.7, 2.x and 3.x for all four objectives (quantile from 2.0)', () => {
    expect(stems).toEqual(
      ['1.7.4-binary', '1.7.4-multiclass', '1.7.4-regression', ...['2.1.4', '3.2.0'].flatMap((v) => ['binary', 'multiclass', 'quantile', 'regression'].map((o) => `${v}-${o}`))].map(
        (s) => `xgboost-${s}`,
      ),
    );
  });

  for (const stem of stems) {
    it(`${stem}: within 1e-6 of XGBoost's predictions, NaN rows included`, async () => {
      const e = JSON.parse(readFileSync(resolve(DIR, `${stem}.expected.json`), 'utf8')) as Expected;
      const modelJson = new Uint8Array(readFileSync(resolve(DIR, `${stem}.model.json`)));
      const parsed = parseXgboostJson(modelJson);
      expect(parsed.version.join('.')).toBe(e.xgboost);
      expect(parsed.numOutputs * e.n).toBe(e.predictions.length);
      if (e.objective.objective === 'quantile') expect(parsed.quantileAlpha).toEqual(e.objective.quantiles);
      const x = Float32Array.from(e.x, (v) => (v === null ? Number.NaN : v));
      const session = await openOnnxSession(xgboostToOnnx(modelJson, e.f));
      const got = await runOnnx(session, x, [e.n, e.f]);
      await session.release();
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - e.predictions[i]!));
      expect(worst).toBeLessThan(1e-6);
    });
  }
});
