import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DEFAULT_TOPOLOGY_DIR } from '../paths.js';
import { type Anchor, anchorText, parseAnchor } from './anchor.js';
import { LADDER, timeframeMinutes } from './timeframe.js';

const period = z.number().int().min(1).max(10_000);
/** Periods TA-Lib refuses below 2 (TA_BAD_PARAM): refused here too rather than giving made-up values. */
const period2 = period.min(2);
/** Seeding of recursive averages: `sma` is TA-Lib's (default); `first` starts from the first value. */
const seed = z.enum(['sma', 'first']).default('sma');

const columnName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'lower-case letters, digits and _');
/** Every feature: its column name (suffixed with _<tf>) and, optionally, the timeframes it is for. */
const base = { name: columnName, timeframes: z.array(z.string()).optional() };

/**
 * One feature of a feature-set file; `kind` names the indicator, the rest its parameters. Unknown
 * keys are refused, so that a misspelt parameter cannot silently fall back to its default.
 */
export const FeatureSpecSchema = z.discriminatedUnion('kind', [
  z.object({ ...base, kind: z.literal('log_return') }).strict(),
  z.object({ ...base, kind: z.literal('sma'), period }).strict(),
  z.object({ ...base, kind: z.literal('ema'), period, seed }).strict(),
  z.object({ ...base, kind: z.literal('rsi'), period: period2, seed }).strict(),
  z.object({ ...base, kind: z.literal('atr'), period, seed }).strict(),
  z.object({ ...base, kind: z.literal('adx'), period: period2 }).strict(),
  z.object({
    ...base,
    kind: z.literal('macd'),
    fast: period2.default(12),
    slow: period2.default(26),
    signal: period.default(9),
    seed,
    output: z.enum(['macd', 'signal', 'hist']).default('hist'),
  }).strict(),
  z.object({
    ...base,
    kind: z.literal('stoch'),
    fastk: period.default(14),
    slowk: period.default(3),
    slowd: period.default(3),
    output: z.enum(['k', 'd']).default('k'),
  }).strict(),
  z.object({
    ...base,
    kind: z.literal('bbands'),
    period: period2.default(20),
    devs: z.number().positive().default(2),
    output: z.enum(['width', 'upper', 'middle', 'lower']).default('width'),
  }).strict(),
  z.object({ ...base, kind: z.literal('obv') }).strict(),
  z.object({ ...base, kind: z.literal('parkinson'), period }).strict(),
  z.object({ ...base, kind: z.literal('garman_klass'), period }).strict(),
  z.object({ ...base, kind: z.literal('vwap'), period, output: z.enum(['distance', 'vwap']).default('distance') }).strict(),
  z.object({ ...base, kind: z.literal('volume_ratio'), period }).strict(),
  z.object({ ...base, kind: z.literal('return_moments'), period: period.min(4), output: z.enum(['mean', 'std', 'skew', 'kurt']) }).strict(),
]);
export type FeatureSpec = z.infer<typeof FeatureSpecSchema>;

const BAR_FIELDS = ['open', 'high', 'low', 'close', 'volume', 'bars'] as const;
export type BarField = (typeof BAR_FIELDS)[number];

export const FeatureSetSchema = z
  .strictObject({
    name: z.string().min(1),
    version: z.number().int().min(1),
    anchor: z.string().default('utc-day'),
    timeframes: z.array(z.string()).min(1),
    bar: z.array(z.enum(BAR_FIELDS)).default(['open', 'high', 'low', 'close', 'volume']),
    features: z.array(FeatureSpecSchema).default([]),
    /** The bucket so far, by name: `<field>_forming_<tf>`. Only when asked for. */
    forming: z.array(z.object({ field: z.enum(BAR_FIELDS), timeframes: z.array(z.string()).min(1) })).default([]),
  })
  .superRefine((fs, ctx) => {
    for (const tf of fs.timeframes) {
      try {
        timeframeMinutes(tf);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['timeframes'], message: (err as Error).message });
      }
    }
    if (new Set(fs.timeframes).size !== fs.timeframes.length) ctx.addIssue({ code: 'custom', path: ['timeframes'], message: 'a timeframe is listed twice' });
    try {
      parseAnchor(fs.anchor);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['anchor'], message: (err as Error).message });
    }
    fs.features.forEach((f, i) => {
      for (const tf of f.timeframes ?? []) {
        if (!fs.timeframes.includes(tf)) ctx.addIssue({ code: 'custom', path: ['features', i, 'timeframes'], message: `${tf} is not one of the set's timeframes` });
      }
    });
    fs.forming.forEach((f, i) => {
      for (const tf of f.timeframes) {
        if (!fs.timeframes.includes(tf)) ctx.addIssue({ code: 'custom', path: ['forming', i, 'timeframes'], message: `${tf} is not one of the set's timeframes` });
        else if (timeframeMinutes(tf) === 1) ctx.addIssue({ code: 'custom', path: ['forming', i, 'timeframes'], message: 'a 1-minute bar has no forming view' });
      }
    });
  });
export type FeatureSetFile = z.infer<typeof FeatureSetSchema>;

/** Where one column's value comes from, within its timeframe's lane. */
export type ColumnSource =
  | { type: 'bar'; field: BarField }
  | { type: 'forming'; field: BarField }
  | { type: 'feature'; spec: FeatureSpec };

export interface ResolvedColumn {
  name: string;
  tf: string;
  source: ColumnSource;
}

/** A validated feature set with its columns in their fixed order and its schema hash. */
export interface FeatureSet {
  name: string;
  version: number;
  anchor: Anchor;
  timeframes: string[];
  columns: ResolvedColumn[];
  /** sha256 (hex) of the canonical column list and parameters: the identity of the row layout. */
  schemaHash: string;
}

/** Validates a parsed feature-set document and resolves its columns. */
export function resolveFeatureSet(doc: unknown, source = 'feature set'): FeatureSet {
  const parsed = FeatureSetSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${source}: ${issue.path.join('.') || 'document'}: ${issue.message}`);
  }
  const fs = parsed.data;
  const columns: ResolvedColumn[] = [];
  for (const tf of fs.timeframes) {
    for (const field of fs.bar) columns.push({ name: `${field}_${tf}`, tf, source: { type: 'bar', field } });
    for (const f of fs.features) {
      if (f.timeframes && !f.timeframes.includes(tf)) continue;
      const { timeframes: _only, ...spec } = f;
      columns.push({ name: `${f.name}_${tf}`, tf, source: { type: 'feature', spec: spec as FeatureSpec } });
    }
    for (const f of fs.forming) {
      if (f.timeframes.includes(tf)) columns.push({ name: `${f.field}_forming_${tf}`, tf, source: { type: 'forming', field: f.field } });
    }
  }
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c.name)) throw new Error(`${source}: column ${c.name} is defined twice`);
    seen.add(c.name);
  }
  const anchor = parseAnchor(fs.anchor);
  const canonical = JSON.stringify({ format: 1, anchor: anchorText(anchor), columns: columns.map((c) => [c.name, c.tf, c.source]) });
  return {
    name: fs.name,
    version: fs.version,
    anchor,
    timeframes: fs.timeframes,
    columns,
    schemaHash: createHash('sha256').update(canonical).digest('hex'),
  };
}

export const DEFAULT_FEATURE_SET_FILE = join(DEFAULT_TOPOLOGY_DIR, 'features', 'default.yaml');

/** Reads and resolves a feature-set YAML file (the default set when no file is given). */
export function loadFeatureSet(file: string = DEFAULT_FEATURE_SET_FILE): FeatureSet {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  return resolveFeatureSet(doc, file);
}

export { LADDER };
