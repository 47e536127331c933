/**
 * Feature rows into QuestDB: end to end (encode + POST + WAL applied) into a fresh table, and the
 * ILP encoder alone. Rows are computed first (default feature set over the BTCUSDT sample, repeated
 * under more symbols to reach the row count) so only ingestion is timed.
 *
 *   npx tsx bench/questdbFeatures.ts [rows]      (QuestDB from BARFLOW_QUESTDB, else 127.0.0.1:9000)
 *
 * Env: BENCH_QDB_FORMAT=binary|text, BENCH_QDB_CHUNK_MB, BENCH_QDB_INFLIGHT, BENCH_QDB_PARTITION=DAY|MONTH,
 * BENCH_QDB_ORDER=symbol|time to try the levers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Bar } from '../src/bars/bar.js';
import { FeatureEngine } from '../src/operators/featureEngine.js';
import { type FeatureSet, loadFeatureSet } from '../src/operators/featureSet.js';
import { CsvBarReader } from '../src/streams/csv/csvBarReader.js';
import { type QuestDbEndpoint, questDbEndpointFromEnv } from '../src/streams/questdb/endpoint.js';
import { FeatureIlpEncoder, type IlpFloatFormat } from '../src/streams/questdb/featureIlp.js';
import { type FeaturePartitioning, QuestDbFeatureWriter, ensureFeatureTable, ilpFloatFormat } from '../src/streams/questdb/featureWriter.js';
import { QuestDb } from '../src/streams/questdb/questDb.js';

const SAMPLE = process.env.BENCH_QDB_CSV ?? '/work/shared/data/BTCUSDT_binanceus_1m_20230301_20230321.csv';

interface Rows {
  featureSet: FeatureSet;
  ts: Float64Array;
  /** One view per row into one matrix (rows × columns). */
  values: Float64Array[];
}

/** The feature rows of the sample, computed once. */
async function sampleRows(featureSet: FeatureSet): Promise<Rows> {
  const bars: Bar[] = [];
  for await (const batch of new CsvBarReader(SAMPLE, { symbol: 'BTCUSDT' })) bars.push(...batch.bars);
  const engine = new FeatureEngine(featureSet);
  const width = featureSet.columns.length;
  const matrix = new Float64Array(bars.length * width);
  const ts = new Float64Array(bars.length);
  bars.forEach((bar, i) => {
    engine.update(bar);
    matrix.set(engine.row, i * width);
    ts[i] = bar.ts;
  });
  return { featureSet, ts, values: bars.map((_, i) => matrix.subarray(i * width, (i + 1) * width)) };
}

/** Feeds `rows` rows (symbol S<k> for the k-th repetition of the sample) to `add`. */
function feed(rows: Rows, n: number, add: (symbol: string, ts: number, values: Float64Array) => void): void {
  const per = rows.values.length;
  for (let i = 0; i < n; i++) {
    const k = Math.floor(i / per);
    const j = i - k * per;
    add(`S${k}`, rows.ts[j]!, rows.values[j]!);
  }
}

/**
 * CPU seconds (user + system) the QuestDB process has used, when it runs on this machine: its pid
 * from BENCH_QDB_PID, else `barflow services`' pid file when the endpoint is on loopback. Null when
 * unknown.
 */
function serverCpuSeconds(endpoint: QuestDbEndpoint): number | null {
  const pidFile = resolve('.barflow/questdb/questdb.pid');
  const local = /^https?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(endpoint.httpUrl);
  const pid = process.env.BENCH_QDB_PID ?? (local && existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() : '');
  if (pid === '') return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return null;
  }
}

