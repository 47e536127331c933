import type { IHeaders } from 'kafkajs';
import { formatTs } from '../../bars/bar.js';
import type { FeatureSet } from '../../operators/featureSet.js';
import { PREDICTION_FIELDS } from '../predictor.js';

/**
 * Feature rows on `features.1m` (docs/live.md). `binary` (default): the value is float64
 * little-endian, the bar's open ts (epoch ms) then the feature values in column order, NaN for
 * missing: exact bits, 8 bytes a value, nothing to parse. `json`: an object with ISO ts and
 * named values (null for missing), for people and tools that cannot read the binary form.
 */
export type FeatureMessageFormat = 'binary' | 'json';

export const FEATURE_CONTENT_TYPE = { binary: 'application/vnd.barflow.features.v1+float64', json: 'application/json' } as const;

export function featureHeaders(featureSet: FeatureSet, format: FeatureMessageFormat): IHeaders {
  return {
    'content-type': FEATURE_CONTENT_TYPE[format],
    'barflow-schema': 'features/v1',
    'barflow-schema-hash': featureSet.schemaHash,
    'barflow-feature-set': `${featureSet.name}@${featureSet.version}`,
  };
}

export function encodeFeatureRow(featureSet: FeatureSet, format: FeatureMessageFormat, symbol: string, ts: number, values: Float64Array): Buffer {
  if (format === 'binary') {
    const out = Buffer.allocUnsafe((values.length + 1) * 8);
    out.writeDoubleLE(ts, 0);
    // The platform is little-endian (checked at load), so the values' bytes are the wire bytes.
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), 8);
    return out;
  }
  const parts: string[] = [];
  featureSet.columns.forEach((c, i) => {
    const v = values[i]!;
    parts.push(`${JSON.stringify(c.name)}:${Number.isFinite(v) ? String(v) : 'null'}`);
  });
  return Buffer.from(`{"symbol":${JSON.stringify(symbol)},"ts":"${formatTs(ts)}","schemaHash":"${featureSet.schemaHash}","values":{${parts.join(',')}}}`);
}

export interface DecodedFeatureRow {
  symbol: string;
  ts: number;
  values: Float64Array;
}

/** Reads a `features.1m` message back (either format); refuses a row of another feature set. */
export function decodeFeatureRow(featureSet: FeatureSet, key: Buffer | null, value: Buffer, headers: IHeaders = {}): DecodedFeatureRow {
  const hash = headers['barflow-schema-hash']?.toString();
  if (hash !== undefined && hash !== featureSet.schemaHash) throw new Error(`feature message has schema ${hash.slice(0, 12)}, expected ${featureSet.schemaHash.slice(0, 12)} (${featureSet.name})`);
  const symbol = key?.toString('utf8') ?? '';
  if (headers['content-type']?.toString() === FEATURE_CONTENT_TYPE.json) {
    const m = JSON.parse(value.toString('utf8')) as { symbol: string; ts: string; values: Record<string, number | null> };
    const values = Float64Array.from(featureSet.columns, (c) => m.values[c.name] ?? Number.NaN);
    return { symbol: m.symbol, ts: Date.parse(m.ts), values };
  }
  const n = featureSet.columns.length;
  if (value.byteLength !== (n + 1) * 8) throw new Error(`feature message of ${value.byteLength} bytes; ${featureSet.name} rows are ${(n + 1) * 8}`);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = value.readDoubleLE(8 + i * 8);
  return { symbol, ts: value.readDoubleLE(0), values };
}

/**
 * A prediction as JSON: symbol, ts, model, version and the model's fields (`fields`, the contract's
 * by default; null for NaN, and for a contract field the model does not declare).
 */
export function encodePrediction(symbol: string, ts: number, model: string, version: string, out: Float64Array, schemaHash: string, fields: readonly string[] = PREDICTION_FIELDS): Buffer {
  const values = fields.map((f, i) => `"${f}":${Number.isFinite(out[i]!) ? String(out[i]) : 'null'}`).join(',');
  return Buffer.from(`{"symbol":${JSON.stringify(symbol)},"ts":"${formatTs(ts)}","model":${JSON.stringify(model)},"version":${JSON.stringify(version)},${values},"schema_hash":"${schemaHash}"}`);
}

if (new Uint8Array(new Float64Array([1]).buffer)[7] !== 0x3f) throw new Error('barflow live needs a little-endian platform');
