import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bar } from '../../src/bars/bar.js';
import { FeatureEngine } from '../../src/operators/featureEngine.js';
import { loadFeatureSet } from '../../src/operators/featureSet.js';
import type { FeatureRow } from '../../src/operators/rx.js';
import { CsvBarReader } from '../../src/streams/csv/csvBarReader.js';
import { QuestDbFeatureWriter, type StoredFeatureRow, ensureFeatureTable, readFeatureRows, storedUntil } from '../../src/streams/questdb/featureWriter.js';
import { QuestDb } from '../../src/streams/questdb/questDb.js';
import { endpoints, unique } from '../helpers/services.js';

const CSV = '/work/shared/data/BTCUSDT_binanceus_1m_20230301_20230321.csv';
const featureSet = loadFeatureSet();
const db = new QuestDb(endpoints().questdb);
const tables: string[] = [];
const table = (prefix = 'features_it') => {
  const name = unique(prefix);
  tables.push(name);
  return name;
};

/** Feature rows of two symbols, each row copied out of the engine's reused buffer. */
const rows: FeatureRow[] = [];

beforeAll(async () => {
  const bars: Bar[] = [];
  for await (const batch of new CsvBarReader(CSV, { symbol: 'BTCUSDT' })) {
    bars.push(...batch.bars);
    if (bars.length >= 6000) break;
  }
  const engines = new Map<string, FeatureEngine>();
  // BTCUSDT: the first 3000 bars; ALT_X: the next 3000 under another symbol (other ts, other values).
  bars.slice(0, 6000).forEach((bar, i) => {
    const symbol = i < 3000 ? 'BTCUSDT' : 'ALT_X';
    let engine = engines.get(symbol);
    if (!engine) engines.set(symbol, (engine = new FeatureEngine(featureSet)));
    engine.update({ ...bar, symbol });
    rows.push({ symbol, ts: bar.ts, values: engine.row.slice(), schemaHash: featureSet.schemaHash });
  });
});

