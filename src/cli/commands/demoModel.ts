import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bar } from '../../bars/bar.js';
import { formatTs } from '../../bars/bar.js';
import { PACKAGE_ROOT } from '../../paths.js';
import { LiveConfigSchema } from '../../serving/live/liveConfig.js';
import { LiveTopology } from '../../serving/live/liveTopology.js';
import { DEFAULT_FEATURE_SET_FILE } from '../../operators/featureSet.js';
import type { QuestDbEndpoint } from '../../streams/questdb/endpoint.js';
import { KafkaBarPublisher } from '../../streams/kafka/barPublisher.js';
import { createKafka } from '../../streams/kafka/kafkaClient.js';
import { readBacktestConfig } from '../../training/backtest/backtestConfig.js';
import { renderBacktestReport } from '../../training/backtest/report/htmlReport.js';
import { evaluateBundle } from '../../training/evaluation/evaluate.js';
import { readLabelConfig } from '../../training/labels/labelConfig.js';
import { writeLabels } from '../../training/labels/labelSet.js';
import { parseTrainConfig } from '../../training/train/trainConfig.js';
import { trainFromConfig } from '../../training/train/trainRun.js';
import { readFileSync } from 'node:fs';

export interface ModelDemoInput {
  out: string;
  dataset: string;
  brokers: string[];
  questdb: QuestDbEndpoint;
  topic: string;
  /** Per symbol: the bars the model trained on (replayed first, to warm the live state up) and the later ones it predicts. */
  samples: { symbol: string; history: Bar[]; rest: Bar[] }[];
  rate: number;
}

/**
 * The second half of the demo: labels, a small model trained with purged CV, its bundle and
 * report; then the live topology serving that bundle while the later bars are published to the
 * bar topic at speed, its predictions printed as they arrive.
 */
