import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatKafkaStorage, kafkaStorageFormatted } from '../../src/services/kafkaStorage.js';
import { resolveJars } from '../../src/services/maven.js';
import { isAlive, portIsFree } from '../../src/services/processes.js';
import { createKafka } from '../../src/streams/kafka/kafkaClient.js';
import { QuestDb } from '../../src/streams/questdb/questDb.js';
import { topicMetadataWithLeaders } from '../../src/streams/kafka/topics.js';
import { applyTopology, ensureTopic } from '../../src/topology/apply.js';
import { loadTopology } from '../../src/topology/topology.js';
import { ROOT } from '../helpers/files.js';
import { barflow, consumeAll, consumeUntil, createTopic, endpoints, unique } from '../helpers/services.js';
import { tempDir, testTempDir } from '../helpers/tempDir.js';
import { waitUntil } from '../helpers/wait.js';

async function freePorts(n: number, from: number): Promise<number[]> {
  const ports: number[] = [];
  for (let p = from; ports.length < n; p++) if (await portIsFree(p)) ports.push(p);
  return ports;
}

describe('barflow services (a second pair on other ports, in its own home)', () => {
  const home = tempDir('home');
  let env: Record<string, string | undefined> = {};
  afterAll(async () => {
    await barflow(['services', 'down'], env);
  });

  it('up starts both, up again is a no-op, down stops exactly them and frees the ports', async () => {
    env = await pairEnv(home);
    const [kafkaPort, controllerPort, httpPort, pgPort] = ['BARFLOW_KAFKA_PORT', 'BARFLOW_KAFKA_CONTROLLER_PORT', 'BARFLOW_QUESTDB_HTTP_PORT', 'BARFLOW_QUESTDB_PG_PORT'].map((k) => Number(env[k]));
    const first = await barflow(['services', 'up', '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    const up1 = JSON.parse(first.stdout);
    expect(up1.started).toEqual(['kafka', 'questdb']);
    expect(up1.states.map((s: { state: string; answering: boolean }) => [s.state, s.answering])).toEqual([
      ['running', true],
      ['running', true],
    ]);
    expect(up1.topology.filter((a: { action: string }) => a.action === 'created').length).toBe(6);
    const pids: number[] = up1.states.map((s: { pid: number }) => s.pid);

    const second = await barflow(['services', 'up', '--json'], env);
    expect(second.code, second.stderr).toBe(0);
    const up2 = JSON.parse(second.stdout);
    expect(up2.started).toEqual([]);
    expect(up2.states.map((s: { pid: number }) => s.pid)).toEqual(pids);
    expect(up2.topology.every((a: { action: string }) => a.action === 'exists')).toBe(true);

    const status = await barflow(['services', 'status'], env);
    expect(status.stdout).toContain(`127.0.0.1:${kafkaPort}`);
    expect(status.stdout).toContain(join(home, 'kafka', 'logs', 'server.log'));

    const down = await barflow(['services', 'down'], env);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toMatch(/kafka: stopped/);
    expect(down.stdout).toMatch(/questdb: stopped/);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    for (const port of [kafkaPort!, controllerPort!, httpPort!, pgPort!]) expect(await portIsFree(port)).toBe(true);
    const after = JSON.parse((await barflow(['services', 'status', '--json'], env)).stdout);
    expect(after.services.map((s: { state: string }) => s.state)).toEqual(['stopped', 'stopped']);
  });

  it('down never kills a process it did not start, even when a pid file names it', async () => {
    const otherHome = testTempDir('home');
    const decoy = spawn('sleep', ['300'], { stdio: 'ignore' });
    try {
      mkdirSync(join(otherHome, 'kafka'), { recursive: true });
      writeFileSync(join(otherHome, 'kafka', 'kafka.pid'), `${decoy.pid}\n`);
      const res = await barflow(['services', 'down'], { BARFLOW_HOME: otherHome, BARFLOW_KAFKA_BROKERS: '', BARFLOW_QUESTDB: '' });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toContain(`pid ${decoy.pid} is not a barflow kafka of this home`);
      expect(isAlive(decoy.pid!)).toBe(true);
    } finally {
      decoy.kill();
    }
  });

  it('uses external endpoints from the environment and starts nothing', async () => {
    const otherHome = testTempDir('home');
    const res = await barflow(['services', 'up', '--json'], { ...endpoints().env, BARFLOW_HOME: otherHome });
    expect(res.code, res.stderr).toBe(0);
    const up = JSON.parse(res.stdout);
    expect(up.started).toEqual([]);
    expect(up.states.map((s: { state: string; answering: boolean }) => [s.state, s.answering])).toEqual([
      ['external', true],
      ['external', true],
    ]);
  });
});

/**
 * Env for a second pair of services in their own home, on free ports, with the jars the global
 * setup resolved (so their starts are offline).
 */
async function pairEnv(home: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const [kafkaPort, controllerPort, httpPort, pgPort] = await freePorts(4, 19240);
  return {
    BARFLOW_HOME: home,
    BARFLOW_CACHE: resolve(process.env.BARFLOW_CACHE || resolve(ROOT, '.barflow', 'cache')),
    BARFLOW_KAFKA_PORT: String(kafkaPort),
    BARFLOW_KAFKA_CONTROLLER_PORT: String(controllerPort),
    BARFLOW_QUESTDB_HTTP_PORT: String(httpPort),
    BARFLOW_QUESTDB_PG_PORT: String(pgPort),
    BARFLOW_KAFKA_BROKERS: '',
    BARFLOW_QUESTDB: '',
    BARFLOW_QUESTDB_PG: '',
    ...extra,
  };
}

/** Pids of processes whose command line has all the given words (Linux /proc). */
function processesWith(...words: string[]): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (words.every((w) => args.some((a) => a.includes(w)))) pids.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return pids;
}

/** `barflow services up` as a child process that the test can kill -9. */
function upInBackground(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [resolve(ROOT, 'bin', 'barflow.js'), 'services', 'up'], { cwd: ROOT, env: { ...process.env, CI: '1', ...env }, stdio: 'ignore' });
}