afterAll(async () => {
  for (const t of tables) await db.execute(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
  await db.close();
});

/** Writes rows through one reused values buffer, as the pipeline does, flushing every 500 rows. */
async function write(name: string, input: readonly FeatureRow[], format?: 'binary' | 'text'): Promise<QuestDbFeatureWriter> {
  const writer = await QuestDbFeatureWriter.open(endpoints().questdb, featureSet, { table: name, ...(format ? { format } : {}), chunkBytes: 1 << 20 });
  const shared: FeatureRow = { symbol: '', ts: 0, values: new Float64Array(featureSet.columns.length), schemaHash: featureSet.schemaHash };
  for (let i = 0; i < input.length; i++) {
    const r = input[i]!;
    shared.symbol = r.symbol;
    shared.ts = r.ts;
    shared.values.set(r.values);
    writer.add(shared);
    if (i % 500 === 499) await writer.flush();
  }
  await writer.close();
  return writer;
}

async function readAll(name: string, symbol: string, pageSize?: number): Promise<StoredFeatureRow[]> {
  const out: StoredFeatureRow[] = [];
  for await (const page of readFeatureRows(db, name, featureSet, symbol, pageSize)) out.push(...page);
  return out;
}

async function count(name: string): Promise<number> {
  const [row] = await db.query<{ n: string }>(`SELECT count() n FROM ${name}`);
  return Number(row!.n);
}

/** Every value the same float64 (NaN ↔ NULL); QuestDB reads ±Infinity back as NULL. */
function expectSame(back: StoredFeatureRow[], want: readonly FeatureRow[]): void {
  expect(back.length).toBe(want.length);
  let mismatches = 0;
  const first: string[] = [];
  back.forEach((r, i) => {
    const w = want[i]!;
    if (r.ts !== w.ts || r.symbol !== w.symbol) throw new Error(`row ${i}: ${r.symbol}@${r.ts}, want ${w.symbol}@${w.ts}`);
    for (let c = 0; c < w.values.length; c++) {
      const x = w.values[c]!;
      const expected = Number.isFinite(x) ? x : Number.NaN;
      if (!Object.is(r.values[c], expected)) {
        mismatches++;
        if (first.length < 5) first.push(`${w.symbol}@${w.ts} ${featureSet.columns[c]!.name}: ${r.values[c]} vs ${x}`);
      }
    }
  });
  expect(first, `${mismatches} values differ`).toEqual([]);
}

describe('feature rows → QuestDB', () => {
  it('round-trips every value bit for bit (binary doubles), ts exact, and re-sending changes nothing', async () => {
    const name = table();
    const writer = await write(name, rows);
    expect(writer.format).toBe('binary');
    expect(writer.rows).toBe(rows.length);
    expect(await count(name)).toBe(rows.length);
    // There are missing values (warm-up) and real ones: both must come back as they went.
    const flat = rows.flatMap((r) => [...r.values]);
    expect(flat.some(Number.isNaN)).toBe(true);
    expect(flat.filter((x) => !Number.isNaN(x)).length).toBeGreaterThan(flat.length / 2);
    for (const symbol of ['BTCUSDT', 'ALT_X']) {
      expectSame(await readAll(name, symbol, 700), rows.filter((r) => r.symbol === symbol));
    }
    // Dedup on (ts, symbol): the same rows again leave the same rows.
    await write(name, rows.slice(0, 1000));
    expect(await count(name)).toBe(rows.length);
    expectSame(await readAll(name, 'BTCUSDT'), rows.filter((r) => r.symbol === 'BTCUSDT'));
  });

  it('the text encoding (ILP v1 servers) round-trips the same values', async () => {
    const name = table();
    const some = [...rows.slice(0, 600), ...rows.slice(3000, 3600)];
    await write(name, some, 'text');
    expect(await count(name)).toBe(some.length);
    expectSame(await readAll(name, 'BTCUSDT'), some.slice(0, 600));
    expectSame(await readAll(name, 'ALT_X'), some.slice(600));
  });

  it('storedUntil gives each symbol its last stored ts, for resuming', async () => {
    const name = table();
    expect(await storedUntil(db, name, ['BTCUSDT'])).toEqual(new Map());
    const btc = rows.filter((r) => r.symbol === 'BTCUSDT');
    await write(name, [...btc.slice(0, 1234), ...rows.filter((r) => r.symbol === 'ALT_X')]);
    const until = await storedUntil(db, name, ['BTCUSDT', 'ALT_X', 'NOPE']);
    expect(until).toEqual(new Map([['BTCUSDT', btc[1233]!.ts], ['ALT_X', rows[rows.length - 1]!.ts]]));
    // Resume: send only what is after it; the table ends as one whole run.
    await write(name, btc.filter((r) => r.ts > until.get('BTCUSDT')!));
    expectSame(await readAll(name, 'BTCUSDT'), btc);
  });

  it('creates, extends and checks the table', async () => {
    const name = table();
    expect(await ensureFeatureTable(db, name, featureSet)).toBe('created');
    expect(await ensureFeatureTable(db, name, featureSet)).toBe('exists');
    const partial = table();
    await db.execute(`CREATE TABLE ${partial} (ts TIMESTAMP, symbol SYMBOL, open_1m DOUBLE) TIMESTAMP(ts) PARTITION BY DAY WAL`);
    expect(await ensureFeatureTable(db, partial, featureSet)).toBe('altered');
    expect(await ensureFeatureTable(db, partial, featureSet)).toBe('exists');
    await write(partial, rows.slice(0, 200));
    expectSame(await readAll(partial, 'BTCUSDT'), rows.slice(0, 200));
    await expect(ensureFeatureTable(db, 'bad name', featureSet)).rejects.toThrow(/invalid table name/);
  });

  it('refuses a row of the wrong shape or schema, synchronously and clearly', async () => {
    const name = table();
    const writer = await QuestDbFeatureWriter.open(endpoints().questdb, featureSet, { table: name });
    try {
      expect(() => writer.add({ ...rows[0]!, values: new Float64Array(5) })).toThrow(new RegExp(`5 values, table features_it_\\w+ has ${featureSet.columns.length} feature columns`));
      expect(() => writer.add({ ...rows[0]!, schemaHash: 'f00' })).toThrow(/has schema f00, table features_it_\w+ is written with feature set default v1/);
      expect(() => writer.add({ ...rows[0]!, ts: Number.NaN })).toThrow(/not an integer epoch ms/);
      expect(writer.rows).toBe(0);
    } finally {
      await writer.close();
    }
  });

  it("turns QuestDB's refusal into an error naming the table and QuestDB's message", async () => {
    const name = table('features_it_bad');
    // A feature column of the wrong type: QuestDB refuses the doubles sent into it.
    await db.execute(`CREATE TABLE ${name} (ts TIMESTAMP, symbol SYMBOL, open_1m TIMESTAMP) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, symbol)`);
    await db.waitForWal(name);
    await expect(ensureFeatureTable(db, name, featureSet)).rejects.toThrow(new RegExp(`table ${name}: feature columns open_1m \\(TIMESTAMP\\) are not DOUBLE`));
    const writer = await QuestDbFeatureWriter.open(endpoints().questdb, featureSet, { table: name, ensureTable: false, retryTimeoutMs: 0 });
    for (const r of rows.slice(0, 10)) writer.add(r);
    const err = await writer.close().then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(new RegExp(`QuestDB refused rows for table ${name} \\(HTTP 400\\): .*open_1m`));
    expect(() => writer.add(rows[0]!)).toThrow(/QuestDB refused rows/);
  });
});
