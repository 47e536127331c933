import { resolve } from 'node:path';
import { checkKafkaClusterId } from './kafkaStorage.js';

/** Where the local services live and which ports they bind (all on 127.0.0.1). */
export interface ServiceSettings {
  /** State: data, logs and pid files (BARFLOW_HOME, default ./.barflow). */
  home: string;
  /** Jar cache shared by homes (BARFLOW_CACHE, default <home>/cache). */
  cache: string;
  java: string;
  /** `clusterId`: the KRaft cluster id a new home is formatted with (BARFLOW_KAFKA_CLUSTER_ID); a new random one when unset. */
  kafka: { port: number; controllerPort: number; heap: string; clusterId?: string };
  questdb: { httpPort: number; pgPort: number; heap: string };
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name} must be a port number, got ${JSON.stringify(text)}`);
  return n;
}

export function serviceSettingsFromEnv(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ServiceSettings {
  const home = resolve(cwd, env.BARFLOW_HOME || '.barflow');
  const kafkaPort = port(env, 'BARFLOW_KAFKA_PORT', 9092);
  return {
    home,
    cache: resolve(cwd, env.BARFLOW_CACHE || resolve(home, 'cache')),
    java: env.JAVA_HOME ? resolve(env.JAVA_HOME, 'bin', 'java') : 'java',
    kafka: {
      port: kafkaPort,
      controllerPort: port(env, 'BARFLOW_KAFKA_CONTROLLER_PORT', kafkaPort + 1),
      heap: env.BARFLOW_KAFKA_HEAP || '1g',
      ...(env.BARFLOW_KAFKA_CLUSTER_ID ? { clusterId: checkKafkaClusterId(env.BARFLOW_KAFKA_CLUSTER_ID, 'BARFLOW_KAFKA_CLUSTER_ID') } : {}),
    },
    questdb: {
      httpPort: port(env, 'BARFLOW_QUESTDB_HTTP_PORT', 9000),
      pgPort: port(env, 'BARFLOW_QUESTDB_PG_PORT', 8812),
      heap: env.BARFLOW_QUESTDB_HEAP || '1g',
    },
  };
}
