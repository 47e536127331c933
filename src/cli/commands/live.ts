import type { Command } from 'commander';
import { Option } from 'commander';
import { join } from 'node:path';
import { DEFAULT_TOPOLOGY_DIR } from '../../paths.js';
import { parseBrokers } from '../../streams/kafka/kafkaClient.js';
import { parseQuestDbEndpoint } from '../../streams/questdb/endpoint.js';
import { setLogLevel } from '../../log.js';
import { addKafkaOption, addQuestDbOptions } from '../options.js';

export function registerLive(program: Command): void {
  const live = program
    .command('live')
    .description('the always-on topology: bars from Kafka in, feature rows (and predictions) to Kafka and QuestDB out, crash-safe (docs/live.md)')
    .option('-c, --config <file>', 'live config YAML (every field: docs/live.md)', join(DEFAULT_TOPOLOGY_DIR, 'live.yaml'))
    .addOption(new Option('--metrics-port <port>', 'port of /metrics, /health, /ready [default: the config\'s metrics.port]').argParser((v) => Number.parseInt(v, 10)))
    .addHelpText('after', '\nStops gracefully on SIGTERM or SIGINT: finishes the batch in flight, writes a last checkpoint, leaves the group.\nA flag given on the command line wins over the config file, which wins over the environment.');
  addKafkaOption(live);
  addQuestDbOptions(live);
  live.action(async (flags: { config: string; brokers: string; questdb: string; questdbPg?: string; metricsPort?: number }, cmd: Command) => {
    const [{ loadLiveConfig }, { LiveTopology }] = await Promise.all([import('../../serving/live/liveConfig.js'), import('../../serving/live/liveTopology.js')]);
    const config = loadLiveConfig(flags.config);
    if (flags.metricsPort !== undefined) config.metrics.port = flags.metricsPort;
    const fromCli = (name: string) => cmd.getOptionValueSource(name) === 'cli';
    const brokers = parseBrokers(fromCli('brokers') ? flags.brokers : (config.kafka.brokers ?? flags.brokers));
    const questdb = parseQuestDbEndpoint(fromCli('questdb') ? flags.questdb : (config.questdb.endpoint ?? flags.questdb), flags.questdbPg);
    // An always-on process reports what it does; the CLI's default of warn is for one-shot commands.
    if (program.getOptionValueSource('logLevel') === 'default' && !process.env.BARFLOW_LOG_LEVEL) setLogLevel('info');
    const topology = new LiveTopology(config, { brokers, questdb });
    const stop = () => void topology.stop();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    try {
      await topology.start();
    } catch (err) {
      await topology.stop().catch(() => undefined);
      // Exit here too: a client opened before the failure may hold a timer that keeps the process
      // alive, and a supervisor must see the failed start (a test once waited 120 s on one).
      console.error(`barflow: ${(err as Error).message}`);
      process.exit(1);
    }
    await topology.done();
    // Everything is committed and closed; kafkajs may still hold a reconnect timer, so exit here.
    process.exit(process.exitCode ?? 0);
  });
}
