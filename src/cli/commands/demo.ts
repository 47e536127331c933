import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Bar } from '../../bars/bar.js';
import { BAR_CSV_HEADER, formatBarCsv } from '../../streams/csv/csvBarWriter.js';
import { CsvBarReader } from '../../streams/csv/csvBarReader.js';
import { positiveNumber } from '../options.js';
import type { Command } from 'commander';
import { formatTs } from '../../bars/bar.js';
import { SAMPLES_DIR } from '../../paths.js';
import { ServiceManager } from '../../services/serviceManager.js';
import { serviceSettingsFromEnv } from '../../services/settings.js';
import { loadFile } from '../../streams/fileJobs.js';
import { FEATURES_TABLE } from '../../streams/questdb/featureWriter.js';
import { loadFeatureSet } from '../../operators/featureSet.js';
import { BARS_TABLE } from '../../streams/questdb/barWriter.js';
import { QuestDb } from '../../streams/questdb/questDb.js';
import { formatReadSummary } from '../output.js';
import { formatActions, formatStates } from './services.js';

/**
 * The demo's bundled samples (data/samples/SOURCES.md): three symbols of one venue over the same
 * week, so the series overlap in time as a multi-symbol book does.
 */
export const DEMO_SAMPLES = [
  { file: 'demo/BTCUSDT_binance_1m_20250310_20250316.csv', symbol: 'BTCUSDT' },
  { file: 'demo/ETHUSDT_binance_1m_20250310_20250316.csv', symbol: 'ETHUSDT' },
  { file: 'demo/SOLUSDT_binance_1m_20250310_20250316.csv', symbol: 'SOLUSDT' },
];

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the main job, end to end on the bundled samples: start the services, backfill the history into QuestDB, replay it into a dataset, label it, train a model with purged CV into a bundle and its HTML report, then serve it live while the later bars are published at speed, printing predictions as they arrive')
    .option('-t, --topic <topic>', 'bar topic the live part publishes to (emptied first)', 'bars.1m')
    .option('--rate <bars/s>', 'pace of the live part', positiveNumber, 2000)
    .action(async (flags: { topic: string; rate: number }) => {
      const services = new ServiceManager(serviceSettingsFromEnv(), process.env, (line) => console.log(line));
      console.log('== services');
      const { endpoints, states, topology } = await services.up();
      console.log(formatStates(states));
      console.log(`topology:\n${formatActions(topology)}`);

      // The first three quarters of each sample are history (QuestDB, the dataset, training); the
      // rest arrives later, live, and is what the model predicts.
      const out = 'demo-output';
      mkdirSync(join(out, 'history'), { recursive: true });
      const split: { symbol: string; history: Bar[]; rest: Bar[]; historyFile: string }[] = [];
      for (const sample of DEMO_SAMPLES) {
        const bars: Bar[] = [];
        for await (const batch of new CsvBarReader(join(SAMPLES_DIR, sample.file), { symbol: sample.symbol })) bars.push(...batch.bars);
        const cut = Math.floor(bars.length * 0.75);
        const historyFile = join(out, 'history', basename(sample.file));
        writeFileSync(historyFile, `${BAR_CSV_HEADER}\n${bars.slice(0, cut).map(formatBarCsv).join('\n')}\n`);
        split.push({ symbol: sample.symbol, history: bars.slice(0, cut), rest: bars.slice(cut), historyFile });
      }
      const produced = new Map<string, number>();
      for (const sample of split) {
        console.log(`\n== backfill ${sample.symbol}: the first ${sample.history.length} of ${sample.history.length + sample.rest.length} bars`);
        const job = await loadFile(sample.historyFile, { symbol: sample.symbol, questdb: endpoints.questdb });
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

      console.log('\n== replay: the history through the live operators into a dataset and the features table');
      const dataset = join(out, 'dataset');
      const { replay } = await import('../../streams/replay/replay.js');
      const summary = await replay({
        source: { kind: 'files', patterns: split.map((s) => s.historyFile) },
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

      const { modelDemo } = await import('./demoModel.js');
      await modelDemo({ out, dataset, brokers: endpoints.kafkaBrokers, questdb: endpoints.questdb, topic: flags.topic, samples: split, rate: flags.rate });
      console.log(`\n== done: dataset ${dataset}/, bundle ${join(out, 'bundle')}/, report ${join(out, 'report.html')}`);
      console.log('Services keep running: `npx barflow services status`, stop them with `npx barflow services down`.');
      // kafkajs may keep reconnect timers; everything is written and closed.
      process.exit(process.exitCode ?? 0);
    });
}
