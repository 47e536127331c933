/**
 * The live topology over the real broker on loopback, as deployed: `barflow live` runs as its own
 * process; this process produces bars and consumes the outputs downstream, as a user would.
 *
 * - latency (bench/liveLatency.ts): produce → feature row consumed and produce → prediction
 *   consumed, for 1 symbol (a bar every 200 ms), 100 and 1,000 symbols (a burst of one bar per
 *   symbol every second), against: the kafkajs floor (bench/kafkaRelay.ts: the same hop with
 *   nothing in it), `barflow live` with the drift baseline, and with a logistic bundle;
 * - throughput: 100,000 bars (1,000 symbols × 100 minutes) already in the topic, a fresh process
 *   reading them, once writing QuestDB as well and once Kafka only; bars per second from its first
 *   row to its last (its own counter, read from /metrics), and its resident memory at both ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Kafka } from 'kafkajs';
import type { Bar } from '../dist/bars/bar.js';
import { encodeBar } from '../dist/streams/kafka/barMessage.js';
import { idempotentProducer } from '../dist/streams/kafka/kafkaClient.js';
import type { QuestDbEndpoint } from '../dist/streams/questdb/endpoint.js';
import { QuestDb } from '../dist/streams/questdb/questDb.js';
import { replay } from '../dist/streams/replay/replay.js';
import { readLabelConfig } from '../dist/training/labels/labelConfig.js';
import { writeLabels } from '../dist/training/labels/labelSet.js';
import { parseTrainConfig } from '../dist/training/train/trainConfig.js';
import { trainFromConfig } from '../dist/training/train/trainRun.js';
import { SCENARIOS, type Stats, featureRowTs, formatStats, measure, predictionTs } from './liveLatency.js';

const ROOT = resolve(import.meta.dirname, '..');
const SYMBOLS = Array.from({ length: 1000 }, (_, i) => `S${String(i).padStart(4, '0')}`);
/** A binary feature row of the default set: ts and 207 float64 values. */
const FEATURE_ROW_BYTES = 8 * 208;

export type LiveFigures = Record<string, number>;

interface Names {
  id: string;
  file: string;
  bars: string;
  features: string;
  predictions: string;
}

function config(dir: string, opts: { questdb: boolean; model: 'drift' | { bundle: string } | null }): Names {
  const id = `bench${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  const file = join(dir, `${id}.yaml`);
  // topology/live.yaml with the names of this run and its own metrics port.
  const base = readFileSync(join(ROOT, 'topology', 'live.yaml'), 'utf8')
    .replace(/groupId: \S+/, `groupId: g-${id}`)
    .replace(/bars: bars\.1m/, `bars: bars-${id}`)
    .replace(/dlq: bars\.dlq/, `dlq: dlq-${id}`)
    .replace(/features: features\.1m/, `features: feat-${id}`)
    .replace(/predictions: predictions /, `predictions: pred-${id} `)
    .replace(/state: barflow\.operator-state/, `state: state-${id}`)
    .replace(/featureSet: features\/default\.yaml/, `featureSet: ${join(ROOT, 'topology', 'features', 'default.yaml')}`)
    .replace(/enabled: true/, `enabled: ${opts.questdb}`)
    .replace(/featuresTable: features/, `featuresTable: features_${id}`)
    .replace(/predictionsTable: predictions/, `predictionsTable: predictions_${id}`)
    .replace(/port: 9464/, 'port: 0');
  const model = opts.model === null ? base.replace(/^model:\n(  .*\n)+/m, 'model: null\n') : typeof opts.model === 'string' ? base : base.replace(/^model:\n(  .*\n)+/m, `model: null\nbundle: { path: ${opts.model.bundle} }\n`);
  writeFileSync(file, model);
  return { id, file, bars: `bars-${id}`, features: `feat-${id}`, predictions: `pred-${id}` };
}

/** Starts a child and resolves once its stderr/stdout says it joined its group. */
function startChild(args: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; text: () => string }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env, BARFLOW_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolveStart, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (ready.test(text)) resolveStart({ child, text: () => text });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}): ${text.slice(-500)}`)));
  });
}

