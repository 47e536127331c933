import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { ColumnRoleSchema } from '../operators/featureSet.js';

/**
 * `manifest.json` of a dataset folder: what went in (a fingerprint over the input bytes, the
 * feature-set file, the schema, the code version), what came out, and the command that made it.
 * It holds no clock time or host name, so the same input and config write the same bytes.
 */
export const DATASET_FORMAT = 'barflow.dataset';

const SymbolRange = z.object({ symbol: z.string(), rows: z.number().int().nonnegative(), from: z.string(), to: z.string() });

/** A label set written by `barflow label` beside the features (labels/<name>.arrow). */
export const LabelEntrySchema = z.object({
  name: z.string(),
  file: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  rows: z.number().int().nonnegative(),
  /** The label config as validated, defaults filled in. */
  config: z.unknown(),
  /** sha256 of the config file's text. */
  configSha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Columns a model learns, each with its label-end column and value counts. */
  targets: z.array(
    z.object({
      name: z.string(),
      t1: z.string(),
      known: z.number().int().nonnegative(),
      missing: z.number().int().nonnegative(),
      up: z.number().int().nonnegative(),
      down: z.number().int().nonnegative(),
      zero: z.number().int().nonnegative(),
    }),
  ),
  columns: z.array(z.string()),
  command: z.array(z.string()),
});

export type LabelEntry = z.infer<typeof LabelEntrySchema>;

export const DatasetManifestSchema = z.object({
  format: z.literal(DATASET_FORMAT),
  formatVersion: z.literal(1),
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  inputs: z.array(z.object({ source: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative(), rows: z.number().int().nonnegative(), bars: z.number().int().nonnegative() })),
  featureSet: z
    .object({
      name: z.string(),
      version: z.number().int(),
      file: z.string(),
      fileSha256: z.string().regex(/^[0-9a-f]{64}$/),
      schemaHash: z.string(),
      anchor: z.string(),
      timeframes: z.array(z.string()),
      columns: z.array(z.string()),
      /**
       * Each column's role (level or stationary), in column order; training's default columns are
       * the stationary ones. Absent in manifests written before roles existed.
       */
      roles: z.record(z.string(), ColumnRoleSchema).optional(),
    })
    .superRefine((fs, ctx) => {
      if (fs.roles === undefined) return;
      const problems = [...fs.columns.filter((c) => !Object.hasOwn(fs.roles!, c)).map((c) => `no role for ${c}`), ...Object.keys(fs.roles).filter((c) => !fs.columns.includes(c)).map((c) => `${c} is not a column`)];
      if (problems.length > 0) ctx.addIssue({ code: 'custom', path: ['roles'], message: `roles must name every column (${problems.slice(0, 3).join(', ')})` });
    }),
  code: z.object({ package: z.literal('barflow'), version: z.string(), gitCommit: z.string().nullable() }),
  files: z.object({ arrow: z.string().optional(), parquet: z.string().optional(), rejects: z.string().optional() }),
  rowOrder: z.literal('symbol, ts'),
  rowAvailableAt: z.literal('ts + 1 minute'),
  rows: z.number().int().nonnegative(),
  symbols: z.array(SymbolRange),
  rejects: z.object({ total: z.number().int().nonnegative(), byReason: z.record(z.string(), z.number().int().positive()) }),
  command: z.array(z.string()),
  labels: z.array(LabelEntrySchema).optional(),
});

export type DatasetManifest = z.infer<typeof DatasetManifestSchema>;

/** The parts of a dataset's identity: change any input byte, the feature file or the code, and it changes. */
export interface FingerprintParts {
  inputs: { source: string; sha256: string }[];
  featureSetFileSha256: string;
  schemaHash: string;
  version: string;
  gitCommit: string | null;
}

export function datasetFingerprint(parts: FingerprintParts): string {
  // Input names are left out: the same bytes under another path are the same dataset.
  const canonical = JSON.stringify({
    inputs: parts.inputs.map((i) => i.sha256),
    featureSetFile: parts.featureSetFileSha256,
    schemaHash: parts.schemaHash,
    version: parts.version,
    gitCommit: parts.gitCommit,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

export function writeManifest(path: string, manifest: DatasetManifest): void {
  writeFileSync(path, `${JSON.stringify(DatasetManifestSchema.parse(manifest), null, 2)}\n`);
}

export function readManifest(path: string): DatasetManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the dataset manifest ${path}: ${(err as Error).message}`);
  }
  const parsed = DatasetManifestSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${path} is not a barflow dataset manifest: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}
