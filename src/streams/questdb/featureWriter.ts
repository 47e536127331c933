import http from 'node:http';
import https from 'node:https';
import type { FeatureSet } from '../../operators/featureSet.js';

/**
 * What the writer needs of a table's layout: a feature set, or any other rows of named doubles
 * keyed by (ts, symbol), such as predictions.
 */
export type DoubleRowSchema = Pick<FeatureSet, 'name' | 'version' | 'schemaHash'> & { columns: readonly { name: string }[] };
import type { FeatureRow } from '../../operators/rx.js';
import { checkTableName } from '../../topology/topology.js';
import type { FeatureSink } from '../featureSink.js';
import type { QuestDbEndpoint } from './endpoint.js';
import { FeatureIlpEncoder, type IlpFloatFormat } from './featureIlp.js';
import { QuestDb, QuestDbError } from './questDb.js';

export const FEATURES_TABLE = 'features';

export interface FeatureWriterOptions {
  table?: string;
  /** Request body size at which rows are sent without waiting for `flush` (default 4 MiB). */
  chunkBytes?: number;
  /** Requests in flight at once (default 2: the server parses one while the next is sent; 1 and 3 measured no better). */
  inFlight?: number;
  /** `close` waits until QuestDB has applied the table's WAL, so reads see every row (default true). */
  waitForWal?: boolean;
  walTimeoutMs?: number;
  /** 'auto' (default) asks the server whether it reads binary doubles (ILP v2). */
  format?: 'auto' | IlpFloatFormat;
  /** Create the table, or add missing columns, on open (default true). */
  ensureTable?: boolean;
  /** SYMBOL columns set on every row (e.g. { model: name }); they join the dedup keys. */
  tags?: Record<string, string>;
  /** Partitioning of a table created on open (default FEATURE_PARTITIONING). */
  partitionBy?: FeaturePartitioning;
  /** How long a request is retried after a dropped connection or a 5xx that may be transient. */
  retryTimeoutMs?: number;
}

/** Statuses worth retrying (as @questdb/nodejs-client does); resending is harmless under dedup. */
const RETRY_STATUS = new Set([500, 503, 504, 507, 509, 523, 524, 529, 599]);

/**
 * Feature rows into a QuestDB table over ILP/HTTP, encoded by FeatureIlpEncoder (see there why not
 * the nodejs client). Rows are encoded as they are added and posted in chunks of `chunkBytes`, at
 * most `inFlight` requests at a time; `flush` posts what is buffered and waits until fewer than
 * `inFlight` requests are out, so a producer that awaits it keeps the pipe full without running
 * ahead. QuestDB commits each request as a whole; the table's DEDUP UPSERT KEYS(ts, symbol) make a
 * resent request harmless, which is what makes the retries safe.
 */
export class QuestDbFeatureWriter implements FeatureSink {
  rows = 0;
  /** Request bytes posted so far. */
  bytes = 0;
  private readonly encoder: FeatureIlpEncoder;
  private readonly queue: Buffer[] = [];
  private active = 0;
  private failure: Error | null = null;
  private waiters: (() => void)[] = [];
  private closed = false;
  private readonly agent: http.Agent;
  private readonly url: URL;
  private readonly headers: Record<string, string>;
  private readonly chunkBytes: number;
  private readonly inFlight: number;

  private constructor(
    private readonly db: QuestDb,
    readonly featureSet: DoubleRowSchema,
    readonly table: string,
    readonly format: IlpFloatFormat,
    private readonly opts: FeatureWriterOptions,
  ) {
    const endpoint = db.endpoint;
    this.chunkBytes = opts.chunkBytes ?? 4 << 20;
    this.inFlight = Math.max(1, opts.inFlight ?? 2);
    this.encoder = new FeatureIlpEncoder(table, featureSet.columns.map((c) => c.name), format, this.chunkBytes + (1 << 16), Object.entries(opts.tags ?? {}));
    this.url = new URL('/write?precision=ms', endpoint.httpUrl);
    const secure = this.url.protocol === 'https:';
    // node:http with keep-alive: one socket per request in flight, reused for the whole run. Not
    // fetch: posting 4 MiB bodies to a null server, fetch took ~4x the client CPU (2.6 vs 0.5 ms/MB).
    this.agent = secure ? new https.Agent({ keepAlive: true, maxSockets: this.inFlight }) : new http.Agent({ keepAlive: true, maxSockets: this.inFlight });
    this.headers = { 'content-type': 'text/plain; charset=utf-8' };
    if (endpoint.httpAuth) {
      const { username, password } = endpoint.httpAuth;
      this.headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    }
  }

