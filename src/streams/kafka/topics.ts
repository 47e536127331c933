import type { Admin } from 'kafkajs';
import type { ApplyAction, TopicDecl } from '../../topology/topology.js';

const TOPIC_RESOURCE = 2; // kafkajs ConfigResourceTypes.TOPIC

type TopicMetadata = Awaited<ReturnType<Admin['fetchTopicMetadata']>>;

/**
 * The topics' metadata once every partition has a leader. A topic another client has just created
 * is listed before the broker serves it: for a moment its metadata answers "This server does not
 * host this topic-partition" or has partitions without a leader (two live processes started
 * together on new topics; one failed this way). Waits for that to pass, up to `timeoutMs`, then
 * fails naming the topics that are still missing.
 */
export async function topicMetadataWithLeaders(admin: Admin, topics: readonly string[], timeoutMs = 30_000): Promise<TopicMetadata> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
    let problem: string;
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
      const unled = metadata.topics.filter((t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0)).map((t) => t.name);
      if (unled.length === 0) return metadata;
      problem = `${unled.join(', ')} without a leader for every partition`;
    } catch (err) {
      problem = (err as Error).message;
    }
    if (Date.now() + wait > deadline) throw new Error(`topics ${topics.join(', ')} are not served by the broker after ${timeoutMs / 1000} s: ${problem}`);
    await new Promise((r) => setTimeout(r, wait));
  }
}

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
    // Not kafkajs's waitForLeaders: it retries only LEADER_NOT_AVAILABLE, and a KRaft broker may
    // first answer a new topic's metadata with UNKNOWN_TOPIC_OR_PARTITION, which it throws (a live
    // process failed to start this way in CI). topicMetadataWithLeaders waits through both.
    await admin.createTopics({
      waitForLeaders: false,
      topics: missing.map((t) => ({
        topic: t.name,
        numPartitions: t.partitions,
        replicationFactor: t.replicationFactor,
        configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
      })),
    });
    await topicMetadataWithLeaders(admin, missing.map((t) => t.name));
    for (const t of missing) actions.push({ kind: 'topic', name: t.name, action: 'created', detail: `${t.partitions} partition${t.partitions === 1 ? '' : 's'}` });
  }
  const present = topics.filter((t) => existing.has(t.name));
  if (present.length === 0) return actions;
  const metadata = await topicMetadataWithLeaders(admin, present.map((t) => t.name));
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
