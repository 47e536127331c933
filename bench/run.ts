/**
 * `npm run bench`: throughput figures of the compiled code (dist/, as the CLI runs it), measured
 * side by side in one run on the same input. Results and the command live in docs/benchmarks.md.
 * Sections that need Kafka or QuestDB run only when they answer (`npx barflow services up`). The
 * last line printed is one JSON object with the operator figures.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import type { Bar } from '../dist/bars/bar.js';
import { kafkaAnswers, questDbAnswers } from '../dist/services/localServices.js';
import { CsvBarReader } from '../dist/streams/csv/csvBarReader.js';
import { KafkaBarPublisher } from '../dist/streams/kafka/barPublisher.js';
import { brokersFromEnv, createKafka } from '../dist/streams/kafka/kafkaClient.js';
import { QuestDbBarWriter } from '../dist/streams/questdb/barWriter.js';
import { questDbEndpointFromEnv } from '../dist/streams/questdb/endpoint.js';
import { QuestDb } from '../dist/streams/questdb/questDb.js';
import { ensureTable, ensureTopic } from '../dist/topology/apply.js';
import { loadTopology } from '../dist/topology/topology.js';
import { section } from './harness.js';
import { benchInput } from './input.js';
import { operatorBench } from './operators.js';
import { liveBench } from './live.js';
import { benchQuestDbFeatures } from './questdbFeatures.js';
import { replayBench } from './replay.js';
import { inferenceBench } from './inference.js';
import { ensembleBench } from './ensembles.js';

const FILE = benchInput();

async function readAllBars(): Promise<Bar[]> {
  const bars: Bar[] = [];
  for await (const batch of new CsvBarReader(FILE, { symbol: 'BENCH' })) for (const b of batch.bars) bars.push(b);
  return bars;
}

console.log(`input ${FILE}, node ${process.version}`);

// 1. Reading bar files: barflow's validating reader beside parsers that only split and convert.
await section('Reading 1-minute bar CSV', [
  {
    name: 'barflow CsvBarReader (parse + every validation rule)',
    once: async () => {
      let n = 0;
      for await (const batch of new CsvBarReader(FILE, { symbol: 'BENCH' })) n += batch.bars.length;
      return n;
    },
  },
  {
    name: 'csv-parse, columns → Date.parse/Number (no validation)',
    once: async () => {
      let n = 0;
      const parser = createReadStream(FILE).pipe(parse({ from_line: 2 }));
      for await (const rec of parser as AsyncIterable<string[]>) {
        const ts = Date.parse(rec[0]!);
        if (ts + Number(rec[1]) + Number(rec[2]) + Number(rec[3]) + Number(rec[4]) + Number(rec[5]) === Number.MIN_VALUE) n--;
        n++;
      }
      return n;
    },
  },
  {
    name: 'readline + split + Date.parse/Number (no validation, lower bound)',
    once: async () => {
      let n = -1;
      for await (const line of createInterface({ input: createReadStream(FILE), crlfDelay: Infinity })) {
        const f = line.split(',');
        if (Date.parse(f[0]!) + Number(f[1]) + Number(f[2]) + Number(f[3]) + Number(f[4]) + Number(f[5]) === Number.MIN_VALUE) n--;
        n++;
      }
      return n;
    },
  },
]);

const bars = await readAllBars();

// 2. The operators: feature rows, latency, state, peers.
const figures = await operatorBench(bars);

// 3. Replay end to end, to compare with the pure operator throughput above.
const replayFigures = await replayBench(FILE);
const fileReplay = Math.max(...replayFigures.map((r) => r.perSecond));

// 4. Writing to the services, when they answer.
const questdb = questDbEndpointFromEnv();
if (await questDbAnswers(questdb)) {
  const db = new QuestDb(questdb);
  const table = 'bench_bars_1m';
  await ensureTable(db, loadTopology(), table);
  let pass = 0;
  await section('QuestDB ingestion (SYMBOL + 5 DOUBLE + timestamp per row)', [
    {
      name: 'QuestDbBarWriter, ILP/HTTP (write, flush, WAL applied)',
      once: async () => {
        // New rows each pass (shifted in time), so no pass is a dedup no-op.
        const shifted = bars.map((b) => ({ ...b, ts: b.ts + pass * bars.length * 60_000 }));
        pass++;
        const writer = await QuestDbBarWriter.open(questdb, table);
        for (let i = 0; i < shifted.length; i += 8192) await writer.write(shifted.slice(i, i + 8192));
        await writer.close();
        await db.waitForWal(table);
        return bars.length;
      },
    },
  ]);
  await db.execute(`DROP TABLE ${table}`);
  await db.close();
  const q = await benchQuestDbFeatures(questdb, 200_000);
  console.log(`\nQuestDB feature ingestion (${q.columns} DOUBLE columns per row): ${q.rows_per_s} rows/s end to end (WAL applied), ${q.bytes_per_row} bytes per row; encoder alone ${q.encode_rows_per_s} rows/s`);
  Object.assign(figures, { questdb_feature_rows_per_s: q.rows_per_s, questdb_feature_columns: q.columns });
} else {
  console.log(`\nQuestDB at ${questdb.httpUrl} does not answer: skipped (npx barflow services up)`);
}

const brokers = brokersFromEnv();
if (await kafkaAnswers(brokers)) {
  const kafka = createKafka(brokers, 'barflow-bench');
  const topic = 'bench.bars';
  await ensureTopic(kafka, loadTopology(), topic);
  await section('Kafka publishing (one symbol, so one partition)', [
    {
      name: 'KafkaBarPublisher: kafkajs idempotent, acks=all, JSON values',
      once: async () => {
        const publisher = new KafkaBarPublisher(kafka, topic);
        await publisher.connect();
        for (let i = 0; i < bars.length; i += 8192) await publisher.write(bars.slice(i, i + 8192));
        await publisher.close();
        return bars.length;
      },
    },
  ]);
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
  if (await questDbAnswers(questdb)) {
    const env = { BARFLOW_KAFKA_BROKERS: brokers.join(','), BARFLOW_QUESTDB: process.env.BARFLOW_QUESTDB ?? `http::addr=${new URL(questdb.httpUrl).host};` };
    Object.assign(figures, await liveBench(kafka, bars, env, questdb));
  }
} else {
  console.log(`\nKafka at ${brokers.join(',')} does not answer: skipped (npx barflow services up)`);
}

Object.assign(figures, { replay_arrow_rows_per_s: replayFigures[0]!.perSecond, replay_parquet_rows_per_s: replayFigures[1]!.perSecond, replay_parquet_bars_rows_per_s: replayFigures[2]!.perSecond, replay_2workers_rows_per_s: replayFigures[4]!.perSecond, replay_vs_operators: Number((figures.bars_per_s / fileReplay).toFixed(2)) });
for (const f of await inferenceBench()) {
  const k = `${f.kind}_${f.objective}`;
  Object.assign(figures, { [`infer_${k}_p50_us`]: f.p50_us, [`infer_${k}_p99_us`]: f.p99_us, [`infer_${k}_rows_per_s`]: f.batch_rows_per_s, [`train_${k}_rows_per_s`]: f.train_rows_per_s, ...(f.train_s_per_epoch === null ? {} : { [`train_${k}_s_per_epoch`]: f.train_s_per_epoch }) });
}
console.log('\n## Ensembles, one row through the live serving path');
for (const f of await ensembleBench()) {
  const k = f.ensemble.split(' ')[0]!;
  Object.assign(figures, { [`ensemble_${k}_p50_us`]: f.p50_us, [`ensemble_${k}_p99_us`]: f.p99_us, [`ensemble_${k}_bases_p50_us`]: f.bases_p50_us });
}
console.log(JSON.stringify(figures));
