/**
 * What a user of the prediction topic sees: the time from producing a bar to consuming its feature
 * row (and its prediction) downstream, measured from this process against a topology running as its
 * own process (`barflow live`, or the kafkajs relay that is its floor). Bars go out as bursts of one
 * bar per symbol; every burst's bars carry the same bar time, so a consumed row's ts says which
 * burst it answers.
 */
import type { Kafka } from 'kafkajs';
import type { Bar } from '../dist/bars/bar.js';
import { encodeBar } from '../dist/streams/kafka/barMessage.js';
import { idempotentProducer } from '../dist/streams/kafka/kafkaClient.js';

export interface Scenario {
  /** Short name, used in the JSON keys. */
  key: string;
  name: string;
  symbols: number;
  bursts: number;
  intervalMs: number;
  /** Bursts left out of the figures (joins, restores, JIT). */
  warmup: number;
}

export const SCENARIOS: Scenario[] = [
  { key: '1', name: '1 symbol, a bar every 200 ms', symbols: 1, bursts: 80, intervalMs: 200, warmup: 10 },
  { key: '100', name: '100 symbols, a burst every second', symbols: 100, bursts: 20, intervalMs: 1000, warmup: 4 },
  { key: '1000', name: '1,000 symbols, a burst every second', symbols: 1000, bursts: 20, intervalMs: 1000, warmup: 4 },
];

export interface Stats {
  rows: number;
  p50: number;
  p99: number;
  max: number;
  /** Per burst, the time until its last row arrived: the median and the worst. */
  burstP50: number;
  burstMax: number;
}

export interface Output {
  topic: string;
  /** The bar time a consumed message answers. */
  tsOf(value: Buffer): number;
}

export const featureRowTs = (value: Buffer): number => value.readDoubleLE(0);
export const predictionTs = (value: Buffer): number => Date.parse((JSON.parse(value.toString('utf8')) as { ts: string }).ts);

function stats(latencies: number[], perBurst: number[]): Stats {
  const q = (xs: number[], p: number) => Number(xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!.toFixed(2));
  latencies.sort((a, b) => a - b);
  perBurst.sort((a, b) => a - b);
  return { rows: latencies.length, p50: q(latencies, 0.5), p99: q(latencies, 0.99), max: q(latencies, 1), burstP50: q(perBurst, 0.5), burstMax: q(perBurst, 1) };
}

/**
 * Sends the scenario's bursts to `barsTopic` and times each output's messages; symbols are named
 * `<prefix><n>` so scenarios run one after another against the same process stay apart.
 */
export async function measure(kafka: Kafka, bars: Bar[], barsTopic: string, outputs: Output[], s: Scenario, prefix: string): Promise<Stats[]> {
  const symbols = Array.from({ length: s.symbols }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);
  const sentAt: number[] = [];
  const tick = (ts: number) => Math.round((ts - bars[0]!.ts) / 60_000);
  const producer = idempotentProducer(kafka);
  const run = Date.now().toString(36);
  const consumers = outputs.map((_, k) => kafka.consumer({ groupId: `bench-down-${prefix}-${run}-${k}`, maxWaitTimeInMs: 100 }));
  const results = outputs.map(() => ({ latencies: [] as number[], last: new Map<number, number>(), received: 0 }));
  // Completion counts the measured bursts only: a consumer that resolved its start offset just
  // after the first warm-up burst went out must not hang the run.
  const want = (s.bursts - s.warmup) * s.symbols;
  try {
    await producer.connect();
    const joined = consumers.map((c) => new Promise<void>((r) => c.on(c.events.GROUP_JOIN, () => r())));
    const done = outputs.map(async (o, k) => {
      const c = consumers[k]!;
      const r = results[k]!;
      await c.connect();
      await c.subscribe({ topic: o.topic, fromBeginning: false });
      await new Promise<void>((resolve) => {
        void c.run({
          eachBatch: async ({ batch }) => {
            const now = performance.now();
            for (const m of batch.messages) {
              if (!m.key?.toString('utf8').startsWith(prefix)) continue;
              const t = tick(o.tsOf(m.value!));
              if (sentAt[t] === undefined) continue;
              const latency = now - sentAt[t]!;
              if (t < s.warmup) continue;
              r.latencies.push(latency);
              r.last.set(t, Math.max(r.last.get(t) ?? 0, latency));
              if (++r.received === want) resolve();
            }
          },
        });
      });
    });
    await Promise.all(joined);
    const started = performance.now();
    for (let t = 0; t < s.bursts; t++) {
      const due = started + t * s.intervalMs;
      if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
      sentAt[t] = performance.now();
      const b = bars[t]!;
      await producer.send({ topic: barsTopic, acks: -1, messages: symbols.map((symbol) => ({ key: symbol, value: encodeBar({ ...b, symbol }) })) });
    }
    await Promise.race([
      Promise.all(done),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`${s.name}: ${results.map((r) => r.received).join(' / ')} of ${want} rows arrived`)), 120_000)),
    ]);
  } finally {
    await producer.disconnect();
    for (const c of consumers) await c.disconnect();
  }
  return results.map((r) => stats(r.latencies, [...r.last.values()]));
}

export function formatStats(x: Stats): string {
  return `p50 ${x.p50} ms, p99 ${x.p99} ms, max ${x.max} ms (bursts complete: median ${x.burstP50} ms, worst ${x.burstMax} ms; ${x.rows} rows)`;
}
