import { z } from 'zod';
import { BAR_VALUE_FIELDS, type Bar, formatTs, isValidSymbol } from '../../bars/bar.js';
import { decimalOrViolation, formatNumber } from '../../bars/numbers.js';
import type { Violation } from '../../bars/rejects.js';
import { checkBarValues } from '../../bars/validation.js';
import type { BarEvent } from '../../operators/rx.js';
import { emptyTimestamp, parseIsoTimestamp } from '../../time/timestamps.js';

/**
 * The JSON value of a bar message on `bars.1m` (documented in docs/messages.md). Producers may
 * send numbers as JSON numbers or as decimal strings, and `ts` as ISO-8601 with a zone or as
 * epoch milliseconds; barflow itself writes numbers and ISO `Z` text. Unknown fields are ignored so
 * producers can add their own.
 */
export const BarMessageSchema = z.object({
  symbol: z.string(),
  ts: z.union([z.string(), z.number()]),
  open: z.union([z.number(), z.string()]),
  high: z.union([z.number(), z.string()]),
  low: z.union([z.number(), z.string()]),
  close: z.union([z.number(), z.string()]),
  volume: z.union([z.number(), z.string()]),
});
export type BarMessage = z.infer<typeof BarMessageSchema>;

export const BAR_MESSAGE_HEADERS = { 'content-type': 'application/json', 'barflow-schema': 'bar/v1' } as const;

/**
 * Encodes a bar as its message value. Written by hand rather than with JSON.stringify so that the
 * field order is fixed and -0 keeps its sign (JSON.stringify(-0) is "0").
 */
export function encodeBar(bar: Bar): string {
  return `{"symbol":${JSON.stringify(bar.symbol)},"ts":"${formatTs(bar.ts)}","open":${formatNumber(bar.open)},"high":${formatNumber(bar.high)},"low":${formatNumber(bar.low)},"close":${formatNumber(bar.close)},"volume":${formatNumber(bar.volume)}}`;
}

export type DecodeResult = { bar: Bar; violation: null } | { bar: null; violation: Violation };

/** A watermark message on the bar topic: every bar of `symbol` opening before `ts` has been sent. */
export const WatermarkMessageSchema = z.object({ type: z.literal('watermark'), symbol: z.string(), ts: z.union([z.string(), z.number()]) });

export function encodeWatermark(symbol: string, ts: number): string {
  return `{"type":"watermark","symbol":${JSON.stringify(symbol)},"ts":"${formatTs(ts)}"}`;
}

export type DecodeEventResult = { event: BarEvent; violation: null } | { event: null; violation: Violation };

const fail = (violation: Violation): DecodeResult => ({ bar: null, violation });

/**
 * Decodes and validates one message value (stateless rules only; ordering is the consumer's). When
 * the message key is given it must equal the symbol, or the bar would be routed to the partition
 * of another symbol.
 */
export function decodeBar(value: Buffer | string | null, key?: Buffer | string | null): DecodeResult {
  if (value === null) return fail({ reason: 'malformed_record', detail: 'empty message value (tombstone)' });
  const json = parseJson(value);
  if (json.violation) return fail(json.violation);
  return decodeBarJson(json.value, key);
}

/**
 * Decodes a message of the bar topic: a bar, or a watermark (`"type":"watermark"`). The live
 * topology reads both from the same partition, so a watermark stays in order with its symbol's bars.
 */
