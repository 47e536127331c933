import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createKafka } from '../streams/kafka/kafkaClient.js';
import { parseQuestDbEndpoint, type QuestDbEndpoint } from '../streams/questdb/endpoint.js';
import { QuestDb } from '../streams/questdb/questDb.js';
import { formatKafkaStorage, kafkaStorageFormatted } from './kafkaStorage.js';
import type { ServiceName } from './maven.js';
import { ownershipMarkers } from './processes.js';
import type { ServiceSettings } from './settings.js';

/** One server barflow can run from its jars: where its files are and how to start and probe it. */
export interface LocalService {
  name: ServiceName;
  dir: string;
  pidFile: string;
  logFile: string;
  /** Where the JVM's own stdout/stderr go (start-up failures land here). */
  consoleFile: string;
  ports: number[];
  /** Human-readable endpoint, as printed by `services up` and `status`. */
  endpoint: string;
  /** Writes configuration (and formats storage on first use); returns the java arguments. */
  prepare(jars: string[]): Promise<string[]>;
  /** True when the server answers the probes a client needs. */
  answers(): Promise<boolean>;
}

export function kafkaBrokersOf(settings: ServiceSettings): string[] {
  return [`127.0.0.1:${settings.kafka.port}`];
}

export function questDbEndpointOf(settings: ServiceSettings): QuestDbEndpoint {
  const { httpPort, pgPort } = settings.questdb;
  return parseQuestDbEndpoint(`http::addr=127.0.0.1:${httpPort};`, `postgres://admin:quest@127.0.0.1:${pgPort}/qdb`);
}

/** Kafka metadata request (describeCluster) with no retries and kafkajs logging off. */
export async function kafkaAnswers(brokers: string[]): Promise<boolean> {
  const kafka = createKafka(brokers, 'barflow-probe', { connectionTimeout: 1000, retries: 0, quiet: true });
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** QuestDB answers on HTTP `/exec` and on PG wire. */
export async function questDbAnswers(endpoint: QuestDbEndpoint): Promise<boolean> {
  const db = new QuestDb(endpoint);
  try {
    await db.exec('SELECT 1', 2000);
    await db.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await db.close().catch(() => undefined);
  }
}

/**
 * Heap and GC flags, and a temporary folder inside the service's own folder: QuestDB unpacks its
 * native libraries (9 MB) into java.io.tmpdir at every start and removes them only on a clean
 * exit, so killed servers used to leave them in /tmp.
 */
function jvmArgs(heap: string, dir: string): string[] {
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp, { recursive: true });
  return ['-Xms256m', `-Xmx${heap}`, '-XX:+UseG1GC', '-XX:+ExitOnOutOfMemoryError', `-Djava.io.tmpdir=${tmp}`];
}