function killHard(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      /* not a group leader, or gone */
    }
  }
}

function clusterIdOf(home: string): string | undefined {
  return /^cluster\.id=(.*)$/m.exec(readFileSync(join(home, 'kafka', 'data', 'meta.properties'), 'utf8'))?.[1];
}

describe('barflow services up, after a first start that was interrupted', { timeout: 180_000 }, () => {
  // Registered before the hook that stops the servers, so (hooks run in reverse) removed after it.
  const formatHome = tempDir('home-format');
  const startHome = tempDir('home-start');
  const homes: { env: Record<string, string> }[] = [];
  afterAll(async () => {
    for (const h of homes) await barflow(['services', 'down'], h.env);
  });

  it('formats with a forced cluster id beginning with - or _ (which the storage tool reads as an option unless given as --cluster-id=)', async () => {
    const jars = await resolveJars(resolve(process.env.BARFLOW_CACHE || resolve(ROOT, '.barflow', 'cache')), 'kafka');
    for (const id of ['-nAfdV3kSakfqq706aOfzg', '_nAfdV3kSakfqq706aOfzg']) {
      const dir = testTempDir('kafka-format');
      const dataDir = join(dir, 'data');
      const props = (logDirs: string) => `process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@127.0.0.1:1\ncontroller.listener.names=CONTROLLER\nlisteners=PLAINTEXT://127.0.0.1:2,CONTROLLER://127.0.0.1:1\nlog.dirs=${logDirs}\n`;
      writeFileSync(join(dir, 'log4j2.properties'), 'status = error\n');
      await formatKafkaStorage({ java: 'java', classpath: jars.join(':'), log4jFile: join(dir, 'log4j2.properties'), dataDir, clusterId: id, serverProperties: props });
      expect(readFileSync(join(dataDir, 'meta.properties'), 'utf8')).toContain(`cluster.id=${id}\n`);
      // A meta.properties cut short (a format killed while writing it) is formatted again, not "already formatted".
      writeFileSync(join(dataDir, 'meta.properties'), '#\nnode.id=1\nversi');
      expect(kafkaStorageFormatted(dataDir)).toBe(false);
      await formatKafkaStorage({ java: 'java', classpath: jars.join(':'), log4jFile: join(dir, 'log4j2.properties'), dataDir, clusterId: id, serverProperties: props });
      expect(kafkaStorageFormatted(dataDir)).toBe(true);
    }
  });

  it('killed during the format step (cluster id beginning with -): the next up formats again and both answer', async () => {
    const home = formatHome;
    const env = await pairEnv(home, { BARFLOW_KAFKA_CLUSTER_ID: '-nAfdV3kSakfqq706aOfzg' });
    homes.push({ env });
    const cli = upInBackground(env);
    let format: number[] = [];
    await waitUntil('the Kafka storage format step of this home', () => (format = processesWith('kafka.tools.StorageTool', home)).length > 0, 60_000, 10);
    killHard(cli.pid!);
    for (const pid of format) killHard(pid);
    const again = await barflow(['services', 'up', '--json'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).states.map((s: { answering: boolean }) => s.answering)).toEqual([true, true]);
    expect(clusterIdOf(home)).toBe('-nAfdV3kSakfqq706aOfzg');
  });

  it('killed while the servers start (they are killed too): the next up starts them; a server whose pid file is lost is found, not started twice', async () => {
    const home = startHome;
    const env = await pairEnv(home);
    homes.push({ env });
    const cli = upInBackground(env);
    const pidFiles = [join(home, 'kafka', 'kafka.pid'), join(home, 'questdb', 'questdb.pid')];
    await waitUntil('both servers of this home to be started', () => pidFiles.every((f) => existsSync(f)), 60_000, 10);
    killHard(cli.pid!);
    for (const f of pidFiles) killHard(Number(readFileSync(f, 'utf8')));
    const again = await barflow(['services', 'up', '--json'], env);
    expect(again.code, again.stderr).toBe(0);
    const up = JSON.parse(again.stdout);
    expect(up.started).toEqual(['kafka', 'questdb']);
    expect(up.states.map((s: { answering: boolean }) => s.answering)).toEqual([true, true]);
    // As if `up` had been killed between starting the JVMs and writing their pid files.
    for (const f of pidFiles) rmSync(f);
    const third = await barflow(['services', 'up', '--json'], env);
    expect(third.code, third.stderr).toBe(0);
    const up3 = JSON.parse(third.stdout);
    expect(up3.started).toEqual([]);
    expect(up3.states.map((s: { pid: number }) => s.pid)).toEqual(up.states.map((s: { pid: number }) => s.pid));
    const down = await barflow(['services', 'down'], env);
    expect(down.stdout).toMatch(/kafka: stopped/);
    expect(down.stdout).toMatch(/questdb: stopped/);
    for (const s of up.states as { pid: number }[]) expect(isAlive(s.pid)).toBe(false);
  });
});