  static async open(endpoint: QuestDbEndpoint, featureSet: DoubleRowSchema, opts: FeatureWriterOptions = {}): Promise<QuestDbFeatureWriter> {
    const table = checkTableName(opts.table ?? FEATURES_TABLE);
    const db = new QuestDb(endpoint);
    try {
      const format = opts.format === undefined || opts.format === 'auto' ? await ilpFloatFormat(endpoint) : opts.format;
      if (opts.ensureTable ?? true) await ensureFeatureTable(db, table, featureSet, { ...(opts.partitionBy ? { partitionBy: opts.partitionBy } : {}), tagColumns: Object.keys(opts.tags ?? {}) });
      return new QuestDbFeatureWriter(db, featureSet, table, format, opts);
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /** Encodes the row now (its values buffer may be reused right after); posts a full chunk. */
  add(row: FeatureRow): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error(`feature writer for ${this.table} is closed`);
    if (row.schemaHash !== this.featureSet.schemaHash) {
      throw new Error(`feature row for ${row.symbol} at ${row.ts} has schema ${row.schemaHash.slice(0, 12)}, table ${this.table} is written with feature set ${this.featureSet.name} v${this.featureSet.version} (${this.featureSet.schemaHash.slice(0, 12)})`);
    }
    this.encoder.add(row.symbol, row.ts, row.values);
    this.rows++;
    if (this.encoder.bytes >= this.chunkBytes) this.dispatch();
  }

  /** Posts what is buffered; resolves once fewer than `inFlight` requests are out. */
  async flush(): Promise<void> {
    this.dispatch();
    while (this.failure === null && (this.queue.length > 0 || this.active >= this.inFlight)) await this.changed();
    if (this.failure) throw this.failure;
  }

  /**
   * Posts what is buffered and waits only while more than `inFlight` requests wait behind the ones
   * in flight: a live producer goes on at once while QuestDB keeps up, and is held back (memory
   * stays bounded) when it falls behind. `drain` makes the rows durable.
   */
  async relieve(): Promise<void> {
    this.dispatch();
    while (this.failure === null && this.queue.length > this.inFlight) await this.changed();
    if (this.failure) throw this.failure;
  }

  /** Posts what is buffered and waits until QuestDB has acknowledged every request (rows durable in its WAL). */
  async drain(): Promise<void> {
    this.dispatch();
    while ((this.failure === null && this.queue.length > 0) || this.active > 0) await this.changed();
    if (this.failure) throw this.failure;
  }

  /** Posts the rest, waits for every request and (by default) for the WAL to be applied. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.dispatch();
      while ((this.failure === null && this.queue.length > 0) || this.active > 0) await this.changed();
      if (this.failure) throw this.failure;
      if ((this.opts.waitForWal ?? true) && this.rows > 0) {
        const timeout = this.opts.walTimeoutMs ?? 300_000;
        if (!(await this.db.waitForWal(this.table, timeout))) {
          throw new QuestDbError(`QuestDB has not applied the rows written to ${this.table} within ${timeout / 1000} s`);
        }
      }
    } finally {
      this.agent.destroy();
      await this.db.close();
    }
  }

  private dispatch(): void {
    const chunk = this.encoder.take();
    if (chunk === null || this.failure !== null) return;
    this.queue.push(chunk);
    this.pump();
  }

  private pump(): void {
    while (this.failure === null && this.active < this.inFlight && this.queue.length > 0) {
      const body = this.queue.shift()!;
      this.active++;
      this.send(body)
        .then(
          () => {
            this.bytes += body.length;
            this.encoder.giveBack(body);
          },
          (err: Error) => {
            this.failure ??= err;
            this.queue.length = 0;
          },
        )
        .finally(() => {
          this.active--;
          this.pump();
          const waiters = this.waiters;
          this.waiters = [];
          for (const w of waiters) w();
        });
    }
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Posts one body, retrying dropped connections and transient 5xx until `retryTimeoutMs`. */
  private async send(body: Buffer): Promise<void> {
    const deadline = Date.now() + (this.opts.retryTimeoutMs ?? 10_000);
    for (let attempt = 0; ; attempt++) {
      let res: { status: number; text: string };
      try {
        res = await this.post(body);
      } catch (err) {
        if (Date.now() < deadline) {
          await sleep(Math.min(1000, 50 * 2 ** attempt));
          continue;
        }
        throw new QuestDbError(`cannot write to table ${this.table} at ${this.url.origin}: ${(err as Error).message}`);
      }
      if (res.status === 204 || res.status === 200) return;
      if (RETRY_STATUS.has(res.status) && Date.now() < deadline) {
        await sleep(Math.min(1000, 50 * 2 ** attempt));
        continue;
      }
      throw new QuestDbError(`QuestDB refused rows for table ${this.table} (HTTP ${res.status}): ${questDbMessage(res.text)}`);
    }
  }

  private post(body: Buffer): Promise<{ status: number; text: string }> {
    const lib = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(
        this.url,
        { method: 'POST', agent: this.agent, headers: { ...this.headers, 'content-length': String(body.length) }, timeout: 300_000 },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer within 300 s')));
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** QuestDB's ILP error JSON (`{"code","message","line","errorId"}`) as one readable line. */
function questDbMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: string; line?: number; errorId?: string };
    if (body.message) return `${body.message.replace(/\n/g, ' ')}${body.errorId ? ` (errorId ${body.errorId})` : ''}`;
  } catch {
    // not JSON: fall through
  }
  return text.trim().slice(0, 500) || '(no message)';
}

/**
 * Whether the server reads ILP v2 binary doubles: its `/settings` lists the ILP protocol versions it
 * supports (`line.proto.support.versions`), which is how @questdb/nodejs-client decides too. A
 * server too old to have `/settings` (or to list the key) speaks version 1 only.
 */
export async function ilpFloatFormat(endpoint: QuestDbEndpoint): Promise<IlpFloatFormat> {
  const headers: Record<string, string> = {};
  if (endpoint.httpAuth) headers.authorization = `Basic ${Buffer.from(`${endpoint.httpAuth.username}:${endpoint.httpAuth.password}`).toString('base64')}`;
  let res: Response;
  try {
    res = await fetch(`${endpoint.httpUrl}/settings`, { headers, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new QuestDbError(`QuestDB at ${endpoint.httpUrl} did not answer: ${(err as Error).message}`);
  }
  if (!res.ok) return 'text';
  const body = (await res.json().catch(() => ({}))) as { config?: Record<string, unknown> };
  const versions = body.config?.['line.proto.support.versions'];
  return Array.isArray(versions) && versions.map(String).includes('2') ? 'binary' : 'text';
}

export type FeaturePartitioning = 'DAY' | 'WEEK' | 'MONTH' | 'YEAR';

/**
 * MONTH, not DAY: every partition holds one file per column (~180 here), and QuestDB creates a new
 * version of a partition (all its files) when a commit lands inside it, which a per-symbol backfill
 * does for every symbol after the first. File creation dominated the server's time (ext4_create in
 * a kernel profile); DAY measured about half the rows/s of MONTH (docs/questdb-features.md). A month
 * of 1-minute rows is ~60 MB per symbol, still a modest partition.
 */
export const FEATURE_PARTITIONING: FeaturePartitioning = 'MONTH';

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Creates the features table (one DOUBLE per feature column, dedup on ts and symbol so resent rows
 * replace themselves), or adds the columns an existing one lacks. A feature column of another type,
 * or dedup keys other than (ts, symbol), are refused: the rows could not be stored as written.
 */
export async function ensureFeatureTable(
  db: QuestDb,
  table: string,
  featureSet: DoubleRowSchema,
  opts: { partitionBy?: FeaturePartitioning; tagColumns?: string[] } = {},
): Promise<'created' | 'exists' | 'altered'> {
  const tags = opts.tagColumns ?? [];
  for (const t of tags) if (!/^[a-z_][a-z0-9_]*$/.test(t) || t === 'ts' || t === 'symbol') throw new Error(`tag column ${t} is not allowed`);
  const keyList = ['ts', 'symbol', ...tags].join(', ');
  checkTableName(table);
  const names = featureSet.columns.map((c) => c.name);
  for (const n of names) if (n === 'ts' || n === 'symbol') throw new Error(`feature column ${n} clashes with the table's own ${n} column`);
  const exists = await db.query('SELECT table_name FROM tables() WHERE table_name = $1', [table]);
  if (exists.length === 0) {
    const columns = names.map((n) => `${quote(n)} DOUBLE`).join(', ');
    const tagColumns = tags.map((t) => `${t} SYMBOL, `).join('');
    await db.execute(`CREATE TABLE IF NOT EXISTS ${table} (ts TIMESTAMP, symbol SYMBOL, ${tagColumns}${columns}) TIMESTAMP(ts) PARTITION BY ${opts.partitionBy ?? FEATURE_PARTITIONING} WAL DEDUP UPSERT KEYS(${keyList})`);
    return 'created';
  }
  // table_columns() shows the applied state of a WAL table: wait, or a column just added looks missing.
  if (!(await db.waitForWal(table))) throw new QuestDbError(`QuestDB has not applied pending changes to ${table} within 60 s`);
  const rows = await db.query<{ column: string; type: string; upsertKey: boolean }>(`SELECT "column", type, upsertKey FROM table_columns('${table}')`);
  const byName = new Map(rows.map((r) => [r.column.toLowerCase(), r]));
  const wrong = names.filter((n) => byName.has(n) && byName.get(n)!.type !== 'DOUBLE');
  if (wrong.length > 0) throw new Error(`table ${table}: feature columns ${wrong.map((n) => `${n} (${byName.get(n)!.type})`).join(', ')} are not DOUBLE`);
  let altered = false;
  // A tag column added later (a predictions table from before models were named) joins the keys.
  for (const t of tags) {
    if (byName.has(t)) continue;
    await db.execute(`ALTER TABLE ${table} ADD COLUMN ${t} SYMBOL`);
    altered = true;
  }
  const keys = rows.filter((r) => r.upsertKey).map((r) => r.column).sort().join(',');
  const wanted = ['ts', 'symbol', ...tags].sort().join(',');
  if (keys === '' || (keys === 'symbol,ts' && wanted !== keys)) {
    if (altered) await db.waitForWal(table);
    await db.execute(`ALTER TABLE ${table} DEDUP ENABLE UPSERT KEYS(${keyList})`);
    altered = true;
  } else if (keys !== wanted) {
    throw new Error(`table ${table} deduplicates on ${keys}, not on ${keyList}: resent rows would not replace themselves`);
  }
  const missing = names.filter((n) => !byName.has(n));
  // One column per ALTER: QuestDB refuses several in one statement on a WAL table.
  for (const n of missing) {
    await db.execute(`ALTER TABLE ${table} ADD COLUMN ${quote(n)} DOUBLE`);
    altered = true;
  }
  if (altered) await db.waitForWal(table);
  return altered ? 'altered' : 'exists';
}

/**
 * The last stored row time (epoch ms) of each symbol that has rows; a resumed backfill skips rows
 * at or before it. Waits for the WAL first so that rows already acknowledged are counted.
 */
export async function storedUntil(db: QuestDb, table: string, symbols: string[]): Promise<Map<string, number>> {
  checkTableName(table);
  const out = new Map<string, number>();
  if (symbols.length === 0) return out;
  const exists = await db.query('SELECT table_name FROM tables() WHERE table_name = $1', [table]);
  if (exists.length === 0) return out;
  await db.waitForWal(table);
  // LATEST ON reads each symbol's newest row from the end of the table, not a full scan.
  const params = symbols.map((_, i) => `$${i + 1}`).join(', ');
  const rows = await db.query<{ symbol: string; ts: number }>(`SELECT symbol, ts FROM ${table} WHERE symbol IN (${params}) LATEST ON ts PARTITION BY symbol`, symbols);
  for (const r of rows) out.set(r.symbol, r.ts);
  return out;
}

export interface StoredFeatureRow {
  ts: number;
  symbol: string;
  values: Float64Array;
}

/**
 * A symbol's stored rows in ts order, a page at a time (keyset paging on ts, unique per symbol
 * under dedup), values in the feature set's column order with NULL as NaN.
 */
export async function* readFeatureRows(
  db: QuestDb,
  table: string,
  featureSet: FeatureSet,
  symbol: string,
  pageSize = 10_000,
  range: { from?: number; to?: number } = {},
): AsyncGenerator<StoredFeatureRow[]> {
  checkTableName(table);
  const names = featureSet.columns.map((c) => c.name);
  const select = `SELECT ts, ${names.map(quote).join(', ')} FROM ${table}`;
  // Integer microseconds as text: QuestDB compares TIMESTAMP with them, exactly.
  const micros = (ms: number) => (BigInt(Math.trunc(ms)) * 1000n).toString();
  const upper = range.to === undefined ? '' : ` AND ts < ${micros(range.to)}`;
  let lower = range.from === undefined ? '' : ` AND ts >= ${micros(range.from)}`;
  for (;;) {
    const rows: Record<string, unknown>[] = await db.query(`${select} WHERE symbol = $1${lower}${upper} ORDER BY ts LIMIT ${pageSize}`, [symbol]);
    if (rows.length === 0) return;
    yield rows.map((r) => {
      const values = new Float64Array(names.length);
      for (let i = 0; i < names.length; i++) {
        const v = r[names[i]!];
        values[i] = v === null || v === undefined ? Number.NaN : Number(v);
      }
      return { ts: r.ts as number, symbol, values };
    });
    if (rows.length < pageSize) return;
    lower = ` AND ts > ${micros(rows[rows.length - 1]!.ts as number)}`;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