export function decodeBarEvent(value: Buffer | string | null, key?: Buffer | string | null): DecodeEventResult {
  if (value === null) return { event: null, violation: { reason: 'malformed_record', detail: 'empty message value (tombstone)' } };
  const json = parseJson(value);
  if (json.violation) return { event: null, violation: json.violation };
  if (typeof json.value === 'object' && json.value !== null && (json.value as { type?: unknown }).type !== undefined) {
    const parsed = WatermarkMessageSchema.safeParse(json.value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return { event: null, violation: { reason: 'malformed_record', detail: `${issue.path.join('.') || 'value'}: ${issue.message}` } };
    }
    const ts = messageTs(parsed.data.ts);
    if (typeof ts !== 'number') return { event: null, violation: ts };
    if (!isValidSymbol(parsed.data.symbol)) return { event: null, violation: { reason: 'unknown_symbol_format', detail: `symbol ${JSON.stringify(parsed.data.symbol)} is not a valid symbol` } };
    const keyViolation = checkKey(key, parsed.data.symbol);
    if (keyViolation) return { event: null, violation: keyViolation };
    return { event: { kind: 'watermark', symbol: parsed.data.symbol, ts }, violation: null };
  }
  const r = decodeBarJson(json.value, key);
  return r.violation ? { event: null, violation: r.violation } : { event: r.bar, violation: null };
}

function parseJson(value: Buffer | string): { value: unknown; violation: null } | { value: null; violation: Violation } {
  try {
    return { value: JSON.parse(typeof value === 'string' ? value : value.toString('utf8')), violation: null };
  } catch (err) {
    return { value: null, violation: { reason: 'malformed_record', detail: `not JSON: ${(err as Error).message}` } };
  }
}

function checkKey(key: Buffer | string | null | undefined, symbol: string): Violation | null {
  if (key === undefined || key === null) return null;
  const keyText = typeof key === 'string' ? key : key.toString('utf8');
  return keyText === symbol ? null : { reason: 'malformed_record', detail: `key ${JSON.stringify(keyText)} differs from symbol ${JSON.stringify(symbol)}` };
}

function decodeBarJson(json: unknown, key?: Buffer | string | null): DecodeResult {
  if (typeof json === 'object' && json !== null) {
    // JSON.parse turns an overflowing literal such as 1e999 into Infinity: say so, not "invalid".
    for (const field of ['ts', ...BAR_VALUE_FIELDS] as const) {
      const v = (json as Record<string, unknown>)[field];
      if (typeof v === 'number' && !Number.isFinite(v)) return fail({ reason: 'non_finite', detail: `${field}: ${v} is not finite (overflowing JSON number)` });
    }
  }
  const parsed = BarMessageSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return fail({ reason: 'malformed_record', detail: `${issue.path.join('.') || 'value'}: ${issue.message}` });
  }
  const m = parsed.data;
  const ts = messageTs(m.ts);
  if (typeof ts !== 'number') return fail(ts);
  const keyViolation = checkKey(key, m.symbol);
  if (keyViolation) return fail(keyViolation);
  const bar: Bar = { symbol: m.symbol, ts, open: 0, high: 0, low: 0, close: 0, volume: 0 };
  for (const field of BAR_VALUE_FIELDS) {
    const raw = m[field];
    // JSON numbers are finite here (checked above); decimal strings go through the file grammar.
    const v = typeof raw === 'number' ? raw : decimalOrViolation(raw.trim(), field);
    if (typeof v !== 'number') return fail(v);
    bar[field] = v;
  }
  const violation = checkBarValues(bar);
  return violation ? fail(violation) : { bar, violation: null };
}

function messageTs(ts: string | number): number | Violation {
  if (typeof ts === 'number') {
    if (!Number.isFinite(ts)) return { reason: 'non_finite', detail: `ts: ${ts} is not finite` };
    return ts;
  }
  const out = emptyTimestamp();
  if (!parseIsoTimestamp(ts, out)) return { reason: 'unparsable_field', detail: `ts: ${JSON.stringify(ts)} is not ISO-8601` };
  if (out.naive) return { reason: 'unparsable_field', detail: `ts: ${JSON.stringify(ts)} has no zone; messages must carry Z or an offset` };
  if (out.subMs) return { reason: 'ts_not_minute_aligned', detail: `ts ${ts} has non-zero digits below the millisecond` };
  return out.ms;
}