async function startLive(file: string, env: Record<string, string>): Promise<{ child: ChildProcess; metrics: string }> {
  const { child, text } = await startChild([resolve(ROOT, 'bin', 'barflow.js'), 'live', '-c', file], env, /"msg":"joined the group"[\s\S]*"metrics":"[^"]+"|"metrics":"[^"]+"[\s\S]*"msg":"joined the group"/);
  return { child, metrics: /"metrics":"([^"]+)"/.exec(text())![1]! };
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function createTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: 6 })) });
  await admin.disconnect();
}

/** A logistic bundle of the default feature set, trained on the committed samples (as the inference bench does). */
async function trainBundle(dir: string): Promise<string> {
  const ds = join(dir, 'ds');
  await replay({ source: { kind: 'files', patterns: [join(ROOT, 'data/samples/*.csv')] }, out: ds, formats: ['arrow'], workers: 1, command: ['bench'] });
  const labels = join(ROOT, 'topology', 'labels.yaml');
  writeLabels(ds, readLabelConfig(labels), readFileSync(labels, 'utf8'), ['bench']);
  const out = join(dir, 'bundle');
  const doc = { name: 'bench-logistic', dataset: ds, labels: { target: 'tb' }, cv: { method: 'purged_kfold', k: 2 }, model: { kind: 'logistic', params: { l2: 1 } }, out };
  await trainFromConfig(parseTrainConfig(doc, 'bench'), JSON.stringify(doc));
  return out;
}

type Target = { name: string; key: string; start: () => Promise<{ stop: () => Promise<void>; bars: string; outputs: { topic: string; tsOf: (v: Buffer) => number }[] }> };

async function latencies(kafka: Kafka, bars: Bar[], targets: Target[]): Promise<LiveFigures> {
  const figures: LiveFigures = {};
  for (const target of targets) {
    const run = await target.start();
    try {
      console.log(`\n  ${target.name}`);
      for (const s of SCENARIOS) {
        const [features, predictions] = await measure(kafka, bars, run.bars, run.outputs, s, `${target.key}${s.key}x`);
        const show = (what: string, x: Stats) => console.log(`    ${s.name}: produce → ${what} consumed: ${formatStats(x)}`);
        show(target.key === 'floor' ? 'relayed message' : 'feature row', features!);
        figures[`live_${target.key}_${s.key}_p50_ms`] = features!.p50;
        figures[`live_${target.key}_${s.key}_p99_ms`] = features!.p99;
        if (predictions !== undefined) {
          show('prediction', predictions);
          figures[`live_${target.key}_${s.key}_prediction_p99_ms`] = predictions.p99;
        }
      }
    } finally {
      await run.stop();
    }
  }
  return figures;
}

async function throughput(kafka: Kafka, bars: Bar[], dir: string, env: Record<string, string>, questdb: boolean): Promise<{ barsPerS: number; rssStartMb: number; rssEndMb: number }> {
  const names = config(dir, { questdb, model: null });
  const minutes = 100;
  await createTopics(kafka, [names.bars]);
  const producer = idempotentProducer(kafka);
  await producer.connect();
  for (let t = 0; t < minutes; t += 5) {
    await producer.send({ topic: names.bars, acks: -1, messages: [0, 1, 2, 3, 4].flatMap((k) => SYMBOLS.map((symbol) => ({ key: symbol, value: encodeBar({ ...bars[t + k]!, symbol }) }))) });
  }
  await producer.disconnect();
  const { child, metrics } = await startLive(names.file, env);
  const total = minutes * SYMBOLS.length;
  let first = 0;
  let firstRows = 0;
  let rows = 0;
  let rssStart = 0;
  try {
    while (rows < total) {
      await new Promise((r) => setTimeout(r, 100));
      rows = await metric(metrics, 'barflow_live_feature_rows_total');
      if (first === 0 && rows > 0) {
        first = performance.now();
        firstRows = rows;
        rssStart = await metric(metrics, 'barflow_process_resident_memory_bytes');
      }
    }
    const barsPerS = Math.round((rows - firstRows) / ((performance.now() - first) / 1000));
    const rssEnd = await metric(metrics, 'barflow_process_resident_memory_bytes');
    return { barsPerS, rssStartMb: Math.round(rssStart / 2 ** 20), rssEndMb: Math.round(rssEnd / 2 ** 20) };
  } finally {
    await stopChild(child);
  }
}

