/**
 * The live topology over the real broker on loopback, as deployed: `barflow live` runs as its own
 * process; this process produces bars for 1,000 symbols and consumes the feature rows downstream.
 *
 * - latency: every second one bar for each of the 1,000 symbols (a minute's burst), timed from
 *   just before the produce request to the feature row arriving at a downstream consumer;
 * - throughput: 100,000 bars (1,000 symbols × 100 minutes) already in the topic, a fresh process
 *   reading them, once writing QuestDB as well and once Kafka only; bars per second from its first
 *   row to its last (its own counter, read from /metrics).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Kafka } from 'kafkajs';
import type { Bar } from '../dist/bars/bar.js';
import { encodeBar } from '../dist/streams/kafka/barMessage.js';
import { idempotentProducer } from '../dist/streams/kafka/kafkaClient.js';
import type { QuestDbEndpoint } from '../dist/streams/questdb/endpoint.js';
import { QuestDb } from '../dist/streams/questdb/questDb.js';

const ROOT = resolve(import.meta.dirname, '..');
const SYMBOLS = Array.from({ length: 1000 }, (_, i) => `S${String(i).padStart(4, '0')}`);

export interface LiveFigures {
  live_p50_ms: number;
  live_p99_ms: number;
  live_bars_per_s: number;
  live_kafka_only_bars_per_s: number;
}

interface Names {
  id: string;
  file: string;
}

function config(dir: string, questdb: boolean): Names {
  const id = `bench${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  const file = join(dir, `${id}.yaml`);
  writeFileSync(
    file,
    [
      `kafka: { groupId: g-${id} }`,
      `topics: { bars: bars-${id}, dlq: dlq-${id}, features: feat-${id}, predictions: pred-${id}, state: state-${id} }`,
      `questdb: { enabled: ${questdb}, featuresTable: features_${id}, predictionsTable: predictions_${id} }`,
      'model: null',
      'metrics: { port: 0 }',
      '',
    ].join('\n'),
  );
  return { id, file };
}

/** Starts `barflow live` and resolves with its metrics URL once it has joined its group. */
function startLive(file: string, env: Record<string, string>): Promise<{ child: ChildProcess; metrics: string }> {
  const child = spawn(process.execPath, [resolve(ROOT, 'bin', 'barflow.js'), 'live', '-c', file], { env: { ...process.env, ...env, BARFLOW_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolveStart, reject) => {
    let text = '';
    let joined = false;
    let metrics = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      metrics ||= /"metrics":"([^"]+)"/.exec(text)?.[1] ?? '';
      joined ||= text.includes('joined the group');
      if (metrics && joined) resolveStart({ child, metrics });
    });
    child.on('exit', (code) => reject(new Error(`barflow live exited (${code}): ${text.slice(-500)}`)));
  });
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

async function stopLive(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** One bar per symbol for each minute `t` of the real series (same prices, 1,000 names). */
function minute(bars: Bar[], t: number) {
  const b = bars[t]!;
  return SYMBOLS.map((symbol) => ({ key: symbol, value: encodeBar({ ...b, symbol }) }));
}

async function latency(kafka: Kafka, bars: Bar[], dir: string, env: Record<string, string>): Promise<number[]> {
  const names = config(dir, true);
  const { child } = await startLive(names.file, env);
  const sentAt: number[] = [];
  const latencies: number[] = [];
  const perTick: number[][] = [];
  const ticks = 30;
  const warmup = 5;
  const consumer = kafka.consumer({ groupId: `down-${names.id}`, maxWaitTimeInMs: 100 });
  const producer = idempotentProducer(kafka);
  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic: `feat-${names.id}`, fromBeginning: true });
    let received = 0;
    const all = new Promise<void>((done) => {
      void consumer.run({
        eachBatch: async ({ batch }) => {
          const now = performance.now();
          for (const m of batch.messages) {
            const t = Math.round((m.value!.readDoubleLE(0) - bars[0]!.ts) / 60_000);
            if (t >= warmup) latencies.push(now - sentAt[t]!);
            if (process.env.BENCH_LIVE_TRACE) (perTick[t] ??= []).push(now - sentAt[t]!);
            if (++received === ticks * SYMBOLS.length) done();
          }
        },
      });
    });
    await new Promise((r) => setTimeout(r, 3000)); // the downstream consumer joins its group
    const started = performance.now();
    for (let t = 0; t < ticks; t++) {
      const due = started + t * 1000;
      if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
      sentAt[t] = performance.now();
      await producer.send({ topic: `bars-${names.id}`, acks: -1, messages: minute(bars, t) });
    }
    await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`latency run: ${received} of ${ticks * SYMBOLS.length} rows arrived`)), 120_000))]);
  } finally {
    await producer.disconnect();
    await consumer.disconnect();
    await stopLive(child);
  }
  if (process.env.BENCH_LIVE_TRACE) console.log(perTick.map((l, t) => `${t}:${Math.round(Math.min(...l))}-${Math.round(Math.max(...l))}`).join(' '));
  return latencies.sort((a, b) => a - b);
}

async function throughput(kafka: Kafka, bars: Bar[], dir: string, env: Record<string, string>, questdb: boolean): Promise<number> {
  const names = config(dir, questdb);
  const minutes = 100;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: `bars-${names.id}`, numPartitions: 6 }] });
  await admin.disconnect();
  const producer = idempotentProducer(kafka);
  await producer.connect();
  for (let t = 0; t < minutes; t += 5) {
    await producer.send({ topic: `bars-${names.id}`, acks: -1, messages: [0, 1, 2, 3, 4].flatMap((k) => minute(bars, t + k)) });
  }
  await producer.disconnect();
  const { child, metrics } = await startLive(names.file, env);
  const total = minutes * SYMBOLS.length;
  let first = 0;
  let firstRows = 0;
  let rows = 0;
  try {
    while (rows < total) {
      await new Promise((r) => setTimeout(r, 100));
      rows = await metric(metrics, 'barflow_live_feature_rows_total');
      if (first === 0 && rows > 0) {
        first = performance.now();
        firstRows = rows;
      }
    }
    return Math.round((rows - firstRows) / ((performance.now() - first) / 1000));
  } finally {
    await stopLive(child);
  }
}

export async function liveBench(kafka: Kafka, bars: Bar[], env: Record<string, string>, questdb: QuestDbEndpoint): Promise<LiveFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'barflow-bench-live-'));
  try {
    const lat = await latency(kafka, bars, dir, env);
    const q = (p: number) => Number(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(2));
    const withQuestDb = await throughput(kafka, bars, dir, env, true);
    const kafkaOnly = await throughput(kafka, bars, dir, env, false);
    console.log('\nLive topology (barflow live as its own process, real broker on loopback, 1,000 symbols, default feature set)');
    console.log(`  latency, produce → feature row consumed downstream (${lat.length} rows, bursts of 1,000 bars every second): p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms`);
    console.log(`  sustained, one process: ${withQuestDb} bars/s writing Kafka + QuestDB; ${kafkaOnly} bars/s writing Kafka only`);
    return { live_p50_ms: q(0.5), live_p99_ms: q(0.99), live_bars_per_s: withQuestDb, live_kafka_only_bars_per_s: kafkaOnly };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    const db = new QuestDb(questdb);
    const tables = await db.query<{ table_name: string }>("SELECT table_name FROM tables() WHERE table_name LIKE 'features_bench%'");
    for (const t of tables) await db.execute(`DROP TABLE IF EXISTS ${t.table_name}`);
    await db.close();
  }
}
