import type { Command } from 'commander';
import { ServiceManager, type ServiceState } from '../../services/serviceManager.js';
import { serviceSettingsFromEnv } from '../../services/settings.js';
import { KAFKA_VERSION, QUESTDB_VERSION } from '../../services/versions.js';
import { pgUrlOf } from '../../streams/questdb/endpoint.js';
import type { ApplyAction } from '../../topology/topology.js';

const ENV_HELP = `
Environment:
  BARFLOW_KAFKA_BROKERS      use this Kafka (host:port,...) instead of starting one
  BARFLOW_QUESTDB            use this QuestDB (e.g. "http::addr=127.0.0.1:9000;") instead of starting one
  BARFLOW_QUESTDB_PG         PG wire URL of that QuestDB [default: its host, port 8812, admin/quest]
  BARFLOW_HOME               state folder: data, logs, pid files [default: ./.barflow]
  BARFLOW_CACHE              jar cache, filled by Maven on first start [default: $BARFLOW_HOME/cache]
  BARFLOW_KAFKA_PORT         local Kafka broker port [9092]; the controller uses BARFLOW_KAFKA_CONTROLLER_PORT [port+1]
  BARFLOW_QUESTDB_HTTP_PORT  local QuestDB HTTP port [9000]
  BARFLOW_QUESTDB_PG_PORT    local QuestDB PG wire port [8812]
  BARFLOW_KAFKA_HEAP, BARFLOW_QUESTDB_HEAP   JVM max heap [1g]
  BARFLOW_KAFKA_CLUSTER_ID   KRaft cluster id for a new home (22 base64url characters) [a new random id]
  JAVA_HOME                  Java 17+ to run them [default: java on PATH]

Services: Apache Kafka ${KAFKA_VERSION} (KRaft, one combined broker+controller) and QuestDB ${QUESTDB_VERSION},
from Maven Central, on 127.0.0.1.`;

function manager(print: boolean): ServiceManager {
  return new ServiceManager(serviceSettingsFromEnv(), process.env, print ? (line) => console.log(line) : undefined);
}

export function formatStates(states: ServiceState[]): string {
  return states
    .map((s) => {
      const what = s.state === 'running' ? `running (pid ${s.pid})${s.answering ? '' : ', NOT answering'}` : s.state === 'external' ? `external${s.answering ? '' : ', NOT answering'}` : 'stopped';
      return `  ${s.name.padEnd(8)} ${what.padEnd(22)} ${s.endpoint}${s.logFile ? `\n  ${''.padEnd(8)} log ${s.logFile}` : ''}`;
    })
    .join('\n');
}

export function formatActions(actions: ApplyAction[]): string {
  return actions.map((a) => `  ${a.kind.padEnd(5)} ${a.name.padEnd(24)} ${a.action}${a.detail ? `: ${a.detail}` : ''}`).join('\n');
}

export function registerServices(program: Command): void {
  const services = program
    .command('services')
    .description('start, stop and inspect the local Kafka and QuestDB (run from their Maven Central jars on Java 17)')
    .addHelpText('after', ENV_HELP);

  services
    .command('up')
    .description('start Kafka and QuestDB unless running (idempotent), wait until both answer, apply the topology, print the endpoints')
    .option('--timeout <seconds>', 'how long to wait for each service to answer', '120')
    .option('--no-topology', 'do not apply topology/ after start')
    .option('--json', 'print the result as JSON', false)
    .addHelpText('after', ENV_HELP)
    .action(async (flags: { timeout: string; topology: boolean; json: boolean }) => {
      const m = manager(!flags.json);
      const result = await m.up({ timeoutMs: Number(flags.timeout) * 1000, applyTopology: flags.topology });
      if (flags.json) {
        console.log(JSON.stringify(result, null, 2));
        return;
      }
      if (result.topology.length > 0) console.log(`topology:\n${formatActions(result.topology)}`);
      console.log(`services (home ${m.settings.home}):\n${formatStates(result.states)}`);
      console.log(`endpoints:\n  BARFLOW_KAFKA_BROKERS=${result.endpoints.kafkaBrokers.join(',')}\n  BARFLOW_QUESTDB="${result.endpoints.questdb.ilp}"`);
      console.log(`  BARFLOW_QUESTDB_PG=${pgUrlOf(result.endpoints.questdb)}`);
    });

  services
    .command('down')
    .description('stop the Kafka and QuestDB this home started (pid files); never touches other processes')
    .addHelpText('after', ENV_HELP)
    .action(async () => {
      for (const line of await manager(false).down()) console.log(line);
    });

  services
    .command('status')
    .description('say whether each service runs and answers, its endpoint and where its log is')
    .option('--json', 'print as JSON', false)
    .addHelpText('after', ENV_HELP)
    .action(async (flags: { json: boolean }) => {
      const m = manager(false);
      const states = await m.status();
      if (flags.json) console.log(JSON.stringify({ home: m.settings.home, services: states }, null, 2));
      else console.log(`services (home ${m.settings.home}):\n${formatStates(states)}`);
    });
}
