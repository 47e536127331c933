import type { Kafka } from 'kafkajs';
import { applyTopics } from '../streams/kafka/topics.js';
import type { QuestDb } from '../streams/questdb/questDb.js';
import { applyTable } from '../streams/questdb/tables.js';
import { type ApplyAction, type Topology, checkTableName } from './topology.js';

/** Applies the Kafka and/or QuestDB part of a topology; idempotent. */
export async function applyTopology(topology: Topology, targets: { kafka?: Kafka; questdb?: QuestDb }): Promise<ApplyAction[]> {
  const actions: ApplyAction[] = [];
  if (targets.kafka) {
    const admin = targets.kafka.admin();
    await admin.connect();
    try {
      actions.push(...(await applyTopics(admin, topology.topics)));
    } finally {
      await admin.disconnect();
    }
  }
  if (targets.questdb) {
    for (const table of topology.tables) actions.push(await applyTable(targets.questdb, table));
  }
  return actions;
}

/**
 * Makes sure one topic exists before writing to it. A declared topic is applied as declared; an
 * undeclared one (a scratch or test topic) is created like `template`, and the action says so.
 */
export async function ensureTopic(kafka: Kafka, topology: Topology, name: string, template = 'bars.1m'): Promise<ApplyAction> {
  const declared = topology.topics.find((t) => t.name === name);
  const base = declared ?? topology.topics.find((t) => t.name === template);
  if (!base) throw new Error(`topic ${name} is not declared in topology/topics.yaml and there is no ${template} to copy`);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [action] = await applyTopics(admin, [{ ...base, name }]);
    return declared || action!.action !== 'created' ? action! : { ...action!, detail: `${action!.detail}, settings of ${template}` };
  } finally {
    await admin.disconnect();
  }
}

/** Same as ensureTopic for a QuestDB table: undeclared tables copy the template's schema. */
export async function ensureTable(db: QuestDb, topology: Topology, name: string, template = 'bars_1m'): Promise<ApplyAction> {
  checkTableName(name);
  const declared = topology.tables.find((t) => t.name === name);
  const base = declared ?? topology.tables.find((t) => t.name === template);
  if (!base) throw new Error(`table ${name} is not declared in topology/tables.yaml and there is no ${template} to copy`);
  return applyTable(db, { ...base, name });
}