export async function modelDemo(d: ModelDemoInput): Promise<void> {
  console.log('\n== labels: triple barrier (2 × ATR, 60 bars) and forward returns (topology/labels.yaml)');
  const labelsFile = join(PACKAGE_ROOT, 'topology', 'labels.yaml');
  const labels = writeLabels(d.dataset, readLabelConfig(labelsFile), readFileSync(labelsFile, 'utf8'), ['barflow', 'demo']);
  for (const t of labels.entry.targets) console.log(`  ${t.name.padEnd(8)} ${t.known} labelled (+${t.up} −${t.down} 0×${t.zero}), ${t.missing} without`);

  console.log('\n== train: logistic regression on the triple-barrier label, 4-fold purged CV with a 30-minute embargo');
  const bundle = join(d.out, 'bundle');
  const doc = {
    name: 'demo-logistic',
    version: '1.0.0',
    seed: 7,
    dataset: d.dataset,
    labels: { set: 'default', target: 'tb' },
    cv: { method: 'purged_kfold', k: 4, embargo: '30m' },
    calibration: { method: 'temperature' },
    model: { kind: 'logistic', params: { l2: 10 } },
    out: bundle,
  };
  const text = JSON.stringify(doc, null, 2);
  writeFileSync(join(d.out, 'train.json'), text);
  const trained = await trainFromConfig(parseTrainConfig(doc, 'demo'), text);
  const inputs = trained.manifest.features;
  const levels = inputs.columns.filter((c) => inputs.roles?.[c] !== 'stationary');
  console.log(`  inputs: the ${inputs.columns.length} stationary columns of the feature set (returns, oscillators, ratios, normalised ranges); ${levels.length === 0 ? 'no price or volume level' : `levels: ${levels.join(', ')}`}`);
  for (const c of trained.cv) console.log(`  fold ${c.fold}: ${c.metrics.n} rows, log loss ${c.metrics.logLoss!.toFixed(4)}, AUC ${c.metrics.auc!.toFixed(3)}, accuracy ${(c.metrics.accuracy! * 100).toFixed(1)}%`);
  const meanAuc = trained.cv.reduce((a, c) => a + c.metrics.auc!, 0) / trained.cv.length;
  // Said plainly: a week of 1-minute bars rarely holds an edge a linear model finds, and a demo
  // that looked skilful here would have leaked.
  if (Math.abs(meanAuc - 0.5) < 0.03) console.log(`  mean out-of-fold AUC ${meanAuc.toFixed(3)}: no ranking skill, as expected of a linear model on one week of bars; the backtest pays its costs`);
  console.log(`  bundle ${bundle}/ (${Object.keys(trained.manifest.files).length} files, each with its sha256 in manifest.json)`);

  const ev = await evaluateBundle(bundle, d.dataset, readBacktestConfig(join(PACKAGE_ROOT, 'topology', 'backtest.yaml')), ['barflow', 'demo']);
  // The demo trains a binary model: it has p_up, so a backtest.
  if (ev.backtest === null) throw new Error('the demo bundle gave no backtest');
  const report = join(d.out, 'report.html');
  writeFileSync(report, renderBacktestReport(ev.backtest, { title: 'barflow demo: logistic regression, out-of-fold', ...(ev.classification === null ? {} : { classification: ev.classification }) }));
  const o = ev.backtest.overall.metrics;
  console.log(`  out-of-fold backtest: total return ${(o.totalReturn * 100).toFixed(2)}%, Sharpe ${o.sharpe.toFixed(2)}, ${o.trades} trades, costs ${(o.costs * 100).toFixed(2)}%; report ${report}`);

  console.log(`\n== live: barflow live serving the bundle; the later bars go to ${d.topic} at ${d.rate} bars/s`);
  const kafka = createKafka(d.brokers, 'barflow-demo');
  const admin = kafka.admin();
  await admin.connect();
  // The bar topic starts empty for this run: bars of earlier runs would come before this history.
  await admin.deleteTopicRecords({ topic: d.topic, partitions: (await admin.fetchTopicOffsets(d.topic)).map((p) => ({ partition: p.partition, offset: '-1' })) });
  const predictionsStart = await admin.fetchTopicOffsets('predictions').catch(() => []);
  await admin.disconnect();
  const publisher = new KafkaBarPublisher(kafka, d.topic);
  await publisher.connect();
  // Bars go out in time order across the symbols, as a feed sends them.
  await publisher.write(inTimeOrder(d.samples.map((s) => s.history)));
  const run = `demo-${Date.now().toString(36)}`;
  const config = {
    ...LiveConfigSchema.parse({ kafka: { groupId: run }, topics: { bars: d.topic }, bundle: { path: bundle }, commitIntervalMs: 2000, metrics: { port: 0 } }),
    featureSetFile: DEFAULT_FEATURE_SET_FILE,
    source: 'barflow demo',
  };
  const topology = new LiveTopology(config, { brokers: d.brokers, questdb: d.questdb });
  await topology.start();
  const later = new Map(d.samples.map((s) => [s.symbol, s.rest.length > 0 ? s.rest[0]!.ts : Number.POSITIVE_INFINITY]));
  const wanted = d.samples.reduce((n, s) => n + s.rest.length, 0);
  let seen = 0;
  const pUp = new Map<string, number[]>(d.samples.map((s) => [s.symbol, []]));
  const consumer = kafka.consumer({ groupId: `${run}-printer`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'predictions', fromBeginning: true });
  const start = new Map(predictionsStart.map((p) => [p.partition, Number(p.offset ?? p.high)]));
  let done!: () => void;
  const allSeen = new Promise<void>((r) => (done = r));
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      if (Number(message.offset) < (start.get(partition) ?? 0)) return;
      const p = JSON.parse(message.value!.toString('utf8')) as { symbol: string; ts: string; p_up: number | null; e_r: number | null; model: string };
      if (Date.parse(p.ts) < (later.get(p.symbol) ?? Number.POSITIVE_INFINITY)) return;
      seen++;
      if (p.p_up !== null) pUp.get(p.symbol)?.push(p.p_up);
      if (seen <= 5 || seen % 250 === 0 || seen === wanted) {
        console.log(`  ${p.symbol.padEnd(8)} ${p.ts}  p_up ${p.p_up === null ? '  –   ' : p.p_up.toFixed(4)}  E[r] ${p.e_r === null ? '–' : (p.e_r * 1e4).toFixed(2)} bp  (${p.model}; ${seen}/${wanted})`);
      }
      if (seen >= wanted) done();
    },
  });
  const paced = new KafkaBarPublisher(kafka, d.topic, { rate: d.rate });
  await paced.connect();
  await paced.write(inTimeOrder(d.samples.map((s) => s.rest)));
  await Promise.race([allSeen, new Promise((r) => setTimeout(r, 120_000))]);
  await consumer.disconnect();
  await publisher.close();
  await paced.close();
  await topology.stop();
  console.log(`  ${seen} predictions of the ${wanted} later bars arrived on the predictions topic (and in QuestDB predictions)`);
  for (const s of d.samples) {
    if (s.rest.length === 0) continue;
    const q = quantiles(pUp.get(s.symbol) ?? []);
    console.log(
      `  ${s.symbol.padEnd(8)} live from ${formatTs(s.rest[0]!.ts)} to ${formatTs(s.rest[s.rest.length - 1]!.ts)}: p_up ` +
        (q === null ? 'none' : `min ${q.min.toFixed(3)}, median ${q.median.toFixed(3)}, max ${q.max.toFixed(3)}, ${(q.above * 100).toFixed(0)}% above 0.5`),
    );
  }
}

/** Bars of several symbols merged by time (ties in the order given): how a live feed interleaves them. */
export function inTimeOrder(series: Bar[][]): Bar[] {
  return series.flatMap((bars, k) => bars.map((bar) => ({ bar, k }))).sort((a, b) => a.bar.ts - b.bar.ts || a.k - b.k).map((x) => x.bar);
}

function quantiles(xs: number[]): { min: number; median: number; max: number; above: number } | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted[sorted.length - 1]!, above: xs.filter((x) => x > 0.5).length / xs.length };
}
