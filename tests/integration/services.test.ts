import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive, portIsFree } from '../../src/services/processes.js';
import { createKafka } from '../../src/streams/kafka/kafkaClient.js';
import { QuestDb } from '../../src/streams/questdb/questDb.js';
import { applyTopology, ensureTopic } from '../../src/topology/apply.js';
import { loadTopology } from '../../src/topology/topology.js';
import { ROOT } from '../helpers/files.js';
import { barflow, consumeAll, consumeUntil, createTopic, endpoints, unique } from '../helpers/services.js';

async function freePorts(n: number, from: number): Promise<number[]> {
  const ports: number[] = [];
  for (let p = from; ports.length < n; p++) if (await portIsFree(p)) ports.push(p);
  return ports;
}

describe('barflow services (a second pair on other ports, in its own home)', () => {
  const home = mkdtempSync(join(tmpdir(), 'barflow-home-'));
  let env: Record<string, string | undefined> = {};
  afterAll(async () => {
    await barflow(['services', 'down'], env);
  });

  it('up starts both, up again is a no-op, down stops exactly them and frees the ports', async () => {
    const [kafkaPort, controllerPort, httpPort, pgPort] = await freePorts(4, 19200);
    env = {
      BARFLOW_HOME: home,
      // The jars resolved by the global setup are reused: the second start is offline.
      BARFLOW_CACHE: resolve(process.env.BARFLOW_CACHE || resolve(ROOT, '.barflow', 'cache')),
      BARFLOW_KAFKA_PORT: String(kafkaPort),
      BARFLOW_KAFKA_CONTROLLER_PORT: String(controllerPort),
      BARFLOW_QUESTDB_HTTP_PORT: String(httpPort),
      BARFLOW_QUESTDB_PG_PORT: String(pgPort),
      BARFLOW_KAFKA_BROKERS: '',
      BARFLOW_QUESTDB: '',
      BARFLOW_QUESTDB_PG: '',
    };
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
    const otherHome = mkdtempSync(join(tmpdir(), 'barflow-home-'));
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
    const otherHome = mkdtempSync(join(tmpdir(), 'barflow-home-'));
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
