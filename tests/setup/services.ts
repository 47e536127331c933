import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ServiceManager } from '../../src/services/serviceManager.js';
import { serviceSettingsFromEnv } from '../../src/services/settings.js';
import { portIsFree } from '../../src/services/processes.js';
import { pgUrlOf } from '../../src/streams/questdb/endpoint.js';

/**
 * Provides a real Kafka and a real QuestDB to the integration tests, choosing in this order:
 *  1. endpoints given in the environment (BARFLOW_KAFKA_BROKERS and BARFLOW_QUESTDB);
 *  2. containers of the official images through testcontainers, when a Docker engine answers;
 *  3. the local jars through `barflow services up` (the path CI takes: it has no Docker engine).
 * What this setup started, it stops afterwards; services that were already running stay up.
 */

export interface TestEndpoints {
  kafkaBrokers: string;
  questdb: string;
  questdbPg: string;
  /** Which of the three ways provided them. */
  via: 'env' | 'testcontainers' | 'local-jars';
}

declare module 'vitest' {
  export interface ProvidedContext {
    endpoints: TestEndpoints;
  }
}

const log = (msg: string) => console.log(`[services] ${msg}`);

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await Promise.race([getContainerRuntimeClient(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 10_000))]);
    return true;
  } catch {
    return false;
  }
}

async function freePort(from: number): Promise<number> {
  for (let p = from; p < from + 200; p++) if (await portIsFree(p)) return p;
  throw new Error(`no free port from ${from}`);
}

async function viaTestcontainers(): Promise<{ env: Omit<TestEndpoints, 'via'>; stop: () => Promise<void> }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  // The official apache/kafka image advertises the port it listens on, so the host port is chosen
  // first and mapped one to one (a random mapping would advertise an unreachable port).
  const kafkaPort = await freePort(29092);
  const kafka = await new GenericContainer('apache/kafka:4.4.0')
    .withExposedPorts({ container: kafkaPort, host: kafkaPort })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://:${kafkaPort},CONTROLLER://:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://localhost:${kafkaPort}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_LOG_CLEANER_BACKOFF_MS: '2000',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  const questdb = await new GenericContainer('questdb/questdb:9.3.4')
    .withExposedPorts(9000, 8812)
    .withWaitStrategy(Wait.forHttp('/exec?query=select%201', 9000))
    .start();
  const host = questdb.getHost();
  return {
    env: {
      kafkaBrokers: `localhost:${kafkaPort}`,
      questdb: `http::addr=${host}:${questdb.getMappedPort(9000)};`,
      questdbPg: `postgres://admin:quest@${host}:${questdb.getMappedPort(8812)}/qdb`,
    },
    stop: async () => {
      await Promise.all([kafka.stop(), questdb.stop()]);
    },
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let endpoints: TestEndpoints;
  let stop: () => Promise<void> = async () => undefined;

  if (process.env.BARFLOW_KAFKA_BROKERS && process.env.BARFLOW_QUESTDB) {
    endpoints = {
      kafkaBrokers: process.env.BARFLOW_KAFKA_BROKERS,
      questdb: process.env.BARFLOW_QUESTDB,
      questdbPg: process.env.BARFLOW_QUESTDB_PG ?? '',
      via: 'env',
    };
    log(`using endpoints from the environment: ${endpoints.kafkaBrokers}, ${endpoints.questdb}`);
  } else if (await dockerAnswers()) {
    log('Docker answers: starting apache/kafka and questdb/questdb with testcontainers');
    const started = await viaTestcontainers();
    endpoints = { ...started.env, via: 'testcontainers' };
    stop = started.stop;
  } else {
    const home = resolve(process.env.BARFLOW_HOME || '.barflow');
    mkdirSync(home, { recursive: true });
    // One endpoint given in the environment is used as is; only the other is started.
    const manager = new ServiceManager(serviceSettingsFromEnv({ ...process.env, BARFLOW_HOME: home }), process.env, log);
    log(`no Docker engine: starting Kafka and QuestDB from their jars (home ${home})`);
    const result = await manager.up();
    const ep = result.endpoints;
    endpoints = {
      kafkaBrokers: ep.kafkaBrokers.join(','),
      questdb: ep.questdb.ilp,
      questdbPg: pgUrlOf(ep.questdb),
      via: 'local-jars',
    };
    const kept = (['kafka', 'questdb'] as const).filter((n) => !result.started.includes(n));
    if (kept.length > 0) log(`already running, left running afterwards: ${kept.join(', ')}`);
    if (result.started.length > 0) {
      stop = async () => {
        for (const line of await manager.down(result.started)) log(line);
      };
    }
  }

  if (endpoints.via !== 'local-jars') {
    // Apply the topology on the provided servers, exactly as `barflow services up` does.
    const env = { BARFLOW_KAFKA_BROKERS: endpoints.kafkaBrokers, BARFLOW_QUESTDB: endpoints.questdb, BARFLOW_QUESTDB_PG: endpoints.questdbPg || undefined };
    await new ServiceManager(serviceSettingsFromEnv(), env, log).up();
  }
  project.provide('endpoints', endpoints);
  return stop;
}
