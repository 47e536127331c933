import type { ApplyAction, TableDecl } from '../../topology/topology.js';
import type { QuestDb } from './questDb.js';

export function createTableSql(t: TableDecl): string {
  const columns = t.columns.map((c) => `${c.name} ${c.type}`).join(', ');
  let sql = `CREATE TABLE IF NOT EXISTS ${t.name} (${columns}) TIMESTAMP(${t.timestamp}) PARTITION BY ${t.partitionBy}`;
  if (t.wal) sql += ' WAL';
  if (t.dedupKeys.length > 0) sql += ` DEDUP UPSERT KEYS(${t.dedupKeys.join(', ')})`;
  return sql;
}

interface ColumnRow extends Record<string, unknown> {
  column: string;
  type: string;
  upsertKey: boolean;
}

/**
 * Creates missing tables, adds missing columns, and enables dedup on the declared keys when a table
 * has none (without it re-sent rows would be duplicated). A type or key mismatch is reported as
 * drift and left alone: fixing it means rewriting data.
 */
export async function applyTable(db: QuestDb, t: TableDecl): Promise<ApplyAction> {
  const exists = await db.query('SELECT table_name FROM tables() WHERE table_name = $1', [t.name]);
  if (exists.length === 0) {
    await db.execute(createTableSql(t));
    return { kind: 'table', name: t.name, action: 'created', detail: `dedup on ${t.dedupKeys.join(', ') || 'none'}` };
  }
  // A WAL table applies ALTERs asynchronously and table_columns() shows the applied state, so a
  // column added a moment ago could look missing and be added twice. Wait for the WAL first.
  if (!(await db.waitForWal(t.name))) throw new Error(`QuestDB has not applied pending changes to ${t.name} within 60 s`);
  const columns = await db.query<ColumnRow>(`SELECT "column", type, upsertKey FROM table_columns('${t.name}')`);
  const byName = new Map(columns.map((c) => [c.column, c]));
  const altered: string[] = [];
  const drift: string[] = [];
  for (const c of t.columns) {
    const actual = byName.get(c.name);
    if (actual === undefined) {
      await db.execute(`ALTER TABLE ${t.name} ADD COLUMN ${c.name} ${c.type}`);
      altered.push(`added column ${c.name} ${c.type}`);
    } else if (actual.type !== c.type) {
      drift.push(`column ${c.name} is ${actual.type} (declared ${c.type})`);
    }
  }
  const keys = columns.filter((c) => c.upsertKey).map((c) => c.column).sort();
  const declared = [...t.dedupKeys].sort();
  if (keys.length === 0 && declared.length > 0) {
    await db.execute(`ALTER TABLE ${t.name} DEDUP ENABLE UPSERT KEYS(${t.dedupKeys.join(', ')})`);
    altered.push(`enabled dedup on ${t.dedupKeys.join(', ')}`);
  } else if (keys.join(',') !== declared.join(',')) {
    drift.push(`dedup keys ${keys.join(', ') || 'none'} (declared ${t.dedupKeys.join(', ')})`);
  }
  if (altered.length > 0) await db.waitForWal(t.name);
  if (drift.length > 0) return { kind: 'table', name: t.name, action: 'drift', detail: [...altered, ...drift].join('; ') };
  if (altered.length > 0) return { kind: 'table', name: t.name, action: 'altered', detail: altered.join('; ') };
  return { kind: 'table', name: t.name, action: 'exists' };
}