export async function benchQuestDbFeatures(
  endpoint: QuestDbEndpoint,
  rows: number,
): Promise<{ rows_per_s: number; columns: number; bytes_per_row: number; encode_rows_per_s: number; client_cpu_us_per_row: number; server_cpu_us_per_row: number | null }> {
  const featureSet = loadFeatureSet();
  const sample = await sampleRows(featureSet);
  const envFormat = process.env.BENCH_QDB_FORMAT as IlpFloatFormat | undefined;
  const format = envFormat ?? (await ilpFloatFormat(endpoint));
  const names = featureSet.columns.map((c) => c.name);

  // The encoder alone: best of 3 passes over the same rows.
  let encodeSeconds = Number.POSITIVE_INFINITY;
  let encodedBytes = 0;
  for (let pass = 0; pass < 3; pass++) {
    const enc = new FeatureIlpEncoder('features_bench', names, format, 5 << 20);
    let bytes = 0;
    const started = performance.now();
    feed(sample, rows, (s, ts, v) => {
      enc.add(s, ts, v);
      if (enc.bytes >= 4 << 20) {
        const chunk = enc.take()!;
        bytes += chunk.length;
        enc.giveBack(chunk); // as the writer does once a request is answered
      }
    });
    bytes += enc.take()?.length ?? 0;
    encodeSeconds = Math.min(encodeSeconds, (performance.now() - started) / 1000);
    encodedBytes = bytes;
  }

  // End to end into a fresh table, created before the clock starts.
  const table = `features_bench_${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  const db = new QuestDb(endpoint);
  let seconds: number;
  let clientCpu: number;
  let serverCpu: number | null;
  try {
    const partitionBy = process.env.BENCH_QDB_PARTITION as FeaturePartitioning | undefined;
    await ensureFeatureTable(db, table, featureSet, partitionBy ? { partitionBy } : {});
    const writer = await QuestDbFeatureWriter.open(endpoint, featureSet, {
      table,
      format,
      ensureTable: false,
      chunkBytes: Number(process.env.BENCH_QDB_CHUNK_MB ?? 4) * (1 << 20),
      inFlight: Number(process.env.BENCH_QDB_INFLIGHT ?? 2),
    });
    const row = { symbol: '', ts: 0, values: sample.values[0]!, schemaHash: featureSet.schemaHash };
    const cpu = process.cpuUsage();
    const server = serverCpuSeconds(endpoint);
    const started = performance.now();
    let sinceFlush = 0;
    const per = sample.values.length;
    // 'symbol' (default): one symbol after another, as a per-symbol backfill sends them; 'time':
    // all symbols of one minute, then the next (every commit then appends to the table).
    const byTime = process.env.BENCH_QDB_ORDER === 'time';
    const symbols = Math.ceil(rows / per);
    for (let i = 0; i < rows; i++) {
      const k = byTime ? i % symbols : Math.floor(i / per);
      const j = byTime ? Math.floor(i / symbols) : i - k * per;
      row.symbol = `S${k}`;
      row.ts = sample.ts[j]!;
      row.values = sample.values[j]!;
      writer.add(row);
      // Like a batch producer: await back-pressure every few thousand rows.
      if (++sinceFlush === 4096) {
        sinceFlush = 0;
        await writer.flush();
      }
    }
    await writer.close();
    seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    clientCpu = (used.user + used.system) / rows;
    const serverAfter = serverCpuSeconds(endpoint);
    serverCpu = server !== null && serverAfter !== null ? ((serverAfter - server) * 1e6) / rows : null;
    const [stored] = await db.query<{ n: string }>(`SELECT count() n FROM ${table}`);
    if (Number(stored!.n) !== rows) throw new Error(`stored ${stored!.n} rows of ${rows}`);
  } finally {
    await db.execute(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await db.close();
  }
  return {
    rows_per_s: Math.round(rows / seconds),
    columns: names.length,
    bytes_per_row: Math.round(encodedBytes / rows),
    encode_rows_per_s: Math.round(rows / encodeSeconds),
    client_cpu_us_per_row: Math.round(clientCpu * 10) / 10,
    server_cpu_us_per_row: serverCpu === null ? null : Math.round(serverCpu),
  };
}

if (import.meta.url === pathToFileURL(resolve(process.argv[1] ?? '')).href) {
  const rows = Number(process.argv[2] ?? 200_000);
  const endpoint = questDbEndpointFromEnv();
  const format = process.env.BENCH_QDB_FORMAT ?? (await ilpFloatFormat(endpoint));
  const r = await benchQuestDbFeatures(endpoint, rows);
  console.log(`QuestDB feature rows (${rows} rows × ${r.columns} DOUBLE columns, ${format} doubles, ${r.bytes_per_row} B/row)`);
  console.log(`  end to end (encode + POST + WAL applied): ${r.rows_per_s.toLocaleString('en-US')} rows/s`);
  console.log(`  encoder alone:                            ${r.encode_rows_per_s.toLocaleString('en-US')} rows/s`);
  console.log(`  client CPU while writing:                 ${r.client_cpu_us_per_row} µs/row (encode + HTTP)`);
  if (r.server_cpu_us_per_row !== null) console.log(`  QuestDB CPU while writing:                ${r.server_cpu_us_per_row} µs/row (user + system, all its threads)`);
}
