import { join } from 'node:path';
import type { Command } from 'commander';
import { formatTs } from '../../bars/bar.js';
import { SAMPLES_DIR } from '../../paths.js';
import { ServiceManager } from '../../services/serviceManager.js';
import { serviceSettingsFromEnv } from '../../services/settings.js';
import { loadFile } from '../../streams/fileJobs.js';
import { FEATURES_TABLE } from '../../streams/questdb/featureWriter.js';
import { replay } from '../../streams/replay/replay.js';
import { loadFeatureSet } from '../../operators/featureSet.js';
import { createKafka } from '../../streams/kafka/kafkaClient.js';
import { BARS_TABLE } from '../../streams/questdb/barWriter.js';
import { QuestDb } from '../../streams/questdb/questDb.js';
import { formatReadSummary } from '../output.js';
import { formatActions, formatStates } from './services.js';

/** The bundled samples (data/samples/SOURCES.md) and the symbol each one carries. */
export const DEMO_SAMPLES = [
  { file: 'BTCUSDT_binanceus_1m_20230310_20230313.csv', symbol: 'BTCUSDT' },
  { file: 'ES_firstratedata_1m_20230924_20230929.csv', symbol: 'ES' },
];

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the main job, end to end on the bundled samples: start the services, ingest the bars into QuestDB, publish them to Kafka, print what landed, replay them through the operators into a dataset folder and the QuestDB features table')
    .option('-t, --topic <topic>', 'topic to publish to', 'bars.1m')
    .action(async (flags: { topic: string }) => {
      const services = new ServiceManager(serviceSettingsFromEnv(), process.env, (line) => console.log(line));
      console.log('== services');
      const { endpoints, states, topology } = await services.up();
      console.log(formatStates(states));
      console.log(`topology:\n${formatActions(topology)}`);

      const produced = new Map<string, number>();
      for (const sample of DEMO_SAMPLES) {
        const file = join(SAMPLES_DIR, sample.file);
        console.log(`\n== ${sample.symbol}`);
        // Read once, written to QuestDB and published to Kafka together.
        const job = await loadFile(file, { symbol: sample.symbol, questdb: endpoints.questdb, brokers: endpoints.kafkaBrokers, topic: flags.topic });
        console.log(formatReadSummary(job.summary, { action: 'load', ...job }));
        produced.set(sample.symbol, job.summary.bars);
      }

      console.log(`\n== what landed in QuestDB ${BARS_TABLE}`);
      const db = new QuestDb(endpoints.questdb);
      try {
        for (const { symbol } of DEMO_SAMPLES) {
          const [row] = await db.query<{ n: string | number; first: number; last: number }>(
            `SELECT count() n, min(ts) first, max(ts) last FROM ${BARS_TABLE} WHERE symbol = $1`,
            [symbol],
          );
          const [lastBar] = await db.query<{ ts: number; close: number; volume: number }>(
            `SELECT ts, close, volume FROM ${BARS_TABLE} WHERE symbol = $1 ORDER BY ts DESC LIMIT 1`,
            [symbol],
          );
          console.log(
            `  ${symbol.padEnd(8)} ${String(row?.n ?? 0).padStart(6)} bars  ${row ? `${formatTs(row.first)} → ${formatTs(row.last)}` : ''}` +
              (lastBar ? `  last close ${lastBar.close} volume ${lastBar.volume}` : ''),
          );
        }
      } finally {
        await db.close();
      }

      console.log(`\n== what landed in Kafka ${flags.topic}`);
      const admin = createKafka(endpoints.kafkaBrokers, 'barflow-demo').admin();
      await admin.connect();
      try {
        const offsets = await admin.fetchTopicOffsets(flags.topic);
        const total = offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
        for (const [symbol, n] of produced) console.log(`  ${symbol.padEnd(8)} ${String(n).padStart(6)} messages published by this run`);
        console.log(`  ${offsets.length} partitions, ${total} messages retained in all (earlier runs included)`);
      } finally {
        await admin.disconnect();
      }
      console.log('\n== replay: the bars back out of QuestDB, through the live operators, into a dataset and the features table');
      const dataset = join('demo-output', 'dataset');
      const summary = await replay({
        source: { kind: 'questdb', table: BARS_TABLE, symbols: DEMO_SAMPLES.map((s) => s.symbol) },
        questdb: endpoints.questdb,
        out: dataset,
        toQuestDb: FEATURES_TABLE,
        command: ['barflow', 'demo'],
      });
      const featureSet = loadFeatureSet();
      for (const s of summary.symbols) console.log(`  ${s.symbol.padEnd(8)} ${String(s.rows).padStart(6)} rows × ${featureSet.columns.length} columns  ${s.from} → ${s.to}`);
      console.log(`  dataset ${dataset}/ (features.arrow, features.parquet, manifest.json), fingerprint ${summary.fingerprint.slice(0, 12)}`);
      console.log(`  QuestDB ${FEATURES_TABLE}: ${summary.questdb!.sent} rows sent, ${summary.questdb!.skipped} already stored (${summary.seconds.total.toFixed(1)} s in all)`);
      console.log('  a row at ts is available at ts + 1 minute (docs/features.md, docs/replay.md)');

      console.log('\nServices keep running: `npx barflow services status`, stop them with `npx barflow services down`.');
    });
}
