import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DEFAULT_TOPOLOGY_DIR } from '../paths.js';

/** Table and column names: plain SQL identifiers, so they can be put in statements as they are. */
export const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,126}$/;
const identifier = z.string().regex(SQL_IDENTIFIER, 'must be a plain SQL identifier');

export function checkTableName(name: string): string {
  if (!SQL_IDENTIFIER.test(name)) throw new Error(`invalid table name ${JSON.stringify(name)}: letters, digits and _ only, not starting with a digit`);
  return name;
}

export const TopicSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'Kafka topic names use letters, digits, . _ -'),
  description: z.string().optional(),
  partitions: z.number().int().positive(),
  replicationFactor: z.number().int().positive().default(1),
  config: z.record(z.string(), z.string()).default({}),
});
export type TopicDecl = z.infer<typeof TopicSchema>;

export const COLUMN_TYPES = ['SYMBOL', 'TIMESTAMP', 'DOUBLE', 'FLOAT', 'LONG', 'INT', 'SHORT', 'BOOLEAN', 'VARCHAR', 'STRING'] as const;

export const TableSchema = z
  .object({
    name: identifier,
    description: z.string().optional(),
    columns: z.array(z.object({ name: identifier, type: z.enum(COLUMN_TYPES) })).min(1),
    timestamp: identifier,
    partitionBy: z.enum(['NONE', 'HOUR', 'DAY', 'WEEK', 'MONTH', 'YEAR']),
    wal: z.boolean().default(true),
    dedupKeys: z.array(identifier).default([]),
  })
  .superRefine((t, ctx) => {
    const names = new Set(t.columns.map((c) => c.name));
    if (!t.columns.some((c) => c.name === t.timestamp && c.type === 'TIMESTAMP')) {
      ctx.addIssue({ code: 'custom', message: `timestamp ${t.timestamp} must be a TIMESTAMP column`, path: ['timestamp'] });
    }
    for (const k of t.dedupKeys) {
      if (!names.has(k)) ctx.addIssue({ code: 'custom', message: `dedup key ${k} is not a column`, path: ['dedupKeys'] });
    }
    if (t.dedupKeys.length > 0 && !t.dedupKeys.includes(t.timestamp)) {
      ctx.addIssue({ code: 'custom', message: 'dedup keys must include the designated timestamp', path: ['dedupKeys'] });
    }
  });
export type TableDecl = z.infer<typeof TableSchema>;

export interface Topology {
  topics: TopicDecl[];
  tables: TableDecl[];
}

export function loadYaml<T>(file: string, schema: z.ZodType<T>): T {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/** Reads `topics.yaml` and `tables.yaml` of a topology folder (the package's own by default). */
export function loadTopology(dir: string = process.env.BARFLOW_TOPOLOGY || DEFAULT_TOPOLOGY_DIR): Topology {
  const { topics } = loadYaml(join(dir, 'topics.yaml'), z.object({ topics: z.array(TopicSchema) }));
  const { tables } = loadYaml(join(dir, 'tables.yaml'), z.object({ tables: z.array(TableSchema) }));
  return { topics, tables };
}

/** One line of what `apply` did or found. */
export interface ApplyAction {
  kind: 'topic' | 'table';
  name: string;
  action: 'created' | 'exists' | 'altered' | 'drift';
  detail?: string;
}
