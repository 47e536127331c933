import type { Admin } from 'kafkajs';
import type { ApplyAction, TopicDecl } from '../../topology/topology.js';

const TOPIC_RESOURCE = 2; // kafkajs ConfigResourceTypes.TOPIC

/**
 * Creates the declared topics that are missing. Existing topics are never changed (adding
 * partitions would move keys to other partitions; config changes deserve a human), but differences
 * are reported as drift.
 */
export async function applyTopics(admin: Admin, topics: readonly TopicDecl[]): Promise<ApplyAction[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.name));
  const actions: ApplyAction[] = [];
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((t) => ({
        topic: t.name,
        numPartitions: t.partitions,
        replicationFactor: t.replicationFactor,
        configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
      })),
    });
    for (const t of missing) actions.push({ kind: 'topic', name: t.name, action: 'created', detail: `${t.partitions} partition${t.partitions === 1 ? '' : 's'}` });
  }
  const present = topics.filter((t) => existing.has(t.name));
  if (present.length === 0) return actions;
  const metadata = await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((t) => ({ type: TOPIC_RESOURCE, name: t.name, configNames: Object.keys(t.config) })),
  });
  for (const t of present) {
    const diffs: string[] = [];
    const partitions = metadata.topics.find((m) => m.name === t.name)?.partitions.length ?? 0;
    if (partitions !== t.partitions) diffs.push(`partitions ${partitions} (declared ${t.partitions})`);
    const entries = configs.resources.find((r) => r.resourceName === t.name)?.configEntries ?? [];
    for (const [name, value] of Object.entries(t.config)) {
      const actual = entries.find((e) => e.configName === name)?.configValue;
      if (actual !== value) diffs.push(`${name}=${actual ?? '(unset)'} (declared ${value})`);
    }
    actions.push(
      diffs.length === 0 ? { kind: 'topic', name: t.name, action: 'exists' } : { kind: 'topic', name: t.name, action: 'drift', detail: diffs.join('; ') },
    );
  }
  return actions;
}
