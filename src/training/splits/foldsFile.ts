import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { formatTs } from '../../bars/bar.js';
import { type Fold, fromRanges, toRanges } from './folds.js';
import type { RowSpans } from './rowSpans.js';
import type { SplitPlan } from './splitMethods.js';

/**
 * `folds.json`: a split plan as data, so training, evaluation and backtests (and people) read the
 * same folds. Rows are dataset row indices in half-open ranges [start, end); `spans` lists each
 * row's [ts, t1] in epoch ms (t1 null: no label, in no fold).
 */
export const FOLDS_FORMAT = 'barflow.folds';

const Range = z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]);

export const FoldsFileSchema = z.object({
  format: z.literal(FOLDS_FORMAT),
  formatVersion: z.literal(1),
  method: z.enum(['chronological', 'purged_kfold', 'walk_forward', 'cpcv']),
  params: z.record(z.string(), z.unknown()),
  dataset: z.object({ dir: z.string(), fingerprint: z.string(), rows: z.number().int().nonnegative() }),
  labels: z.object({ set: z.string(), target: z.string(), sha256: z.string() }),
  eligible: z.number().int().nonnegative(),
  unlabeled: z.number().int().nonnegative(),
  groups: z.array(z.object({ group: z.number().int(), from: z.string(), to: z.string(), rows: z.number().int() })).optional(),
  folds: z.array(
    z.object({
      fold: z.number().int().nonnegative(),
      testGroups: z.array(z.number().int()).optional(),
      testBlocks: z.array(z.object({ from: z.string(), to: z.string(), labelEnd: z.string() })),
      counts: z.object({ train: z.number().int(), validation: z.number().int().optional(), test: z.number().int(), purged: z.number().int(), embargoed: z.number().int() }),
      train: z.array(Range),
      validation: z.array(Range).optional(),
      test: z.array(Range),
    }),
  ),
  paths: z.array(z.object({ path: z.number().int(), splits: z.array(z.number().int()) })).optional(),
  spans: z.object({ ts: z.array(z.number()), t1: z.array(z.number().nullable()) }),
});

export type FoldsFile = z.infer<typeof FoldsFileSchema>;

export function foldsDocument(plan: SplitPlan, spans: RowSpans, source: { dir: string; fingerprint: string; labelSet: string; target: string; labelSha256: string }): FoldsFile {
  return {
    format: FOLDS_FORMAT,
    formatVersion: 1,
    method: plan.method,
    params: JSON.parse(JSON.stringify(plan.params)) as Record<string, unknown>,
    dataset: { dir: source.dir, fingerprint: source.fingerprint, rows: spans.ts.length },
    labels: { set: source.labelSet, target: source.target, sha256: source.labelSha256 },
    eligible: plan.eligible,
    unlabeled: plan.unlabeled,
    groups: plan.groups?.map((g, i) => ({ group: i, from: formatTs(g.from), to: formatTs(g.to), rows: g.rows })),
    folds: plan.folds.map((f) => ({
      fold: f.index,
      testGroups: f.testGroups,
      testBlocks: f.testBlocks.map((b) => ({ from: formatTs(b.from), to: formatTs(b.to), labelEnd: formatTs(b.labelEnd) })),
      counts: { train: f.train.length, validation: f.validation?.length, test: f.test.length, purged: f.purged, embargoed: f.embargoed },
      train: toRanges(f.train),
      validation: f.validation === undefined ? undefined : toRanges(f.validation),
      test: toRanges(f.test),
    })),
    paths: plan.paths?.map((p) => ({ path: p.index, splits: p.splits })),
    spans: { ts: Array.from(spans.ts), t1: Array.from(spans.t1, (v) => (Number.isNaN(v) ? null : v)) },
  };
}

export function writeFoldsFile(path: string, doc: FoldsFile): void {
  // One line per fold keeps the file diffable without spreading each range over four lines.
  const { spans, folds, ...head } = doc;
  const lines = [`${JSON.stringify(head, null, 2).slice(0, -2)},`, '  "folds": ['];
  folds.forEach((f, i) => lines.push(`    ${JSON.stringify(f)}${i + 1 < folds.length ? ',' : ''}`));
  lines.push('  ],', `  "spans": ${JSON.stringify(spans)}`, '}', '');
  writeFileSync(path, lines.join('\n'));
}

export interface LoadedFolds {
  doc: FoldsFile;
  folds: Fold[];
}

export function readFoldsFile(path: string): LoadedFolds {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the folds file ${path}: ${(err as Error).message}`);
  }
  const parsed = FoldsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${path} is not a barflow folds file: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const doc = parsed.data;
  const folds: Fold[] = doc.folds.map((f) => ({
    index: f.fold,
    train: fromRanges(f.train),
    test: fromRanges(f.test),
    validation: f.validation === undefined ? undefined : fromRanges(f.validation),
    testGroups: f.testGroups,
    testBlocks: f.testBlocks.map((b) => ({ from: Date.parse(b.from), to: Date.parse(b.to), labelEnd: Date.parse(b.labelEnd) })),
    purged: f.counts.purged,
    embargoed: f.counts.embargoed,
  }));
  return { doc, folds };
}
