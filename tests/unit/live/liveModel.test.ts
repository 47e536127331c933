import { describe, expect, it } from 'vitest';
import { LiveModel, type RowPredictor } from '../../../src/serving/live/liveModel.js';
import { PREDICTION_FIELDS } from '../../../src/serving/predictor.js';

/** A predictor answering p_up = values[0] (NaN passes through), or failing. */
function model(name: string, behaviour: 'echo' | 'fail' | 'constant'): RowPredictor {
  return {
    name,
    version: '1',
    fields: PREDICTION_FIELDS,
    lead: 0,
    predictRows: async (rows) => {
      if (behaviour === 'fail') throw new Error(`${name} is down`);
      return rows.map((v) => Float64Array.from({ length: 7 }, (_, i) => (i === 0 ? (behaviour === 'constant' ? 0.5 : v.values[0]!) : Number.NaN)));
    },
  };
}

const rows = [0.7, Number.NaN, 0.2].map((v) => ({ values: Float64Array.of(v), window: null }));

describe('LiveModel: the fallback bundle', () => {
  it('answers the whole batch when the primary fails, and says so', async () => {
    const counted: [string, number][] = [];
    const errors: unknown[] = [];
    const m = new LiveModel(model('primary', 'fail'), model('fallback', 'constant'), (r, n) => counted.push([r, n]), (e) => errors.push(e));
    const out = await m.predict(rows);
    expect(out.map((o) => o.by.name)).toEqual(['fallback', 'fallback', 'fallback']);
    expect(counted).toEqual([['error', 3]]);
    expect(String(errors[0])).toMatch(/primary is down/);
  });

  it('answers a row the primary leaves without a finite p_up; rows both leave empty stay the primary\'s', async () => {
    const counted: [string, number][] = [];
    const m = new LiveModel(model('primary', 'echo'), model('fallback', 'constant'), (r, n) => counted.push([r, n]), () => undefined);
    const out = await m.predict(rows);
    expect(out.map((o) => [o.by.name, o.out[0]])).toEqual([['primary', 0.7], ['fallback', 0.5], ['primary', 0.2]]);
    expect(counted).toEqual([['non_finite', 1]]);
    const both = new LiveModel(model('primary', 'echo'), model('fallback', 'echo'), (r, n) => counted.push([r, n]), () => undefined);
    const out2 = await both.predict(rows);
    expect(out2[1]!.by.name).toBe('primary');
    expect(out2[1]!.out[0]).toBeNaN();
    expect(counted).toHaveLength(1);
  });

  it('without a fallback, a failing primary fails the batch (the topology retries it)', async () => {
    const m = new LiveModel(model('primary', 'fail'), null, () => undefined, () => undefined);
    await expect(m.predict(rows)).rejects.toThrow(/primary is down/);
  });
});
