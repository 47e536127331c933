import type { Command } from 'commander';
import { createKafka, parseBrokers } from '../../streams/kafka/kafkaClient.js';
import { QuestDb } from '../../streams/questdb/questDb.js';
import { applyTopology } from '../../topology/apply.js';
import { loadTopology } from '../../topology/topology.js';
import { addKafkaOption, addQuestDbOptions, questDbFrom } from '../options.js';
import { formatActions } from './services.js';

export function registerTopology(program: Command): void {
  const topology = program.command('topology').description('the declared Kafka topics and QuestDB tables (topology/*.yaml)');

  const apply = topology
    .command('apply')
    .description('create the declared topics and tables that are missing (idempotent); report differences of existing ones')
    .option('--dir <folder>', 'topology folder [default: the package\'s topology/, or BARFLOW_TOPOLOGY]')
    .option('--only <part>', 'kafka or questdb only')
    .option('--json', 'print the actions as JSON', false);
  addKafkaOption(apply);
  addQuestDbOptions(apply);
  apply.action(async (flags: { dir?: string; only?: string; json: boolean; brokers: string; questdb: string; questdbPg?: string }) => {
    if (flags.only && !['kafka', 'questdb'].includes(flags.only)) throw new Error('--only takes kafka or questdb');
    const decl = loadTopology(flags.dir);
    const db = flags.only === 'kafka' ? undefined : new QuestDb(questDbFrom(flags));
    try {
      const actions = await applyTopology(decl, {
        kafka: flags.only === 'questdb' ? undefined : createKafka(parseBrokers(flags.brokers), 'barflow-topology'),
        questdb: db,
      });
      console.log(flags.json ? JSON.stringify(actions, null, 2) : formatActions(actions));
    } finally {
      await db?.close();
    }
  });

  topology
    .command('show')
    .description('print the declared topology as JSON')
    .option('--dir <folder>', 'topology folder')
    .action((flags: { dir?: string }) => {
      console.log(JSON.stringify(loadTopology(flags.dir), null, 2));
    });
}
