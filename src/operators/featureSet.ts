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

/**
 * What a column's values are: `level` (in price or volume units: its scale is the instrument's, so
 * a model learning it learns which symbol or period it is looking at) or `stationary` (returns,
 * oscillators, ratios, normalised ranges: comparable across symbols and years). Training uses the
 * stationary columns unless a config names others (docs/training.md).
 */
export const ColumnRoleSchema = z.enum(['level', 'stationary']);
export type ColumnRole = z.infer<typeof ColumnRoleSchema>;

/**
 * Every feature: its column name (suffixed with _<tf>), optionally the timeframes it is for, and
 * optionally its role (otherwise its kind's: KIND_ROLES).
 */
const base = { name: columnName, timeframes: z.array(z.string()).optional(), role: ColumnRoleSchema.optional() };

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
  // TA-Lib's NATR with period 1 returns the raw true range, in price units: refused.
  z.object({ ...base, kind: z.literal('natr'), period: period2, seed }).strict(),
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
    output: z.enum(['width', 'percent_b', 'upper', 'middle', 'lower']).default('width'),
  }).strict(),
  z.object({ ...base, kind: z.literal('obv') }).strict(),
  z.object({ ...base, kind: z.literal('parkinson'), period }).strict(),
  z.object({ ...base, kind: z.literal('garman_klass'), period }).strict(),
  z.object({ ...base, kind: z.literal('vwap'), period, output: z.enum(['distance', 'vwap']).default('distance') }).strict(),
  z.object({ ...base, kind: z.literal('volume_ratio'), period }).strict(),
  z.object({ ...base, kind: z.literal('volume_zscore'), period: period2 }).strict(),
  z.object({ ...base, kind: z.literal('return_moments'), period: period.min(4), output: z.enum(['mean', 'std', 'skew', 'kurt']) }).strict(),
]);
export type FeatureSpec = z.infer<typeof FeatureSpecSchema>;

const BAR_FIELDS = ['open', 'high', 'low', 'close', 'volume', 'bars'] as const;
export type BarField = (typeof BAR_FIELDS)[number];

/** Bar fields and their forming views: prices and volume are levels; `bars` is a count. */
export const BAR_FIELD_ROLES: Readonly<Record<BarField, ColumnRole>> = { open: 'level', high: 'level', low: 'level', close: 'level', volume: 'level', bars: 'stationary' };

type OutputsOf<K extends FeatureSpec['kind']> = Extract<FeatureSpec, { kind: K }> extends { output: infer O extends string } ? O : never;
type KindRoles = { [K in FeatureSpec['kind']]: ColumnRole | ([OutputsOf<K>] extends [never] ? never : Readonly<Record<OutputsOf<K>, ColumnRole>>) };

/**
 * The role of a feature that does not declare one, by kind (and output where the outputs differ).
 * A Record over every kind: a new kind does not compile until it has a role. docs/features.md
 * has the same table.
 */
export const KIND_ROLES: Readonly<KindRoles> = {
  log_return: 'stationary',
  sma: 'level',
  ema: 'level',
  rsi: 'stationary',
  atr: 'level',
  natr: 'stationary',
  adx: 'stationary',
  macd: 'level', // all three outputs are differences of price averages: price units
  stoch: 'stationary',
  // width is (upper − lower)/middle, %B (close − lower)/(upper − lower): both unitless
  bbands: { width: 'stationary', percent_b: 'stationary', upper: 'level', middle: 'level', lower: 'level' },
  obv: 'level',
  parkinson: 'stationary',
  garman_klass: 'stationary',
  vwap: { distance: 'stationary', vwap: 'level' },
  volume_ratio: 'stationary',
  volume_zscore: 'stationary',
  return_moments: 'stationary',
};

/** A feature's role: the one it declares, else its kind's (KIND_ROLES). */
export function roleOf(spec: FeatureSpec): ColumnRole {
  if (spec.role !== undefined) return spec.role;
  const r = KIND_ROLES[spec.kind] as ColumnRole | Record<string, ColumnRole>;
  return typeof r === 'string' ? r : r[(spec as { output: string }).output]!;
}

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
  role: ColumnRole;
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
    for (const field of fs.bar) columns.push({ name: `${field}_${tf}`, tf, source: { type: 'bar', field }, role: BAR_FIELD_ROLES[field] });
    for (const f of fs.features) {
      if (f.timeframes && !f.timeframes.includes(tf)) continue;
      // The role is left out of the spec: it says how a column may be used, not how it is computed.
      const { timeframes: _only, role: _role, ...spec } = f;
      columns.push({ name: `${f.name}_${tf}`, tf, source: { type: 'feature', spec: spec as FeatureSpec }, role: roleOf(f) });
    }
    for (const f of fs.forming) {
      if (f.timeframes.includes(tf)) columns.push({ name: `${f.field}_forming_${tf}`, tf, source: { type: 'forming', field: f.field }, role: BAR_FIELD_ROLES[f.field] });
    }
  }
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c.name)) throw new Error(`${source}: column ${c.name} is defined twice`);
    seen.add(c.name);
  }
  const anchor = parseAnchor(fs.anchor);
  // Roles are not hashed. The schema hash names the row layout and how each value is computed: it
  // tags state snapshots, Arrow files, QuestDB tables and bundles, and changing a role changes none
  // of the values, so it must not orphan those. What a role does change, the columns a model is
  // trained on by default, is recorded where it matters: the dataset manifest (featureSet.roles,
  // and its fingerprint covers the feature-set file's bytes) and the bundle (features.roles).
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