describe('topology', () => {
  it('apply is idempotent: a second run creates nothing', async () => {
    const first = await barflow(['topology', 'apply', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const second = JSON.parse((await barflow(['topology', 'apply', '--json'])).stdout);
    expect(second.every((a: { action: string }) => a.action === 'exists')).toBe(true);
    const names = second.map((a: { name: string }) => a.name);
    expect(names).toEqual(expect.arrayContaining(['bars.1m', 'bars.dlq', 'features.1m', 'predictions', 'barflow.operator-state', 'bars_1m']));
  });

  it('bars_1m is a WAL table partitioned by day with dedup upsert keys (ts, symbol)', async () => {
    const db = new QuestDb(endpoints().questdb);
    try {
      const [t] = await db.query<{ designatedTimestamp: string; partitionBy: string; walEnabled: boolean; dedup: boolean }>(
        "SELECT designatedTimestamp, partitionBy, walEnabled, dedup FROM tables() WHERE table_name = 'bars_1m'",
      );
      expect(t).toEqual({ designatedTimestamp: 'ts', partitionBy: 'DAY', walEnabled: true, dedup: true });
      const cols = await db.query<{ column: string; type: string; upsertKey: boolean }>('SELECT "column", type, upsertKey FROM table_columns(\'bars_1m\')');
      expect(cols.map((c) => [c.column, c.type, c.upsertKey])).toEqual([
        ['symbol', 'SYMBOL', true],
        ['ts', 'TIMESTAMP', true],
        ['open', 'DOUBLE', false],
        ['high', 'DOUBLE', false],
        ['low', 'DOUBLE', false],
        ['close', 'DOUBLE', false],
        ['volume', 'DOUBLE', false],
      ]);
    } finally {
      await db.close();
    }
  });

  it('two clients ensuring one new topic at once both succeed, and see every partition led (a live process once failed in that race)', async () => {
    const decl = loadTopology();
    for (let k = 0; k < 3; k++) {
      const name = unique('test.race');
      const [a, b] = await Promise.all([ensureTopic(createKafka(endpoints().brokers), decl, name), ensureTopic(createKafka(endpoints().brokers), decl, name)]);
      expect([a.action, b.action]).toContain('created');
      const admin = createKafka(endpoints().brokers).admin();
      await admin.connect();
      try {
        const meta = await topicMetadataWithLeaders(admin, [name]);
        expect(meta.topics[0]!.partitions).toHaveLength(6);
        expect(meta.topics[0]!.partitions.every((p) => p.leader >= 0)).toBe(true);
        if (k === 0) await expect(topicMetadataWithLeaders(admin, [`${name}.absent`], 300)).rejects.toThrow(/\.absent are not served by the broker after 0\.3 s/);
      } finally {
        await admin.disconnect();
      }
    }
  });

  it('a created topic is served with every partition led when ensureTopic returns (kafkajs\'s own wait threw on UNKNOWN_TOPIC_OR_PARTITION in CI)', async () => {
    const decl = loadTopology();
    const kafka = createKafka(endpoints().brokers);
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (let k = 0; k < 8; k++) {
        const name = unique('test.served');
        expect((await ensureTopic(kafka, decl, name)).action).toBe('created');
        // No retry here: a plain metadata request must already see the topic led.
        const meta = await admin.fetchTopicMetadata({ topics: [name] });
        expect(meta.topics[0]!.partitions.map((p) => p.leader >= 0)).toEqual(Array(6).fill(true));
      }
    } finally {
      await admin.disconnect();
    }
  });

  it('reports drift of an existing topic instead of changing it, and enables missing dedup', async () => {
    const kafka = createKafka(endpoints().brokers);
    const name = unique('test.drift');
    await createTopic(name, 2);
    const decl = loadTopology();
    const topology = { ...decl, topics: [{ ...decl.topics[0]!, name }], tables: [{ ...decl.tables[0]!, name: unique('bars_nodedup') }] };
    const db = new QuestDb(endpoints().questdb);
    try {
      const table = topology.tables[0]!.name;
      await db.execute(`CREATE TABLE ${table} (symbol SYMBOL, ts TIMESTAMP, open DOUBLE) TIMESTAMP(ts) PARTITION BY DAY WAL`);
      const actions = await applyTopology(topology, { kafka, questdb: db });
      expect(actions.find((a) => a.name === name)).toMatchObject({ action: 'drift', detail: expect.stringContaining('partitions 2 (declared 6)') });
      expect(actions.find((a) => a.name === table)).toMatchObject({ action: 'altered', detail: expect.stringContaining('enabled dedup on ts, symbol') });
      const again = await applyTopology(topology, { kafka, questdb: db });
      expect(again.find((a) => a.name === table)?.action).toBe('exists');
      await db.execute(`DROP TABLE ${table}`);
    } finally {
      await db.close();
    }
    const created = await ensureTopic(kafka, decl, unique('test.undeclared'));
    expect(created).toMatchObject({ action: 'created', detail: '6 partitions, settings of bars.1m' });
  });
});

describe('the broker supports what later issues need on one node', () => {
  it('transactions: committed messages are visible to read_committed consumers, aborted ones are not', async () => {
    const kafka = createKafka(endpoints().brokers);
    const topic = unique('test.tx');
    await createTopic(topic, 1);
    const producer = kafka.producer({ transactionalId: unique('tx'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const aborted = await producer.transaction();
      await aborted.send({ topic, messages: [{ key: 'k', value: 'aborted' }] });
      await aborted.abort();
      const committed = await producer.transaction();
      await committed.send({ topic, messages: [{ key: 'k', value: 'committed' }] });
      await committed.commit();
    } finally {
      await producer.disconnect();
    }
    const seen = await consumeAll(topic, 1);
    expect(seen.map((m) => m.message.value?.toString())).toEqual(['committed']);
  });

  it('compaction: superseded values of a key are cleaned from a compacted topic', async () => {
    const kafka = createKafka(endpoints().brokers);
    const topic = unique('test.compact');
    await createTopic(topic, 1, { 'cleanup.policy': 'compact', 'segment.ms': '100', 'min.cleanable.dirty.ratio': '0.01' });
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic, messages: Array.from({ length: 50 }, (_, i) => ({ key: 'state', value: `v${i}` })) });
      const deadline = Date.now() + 90_000;
      let kept = 50;
      while (kept === 50 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1000));
        // A later message rolls the segment (segment.ms), so the cleaner may compact the old one.
        await producer.send({ topic, messages: [{ key: 'roll', value: 'x' }] });
        const seen = await consumeUntil(topic, (msgs) => msgs.some((m) => m.message.value?.toString() === 'v49'));
        kept = seen.filter((m) => m.message.key?.toString() === 'state').length;
      }
      expect(kept).toBeLessThan(50);
    } finally {
      await producer.disconnect();
    }
  });
});
