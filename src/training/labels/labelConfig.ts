import { z } from 'zod';
import { loadYaml } from '../../topology/topology.js';

/**
 * The label config of `barflow label`: which labels to compute, each named (its columns are
 * `<name>`, `<name>_t1`, …). Validated here, at the edge; the labelers trust these types.
 */

const Name = z.string().regex(/^[a-z][a-z0-9_]*$/, 'a lower-case name: letters, digits and _ (it prefixes the label columns)');

/** Where the bars after each row come from: the dataset's own 1-minute bar columns by default. */
const BarColumns = z
  .object({
    open: z.string().default('open_1m'),
    high: z.string().default('high_1m'),
    low: z.string().default('low_1m'),
    close: z.string().default('close_1m'),
  })
  .strict()
  .describe('dataset columns holding each row\'s own 1-minute bar');

const Barrier = {
  atr: z.string().default('atr14_1m').describe('feature column of the row that sizes the barriers (must be causal: computed at the row)'),
  k: z.number().positive().default(2).describe('barrier half-width in ATR units; the barriers are symmetric'),
  maxBars: z.number().int().min(1).max(100_000).default(60).describe('time barrier: bars after the row'),
  bothTouched: z.enum(['stop', 'target', 'neutral']).default('stop').describe('one bar touches both barriers: take the stop (conservative), the target, or label 0'),
};

export const TripleBarrierSpec = z.object({ name: Name, kind: z.literal('triple_barrier'), ...Barrier }).strict();

export const ForwardReturnSpec = z
  .object({
    name: Name,
    kind: z.literal('forward_return'),
    horizons: z.array(z.number().int().min(1).max(100_000)).min(1).describe('horizons in bars; one target column <name>_<h> each'),
    log: z.boolean().default(false).describe('log return instead of simple return'),
  })
  .strict();

export const MetaLabelSpec = z
  .object({
    name: Name,
    kind: z.literal('meta_label'),
    ...Barrier,
    signal: z
      .object({
        column: z.string().describe('dataset column, or predictions-file column with `file`, whose sign (against `center`) is the primary side'),
        file: z.string().optional().describe('predictions file (CSV or Arrow with ts, symbol and the column); default: the dataset itself'),
        center: z.number().default(0).describe('value read as no side; e.g. 0.5 for a probability'),
      })
      .strict(),
  })
  .strict();

export const LabelSpec = z.discriminatedUnion('kind', [TripleBarrierSpec, ForwardReturnSpec, MetaLabelSpec]);
export type LabelSpec = z.infer<typeof LabelSpec>;
export type TripleBarrierSpec = z.infer<typeof TripleBarrierSpec>;
export type ForwardReturnSpec = z.infer<typeof ForwardReturnSpec>;
export type MetaLabelSpec = z.infer<typeof MetaLabelSpec>;

export const LabelConfigSchema = z
  .object({
    name: Name.default('labels').describe('name of the label set: its file is labels/<name>.arrow in the dataset folder'),
    bars: BarColumns.default({ open: 'open_1m', high: 'high_1m', low: 'low_1m', close: 'close_1m' }),
    labels: z.array(LabelSpec).min(1),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    // Names are prefixes: two labels may still make the same column (a `_5` horizon of `a` and a
    // label named `a_5`), and a silently overwritten t1 column would purge by the wrong span.
    const owner = new Map<string, string>();
    for (const [i, l] of cfg.labels.entries()) {
      for (const column of labelColumns(l)) {
        const other = owner.get(column);
        if (other !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['labels', i, 'name'], message: other === l.name ? `label name ${l.name} is used twice` : `label ${l.name} would write column ${column}, which label ${other} writes too` });
          return;
        }
        owner.set(column, l.name);
      }
    }
  });

/** The columns a label writes, in file order. */
export function labelColumns(l: LabelSpec): string[] {
  const p = l.name;
  if (l.kind === 'forward_return') return l.horizons.flatMap((h) => [`${p}_${h}`, `${p}_${h}_t1`]);
  if (l.kind === 'triple_barrier') return [p, `${p}_t1`, `${p}_exit`, `${p}_ret`, `${p}_ret_atr`, `${p}_status`];
  return [p, `${p}_t1`, `${p}_side`, `${p}_ret`, `${p}_status`];
}

export type LabelConfig = z.infer<typeof LabelConfigSchema>;

export function parseLabelConfig(doc: unknown, source: string): LabelConfig {
  const parsed = LabelConfigSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

export function readLabelConfig(path: string): LabelConfig {
  return loadYaml(path, LabelConfigSchema);
}