export function kafkaService(settings: ServiceSettings): LocalService {
  const dir = join(settings.home, 'kafka');
  const dataDir = join(dir, 'data');
  const logDir = join(dir, 'logs');
  const { port, controllerPort, heap } = settings.kafka;
  const propsFile = join(dir, 'server.properties');
  const log4jFile = join(dir, 'log4j2.properties');
  return {
    name: 'kafka',
    dir,
    pidFile: join(dir, 'kafka.pid'),
    logFile: join(logDir, 'server.log'),
    consoleFile: join(logDir, 'stdout.log'),
    ports: [port, controllerPort],
    endpoint: `127.0.0.1:${port}`,
    async prepare(jars) {
      // The data folder is made by the format step, never here: it exists only once formatted.
      mkdirSync(logDir, { recursive: true });
      // One combined broker+controller. Internal topics get replication factor 1 and min ISR 1,
      // without which transactions (and consumer offsets) cannot work on a single node.
      const props = (logDirs: string) =>
        [
          '# Written by barflow services up; edits are overwritten.',
          'process.roles=broker,controller',
          'node.id=1',
          `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
          `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
          `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
          'controller.listener.names=CONTROLLER',
          'inter.broker.listener.name=PLAINTEXT',
          'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
          `log.dirs=${logDirs}`,
          'num.partitions=1',
          'default.replication.factor=1',
          'min.insync.replicas=1',
          'offsets.topic.replication.factor=1',
          'offsets.topic.num.partitions=8',
          'transaction.state.log.replication.factor=1',
          'transaction.state.log.min.isr=1',
          'transaction.state.log.num.partitions=8',
          'share.coordinator.state.topic.replication.factor=1',
          'share.coordinator.state.topic.min.isr=1',
          'group.initial.rebalance.delay.ms=0',
          'auto.create.topics.enable=false',
          'log.cleaner.enable=true',
          'log.cleaner.backoff.ms=2000',
          '',
        ].join('\n');
      writeFileSync(propsFile, props(dataDir));
      writeFileSync(
        log4jFile,
        [
          'status = warn',
          'appender.file.type = File',
          'appender.file.name = file',
          `appender.file.fileName = ${join(logDir, 'server.log')}`,
          'appender.file.layout.type = PatternLayout',
          'appender.file.layout.pattern = [%d] %p %m (%c)%n',
          'rootLogger.level = info',
          'rootLogger.appenderRef.file.ref = file',
          'logger.kafka.name = org.apache.kafka',
          'logger.kafka.level = info',
          '',
        ].join('\n'),
      );
      const classpath = jars.join(':');
      if (!kafkaStorageFormatted(dataDir)) {
        await formatKafkaStorage({ java: settings.java, classpath, log4jFile, dataDir, clusterId: settings.kafka.clusterId, serverProperties: props });
      }
      return [
        ...jvmArgs(heap, dir),
        ...ownershipMarkers('kafka', settings.home),
        `-Dlog4j2.configurationFile=${log4jFile}`,
        `-Dkafka.logs.dir=${logDir}`,
        '-cp',
        classpath,
        'kafka.Kafka',
        propsFile,
      ];
    },
    answers: () => kafkaAnswers(kafkaBrokersOf(settings)),
  };
}

export function questDbService(settings: ServiceSettings): LocalService {
  const dir = join(settings.home, 'questdb');
  const { httpPort, pgPort, heap } = settings.questdb;
  return {
    name: 'questdb',
    dir,
    pidFile: join(dir, 'questdb.pid'),
    logFile: join(dir, 'logs', 'questdb.log'),
    consoleFile: join(dir, 'logs', 'questdb.log'),
    ports: [httpPort, pgPort],
    endpoint: `http://127.0.0.1:${httpPort} (ILP/HTTP and /exec), pg 127.0.0.1:${pgPort}`,
    async prepare(jars) {
      mkdirSync(join(dir, 'conf'), { recursive: true });
      // HTTP (ILP writes, /exec) and PG wire only, both on loopback; TCP/UDP ILP, the health
      // server and telemetry are off so the server binds nothing else.
      writeFileSync(
        join(dir, 'conf', 'server.conf'),
        [
          '# Written by barflow services up; edits are overwritten.',
          `http.bind.to=127.0.0.1:${httpPort}`,
          `pg.net.bind.to=127.0.0.1:${pgPort}`,
          'line.tcp.enabled=false',
          'line.udp.enabled=false',
          'http.min.enabled=false',
          'telemetry.enabled=false',
          // A WAL segment per 512 MiB instead of per 2 MiB: the default starts a new segment (one new
          // file per column) for every ILP request of wide feature rows; measured 23-26k instead of
          // 17-19k rows/s for 180 columns (docs/questdb-features.md).
          'cairo.wal.segment.rollover.size=536870912',
          '',
        ].join('\n'),
      );
      const jar = jars.find((j) => /questdb-[\d.]+\.jar$/.test(j));
      if (!jar) throw new Error(`no questdb jar among ${jars.join(', ')}`);
      return [...jvmArgs(heap, dir), ...ownershipMarkers('questdb', settings.home), '-p', jar, '-m', 'io.questdb/io.questdb.ServerMain', '-d', dir];
    },
    answers: () => questDbAnswers(questDbEndpointOf(settings)),
  };
}

/**
 * Creates Kafka's internal topics and loads their coordinators, so that the first real consumer
 * group or transaction does not meet "coordinator loading" retries. A fresh broker answers
 * NOT_COORDINATOR for a while, and not every kafkajs call retries that, so each step is retried here.
 */
export async function warmUpKafka(brokers: string[], timeoutMs = 60_000): Promise<void> {
  const kafka = createKafka(brokers, 'barflow-warmup', { retries: 10, quiet: true });
  const deadline = Date.now() + timeoutMs;
  const retrying = async (step: () => Promise<unknown>): Promise<void> => {
    for (;;) {
      try {
        await step();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`Kafka at ${brokers.join(',')} is up but its coordinators did not load: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  const producer = kafka.producer({ transactionalId: 'barflow-warmup', idempotent: true, maxInFlightRequests: 1 });
  const admin = kafka.admin();
  try {
    await retrying(() => producer.connect());
    await retrying(async () => (await producer.transaction()).abort());
    await retrying(() => admin.connect());
    await retrying(() => admin.fetchOffsets({ groupId: 'barflow-warmup', topics: [] }));
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
