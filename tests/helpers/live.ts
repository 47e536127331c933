import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createKafka } from '../../src/streams/kafka/kafkaClient.js';
import { type DataFile, ROOT, SAMPLES, SHARED_DATA } from './files.js';
import { endpoints, unique } from './services.js';

function csvFiles(dir: string): DataFile[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.csv') && !n.includes('corrupt'));
  } catch {
    names = [];
  }
  return names.sort().map((n) => ({ file: join(dir, n), symbol: basename(n).split('_')[0]! }));
}

/**
 * Every CSV of shared/data (CI has it beside the checkout; hidden data from other venues may be put
 * there), or the committed samples; the symbol is the file name up to its first `_`, as replay does.
 */
export function sharedBarFiles(): DataFile[] {
  const shared = csvFiles(SHARED_DATA);
  return shared.length > 0 ? shared : csvFiles(SAMPLES);
}

/** The live parity tests' data: the committed samples in every run, and shared/data's files too where present (see DATA_SETS). */
export function liveDataSets(): { name: string; files: DataFile[] }[] {
  const shared = csvFiles(SHARED_DATA);
  return [{ name: 'samples', files: csvFiles(SAMPLES) }, ...(shared.length > 0 ? [{ name: 'shared/data', files: shared }] : [])];
}

export interface LiveNames {
  id: string;
  group: string;
  bars: string;
  dlq: string;
  features: string;
  predictions: string;
  state: string;
  featuresTable: string;
  predictionsTable: string;
}

/** A live config with names no other test uses; returns the file and the names. */
export function writeLiveConfig(dir: string, extra: { model?: boolean; bundle?: { path: string; fallback?: string }; commitIntervalMs?: number; maxMessageBytes?: number; createTopics?: boolean } = {}): { file: string; names: LiveNames } {
  const id = unique('lv').toLowerCase();
  const names: LiveNames = {
    id,
    group: `g-${id}`,
    bars: `bars-${id}`,
    dlq: `dlq-${id}`,
    features: `feat-${id}`,
    predictions: `pred-${id}`,
    state: `state-${id}`,
    featuresTable: `features_${id}`,
    predictionsTable: `predictions_${id}`,
  };
  const file = join(dir, `${id}.yaml`);
  writeFileSync(
    file,
    [
      `kafka: { groupId: ${names.group}, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500 }`,
      `topics: { bars: ${names.bars}, dlq: ${names.dlq}, features: ${names.features}, predictions: ${names.predictions}, state: ${names.state}${extra.createTopics === false ? ', create: false' : ''} }`,
      `featureSet: ${join(ROOT, 'topology', 'features', 'default.yaml')}`,
      `questdb: { featuresTable: ${names.featuresTable}, predictionsTable: ${names.predictionsTable} }`,
      `model: ${extra.model ? '{ builtin: drift }' : 'null'}`,
      ...(extra.bundle ? [`bundle: ${JSON.stringify(extra.bundle)}`] : []),
      `commitIntervalMs: ${extra.commitIntervalMs ?? 500}`,
      `maxMessageBytes: ${extra.maxMessageBytes ?? 65536}`,
      'metrics: { port: 0 }',
      '',
    ].join('\n'),
  );
  return { file, names };
}

/** One `barflow live` child process, its JSON log lines kept. */
export class LiveProcess {
  readonly child: ChildProcess;
  readonly logs: Record<string, unknown>[] = [];
  readonly exited: Promise<number | null>;
  metricsUrl = '';
  private started: Promise<void>;

  constructor(configFile: string) {
    this.child = spawn(process.execPath, [resolve(ROOT, 'bin', 'barflow.js'), 'live', '-c', configFile], {
      cwd: ROOT,
      env: { ...process.env, CI: '1', ...endpoints().env, BARFLOW_LOG_LEVEL: process.env.BARFLOW_TEST_LIVE_LOG_LEVEL ?? 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.exited = new Promise((r) =>
      this.child.on('exit', (code) => {
        if (process.env.BARFLOW_TEST_LIVE_LOGS) writeFileSync(join(process.env.BARFLOW_TEST_LIVE_LOGS, `live-${this.child.pid}.jsonl`), this.logs.map((l) => JSON.stringify(l)).join('\n'));
        r(code);
      }),
    );
    let rest = '';
    this.started = new Promise((resolveStart, reject) => {
      this.child.stderr!.on('data', (chunk: Buffer) => {
        const lines = (rest + chunk.toString('utf8')).split('\n');
        rest = lines.pop()!;
        for (const line of lines) {
          try {
            const entry = JSON.parse(line) as Record<string, unknown>;
            this.logs.push(entry);
            if (entry.msg === 'live topology started') {
              this.metricsUrl = entry.metrics as string;
              resolveStart();
            }
          } catch {
            this.logs.push({ text: line });
          }
        }
      });
      void this.exited.then((code) => reject(new Error(`barflow live exited (${code}) before it started: ${JSON.stringify(this.logs.slice(-5))}`)));
    });
  }

  /** Resolves once the topology has started; fails with its last log lines if that takes over `timeoutMs`. */
  ready(timeoutMs = 120_000): Promise<void> {
    return this.within(this.started, timeoutMs, 'did not start');
  }

  private within<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const tail = this.logs.slice(-15).map((l) => JSON.stringify(l)).join('\n');
        this.child.kill('SIGKILL');
        reject(new Error(`barflow live (pid ${this.child.pid}) ${what} within ${timeoutMs / 1000} s and was killed; its last log lines:\n${tail}`));
      }, timeoutMs);
    });
    return Promise.race([work, late]).finally(() => clearTimeout(timer));
  }

  async metric(name: string): Promise<number> {
    const text = await (await fetch(`${this.metricsUrl}/metrics`)).text();
    let sum = 0;
    for (const line of text.split('\n')) if (line.startsWith(name) && !line.startsWith('#')) sum += Number(line.split(' ').at(-1));
    return sum;
  }

  /** SIGTERM and wait for a clean exit. */
  async stop(timeoutMs = 60_000): Promise<number | null> {
    this.child.kill('SIGTERM');
    return this.within(this.exited, timeoutMs, 'did not exit after SIGTERM');
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Resolves when the group has committed every partition of the topic up to its end. */
export async function waitCommitted(group: string, topic: string, timeoutMs = 120_000): Promise<void> {
  const admin = createKafka(endpoints().brokers, 'barflow-test').admin();
  await admin.connect();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      let behind: string[];
      try {
        const ends = await admin.fetchTopicOffsets(topic);
        const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        behind = ends
          .filter((e) => Number(e.high) > Number(e.low) && Number(committed!.partitions.find((p) => p.partition === e.partition)?.offset ?? -1) < Number(e.high))
          .map((e) => `p${e.partition}`);
      } catch (err) {
        behind = [`(broker: ${(err as Error).message})`]; // e.g. leaders not elected yet after a restart
      }
      if (behind.length === 0) return;
      if (Date.now() > deadline) throw new Error(`group ${group} has not committed ${topic} to its end: ${behind.join(', ')} behind`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await admin.disconnect();
  }
}