export async function liveBench(kafka: Kafka, bars: Bar[], env: Record<string, string>, questdb: QuestDbEndpoint): Promise<LiveFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'barflow-bench-live-'));
  try {
    const bundle = await trainBundle(dir);
    const brokers = env.BARFLOW_KAFKA_BROKERS!;
    const liveTarget = (key: string, name: string, model: 'drift' | { bundle: string }): Target => ({
      key,
      name,
      start: async () => {
        const names = config(dir, { questdb: true, model });
        const { child } = await startLive(names.file, env);
        return { stop: () => stopChild(child), bars: names.bars, outputs: [{ topic: names.features, tsOf: featureRowTs }, { topic: names.predictions, tsOf: predictionTs }] };
      },
    });
    const targets: Target[] = [
      {
        key: 'floor',
        name: 'kafkajs floor: bench/kafkaRelay.ts, the same hop with nothing in it',
        start: async () => {
          const id = `relay${Date.now().toString(36)}`;
          await createTopics(kafka, [`${id}-in`, `${id}-out`]);
          const tsx = resolve(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
          const { child } = await startChild([tsx, 'bench/kafkaRelay.ts', brokers, `${id}-in`, `${id}-out`, `g-${id}`, String(FEATURE_ROW_BYTES)], env, /^ready$/m);
          return { stop: () => stopChild(child), bars: `${id}-in`, outputs: [{ topic: `${id}-out`, tsOf: featureRowTs }] };
        },
      },
      liveTarget('drift', 'barflow live, topology/live.yaml (drift baseline, QuestDB on)', 'drift'),
      liveTarget('logistic', 'barflow live, a logistic bundle (QuestDB on)', { bundle }),
    ];
    console.log('\nLive topology (each target its own process, real broker on loopback, default feature set; this process produces and consumes downstream)');
    const figures = await latencies(kafka, bars, targets);
    const withQuestDb = await throughput(kafka, bars, dir, env, true);
    const kafkaOnly = await throughput(kafka, bars, dir, env, false);
    console.log(`  sustained, one process, 1,000 symbols: ${withQuestDb.barsPerS} bars/s writing Kafka + QuestDB (RSS ${withQuestDb.rssStartMb} → ${withQuestDb.rssEndMb} MB); ${kafkaOnly.barsPerS} bars/s writing Kafka only (RSS ${kafkaOnly.rssStartMb} → ${kafkaOnly.rssEndMb} MB)`);
    return { ...figures, live_bars_per_s: withQuestDb.barsPerS, live_kafka_only_bars_per_s: kafkaOnly.barsPerS, live_rss_start_mb: withQuestDb.rssStartMb, live_rss_end_mb: withQuestDb.rssEndMb };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    const db = new QuestDb(questdb);
    const tables = await db.query<{ table_name: string }>("SELECT table_name FROM tables() WHERE table_name LIKE 'features_bench%' OR table_name LIKE 'predictions_bench%'");
    for (const t of tables) await db.execute(`DROP TABLE IF EXISTS ${t.table_name}`);
    await db.close();
  }
}

/** `tsx bench/live.ts`: this section alone (services up). */
if (import.meta.url === `file://${process.argv[1]}`) {
  const { createKafka, brokersFromEnv } = await import('../dist/streams/kafka/kafkaClient.js');
  const { questDbEndpointFromEnv } = await import('../dist/streams/questdb/endpoint.js');
  const { CsvBarReader } = await import('../dist/streams/csv/csvBarReader.js');
  const { benchInput } = await import('./input.js');
  const bars: Bar[] = [];
  for await (const batch of new CsvBarReader(benchInput(), { symbol: 'BENCH' })) bars.push(...batch.bars);
  const brokers = brokersFromEnv();
  const q = questDbEndpointFromEnv();
  const env = { BARFLOW_KAFKA_BROKERS: brokers.join(','), BARFLOW_QUESTDB: process.env.BARFLOW_QUESTDB ?? `http::addr=${new URL(q.httpUrl).host};` };
  console.log(JSON.stringify(await liveBench(createKafka(brokers, 'barflow-bench'), bars, env, q)));
}
