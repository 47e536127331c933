import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadFeatureSet } from '../../../src/operators/featureSet.js';
import { decodeBarEvent } from '../../../src/streams/kafka/barMessage.js';
import { DriftPredictor, PREDICTION_FIELDS, normalCdf } from '../../../src/serving/predictor.js';
import { decodeFeatureRow, encodeFeatureRow, encodePrediction, featureHeaders } from '../../../src/serving/live/outputMessages.js';

const featureSet = loadFeatureSet();
const n = featureSet.columns.length;

describe('feature row messages', () => {
  it('binary: any values (NaN, -0, infinities included) come back bit for bit', () => {
    fc.assert(
      fc.property(fc.float64Array({ minLength: n, maxLength: n }), fc.integer({ min: 0, max: 4e12 }), (values, ts) => {
        const headers = featureHeaders(featureSet, 'binary');
        const back = decodeFeatureRow(featureSet, Buffer.from('ES'), encodeFeatureRow(featureSet, 'binary', 'ES', ts, values), headers);
        expect(back.ts).toBe(ts);
        expect(back.symbol).toBe('ES');
        expect(Buffer.from(back.values.buffer).equals(Buffer.from(values.buffer, values.byteOffset, values.byteLength))).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('json: named values, null for missing, and the same finite numbers back', () => {
    const values = Float64Array.from({ length: n }, (_, i) => (i % 3 === 0 ? Number.NaN : i / 7));
    const ts = Date.UTC(2023, 2, 1, 0, 1);
    const bytes = encodeFeatureRow(featureSet, 'json', 'ES', ts, values);
    const parsed = JSON.parse(bytes.toString()) as { ts: string; values: Record<string, number | null> };
    expect(parsed.ts).toBe('2023-03-01T00:01:00Z');
    expect(parsed.values[featureSet.columns[0]!.name]).toBeNull();
    const back = decodeFeatureRow(featureSet, Buffer.from('ES'), bytes, featureHeaders(featureSet, 'json'));
    back.values.forEach((v, i) => expect(Object.is(v, values[i])).toBe(true));
  });

  it('refuses a row of another feature set', () => {
    const bytes = encodeFeatureRow(featureSet, 'binary', 'ES', 0, new Float64Array(n));
    expect(() => decodeFeatureRow(featureSet, null, bytes, { 'barflow-schema-hash': 'ab'.repeat(32) })).toThrow(/schema abababababab/);
  });
});

describe('predictions', () => {
  it('the drift baseline follows its documented normal model', () => {
    const predictor = new DriftPredictor(featureSet, { builtin: 'drift', name: 'drift-baseline', mean: 'retmean20_1m', std: 'retstd20_1m' });
    const values = new Float64Array(n).fill(Number.NaN);
    const mean = featureSet.columns.findIndex((c) => c.name === 'retmean20_1m');
    const std = featureSet.columns.findIndex((c) => c.name === 'retstd20_1m');
    const out = new Float64Array(PREDICTION_FIELDS.length);
    predictor.predict(values, out);
    expect([...out].every(Number.isNaN)).toBe(true); // warming up: no prediction, not a made-up one
    values[mean] = 0.0002;
    values[std] = 0.001;
    predictor.predict(values, out);
    expect(out[0]).toBeCloseTo(0.5792597094391030, 6); // Φ(0.2), Python: 0.5 * math.erfc(-0.2 / math.sqrt(2))
    expect(out[2]).toBeCloseTo(0.0002 - 1.6448536269514722 * 0.001, 15);
    expect(out[4]).toBeCloseTo(0.0002 + 1.6448536269514722 * 0.001, 15);
    expect(JSON.parse(encodePrediction('ES', 0, 'drift-baseline', '1', out, 'abc').toString())).toMatchObject({ symbol: 'ES', model: 'drift-baseline', e_r: 0.0002, uncertainty: 0.001, schema_hash: 'abc' });
  });

  it('Φ is within 1.2e-7 of the reference values (Python: 0.5 * math.erfc(-z / math.sqrt(2)))', () => {
    const reference: [number, number][] = [
      [-3, 0.0013498980316301],
      [-1, 0.15865525393145707],
      [0, 0.5],
      [0.5, 0.6914624612740131],
      [2.5, 0.9937903346742238],
    ];
    for (const [z, p] of reference) expect(Math.abs(normalCdf(z) - p)).toBeLessThan(1.2e-7);
  });

  it('names a missing column of the feature set', () => {
    expect(() => new DriftPredictor(featureSet, { builtin: 'drift', name: 'x', mean: 'nope', std: 'retstd20_1m' })).toThrow(/has no column nope/);
  });
});

describe('bar topic messages', () => {
  it('decodes watermarks and refuses overflowing numbers as non_finite', () => {
    expect(decodeBarEvent('{"type":"watermark","symbol":"ES","ts":"2023-03-01T00:05:00Z"}', 'ES')).toEqual({ event: { kind: 'watermark', symbol: 'ES', ts: Date.UTC(2023, 2, 1, 0, 5) }, violation: null });
    expect(decodeBarEvent('{"type":"watermark","symbol":"ES","ts":"2023-03-01T00:05:00Z"}', 'NQ').violation?.reason).toBe('malformed_record');
    expect(decodeBarEvent('{"type":"heartbeat","symbol":"ES","ts":1}', 'ES').violation?.reason).toBe('malformed_record');
    expect(decodeBarEvent('{"symbol":"ES","ts":"2023-03-01T00:05:00Z","open":1e999,"high":1,"low":1,"close":1,"volume":1}', 'ES').violation?.reason).toBe('non_finite');
  });
});
