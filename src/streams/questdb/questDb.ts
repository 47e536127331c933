import pg from 'pg';
import { parseIsoTimestamp, emptyTimestamp, type ParsedTimestamp } from '../../time/timestamps.js';
import type { QuestDbEndpoint } from './endpoint.js';

const TIMESTAMP_OID = 1114;
const TIMESTAMPTZ_OID = 1184;

/**
 * QuestDB sends TIMESTAMP columns as zone-less text; node-postgres would read them in the
 * machine's local zone. They are UTC, so they are parsed as such, to epoch milliseconds.
 */
function parseUtcTimestamp(text: string): number {
  const out: ParsedTimestamp = emptyTimestamp();
  if (!parseIsoTimestamp(text, out)) throw new Error(`QuestDB sent an unreadable timestamp ${JSON.stringify(text)}`);
  return out.ms;
}

const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === TIMESTAMP_OID || oid === TIMESTAMPTZ_OID) return parseUtcTimestamp;
    return pg.types.getTypeParser(oid, format ?? 'text');
  },
} as pg.CustomTypesConfig;

/** QuestDB's JSON answer to `/exec`. */
export interface ExecResult {
  dataset?: unknown[][];
  columns?: { name: string; type: string }[];
  count?: number;
  ddl?: string;
}

export class QuestDbError extends Error {
  constructor(message: string, readonly query?: string) {
    super(query ? `${message}\n  query: ${query}` : message);
    this.name = 'QuestDbError';
  }
}

/**
 * A connection to one QuestDB server: SQL over PG wire (parameterised, streaming-friendly), DDL and
 * health over HTTP `/exec`. Writes go through the ILP sender (see QuestDbBarWriter).
 */
export class QuestDb {
  private client: pg.Client | null = null;

  constructor(readonly endpoint: QuestDbEndpoint) {}

  /**
   * Runs a query over HTTP `/exec` and returns QuestDB's JSON answer. For reads and health probes
   * only: `/exec` is a GET, and the HTTP client may resend a GET after a dropped connection, which
   * would run a DDL statement twice. Statements go through `execute` (PG wire).
   */
  async exec(sql: string, timeoutMs = 30_000): Promise<ExecResult> {
    const url = `${this.endpoint.httpUrl}/exec?${new URLSearchParams({ query: sql })}`;
    const headers: Record<string, string> = {};
    if (this.endpoint.httpAuth) {
      const { username, password } = this.endpoint.httpAuth;
      headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    }
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new QuestDbError(`QuestDB at ${this.endpoint.httpUrl} did not answer: ${(err as Error).message}`, sql);
    }
    const body = (await res.json().catch(() => ({}))) as ExecResult & { error?: string };
    if (!res.ok || body.error) {
      throw new QuestDbError(`QuestDB refused the statement (HTTP ${res.status}): ${body.error ?? res.statusText}`, sql);
    }
    return body;
  }

  /** Runs a statement (DDL, DML) over PG wire, exactly once. */
  async execute(sql: string): Promise<void> {
    await this.query(sql);
  }

  /** Runs a parameterised query over PG wire and returns its rows. */
  async query<T extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    const client = await this.pgClient();
    try {
      const res = await client.query<T>({ text: sql, values: params, types: typeParsers });
      return res.rows;
    } catch (err) {
      throw new QuestDbError(`QuestDB query failed: ${(err as Error).message}`, sql);
    }
  }

  /**
   * Waits until every committed WAL transaction of a table is applied, so that reads see all rows
   * written so far. Returns false on timeout.
   */
  async waitForWal(table: string, timeoutMs = 60_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await this.query<{ writerTxn: string | number; sequencerTxn: string | number; suspended: boolean }>(
        'SELECT writerTxn, sequencerTxn, suspended FROM wal_tables() WHERE name = $1',
        [table],
      );
      const row = rows[0];
      if (row === undefined) return true;
      if (row.suspended) throw new QuestDbError(`QuestDB suspended WAL apply of table ${table}; see its log`);
      if (BigInt(row.writerTxn) >= BigInt(row.sequencerTxn)) return true;
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.end();
  }

  private async pgClient(): Promise<pg.Client> {
    if (this.client) return this.client;
    const { host, port, user, password, database } = this.endpoint.pg;
    const client = new pg.Client({ host, port, user, password, database, connectionTimeoutMillis: 10_000 });
    client.on('error', () => {
      // A dropped connection surfaces as a failed query; drop the client so the next call reconnects.
      if (this.client === client) this.client = null;
    });
    try {
      await client.connect();
    } catch (err) {
      throw new QuestDbError(`cannot reach QuestDB PG wire at ${host}:${port}: ${(err as Error).message}`);
    }
    this.client = client;
    return client;
  }
}
