import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_FEATURE_SET_FILE } from '../../operators/featureSet.js';
import { loadYaml } from '../../topology/topology.js';
import { DriftModelSchema } from '../predictor.js';

const topic = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'Kafka topic names use letters, digits, . _ -');
const table = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,126}$/, 'must be a plain SQL identifier');

/**
 * `barflow live --config F`: every field, its default and meaning. docs/live.md renders the same
 * descriptions; topology/live.yaml is the annotated default.
 */
export const LiveConfigSchema = z
  .object({
    kafka: z
      .object({
        brokers: z.string().optional().describe('bootstrap servers, comma-separated [default: --brokers, then BARFLOW_KAFKA_BROKERS, then 127.0.0.1:9092]'),
        clientId: z.string().default('barflow-live').describe('Kafka client id (shows in broker logs and metrics)'),
        groupId: z.string().default('barflow-live').describe('consumer group: processes with the same group split the partitions'),
        fromBeginning: z.boolean().default(true).describe('where a group with no committed offset starts: the oldest retained bar (true) or new bars only'),
        sessionTimeoutMs: z.number().int().min(6000).default(10_000).describe('how long the group waits for a silent member before moving its partitions'),
        heartbeatIntervalMs: z.number().int().positive().default(1000).describe('heartbeat period (well under sessionTimeoutMs)'),
      })
      .strict()
      .default({ clientId: 'barflow-live', groupId: 'barflow-live', fromBeginning: true, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000 }),
    topics: z
      .object({
        bars: topic.default('bars.1m').describe('1-minute bars and watermarks in; key = symbol'),
        dlq: topic.default('bars.dlq').describe('dead letters: each refused message, original bytes, reason in headers'),
        features: topic.default('features.1m').describe('feature rows out; key = symbol'),
        predictions: topic.default('predictions').describe('predictions out (when a model is configured); key = symbol'),
        state: topic.default('barflow.operator-state').describe('compacted per-symbol operator state snapshots; as many partitions as the bar topic at least'),
        create: z.boolean().default(true).describe('create missing topics with the settings of topology/topics.yaml (undeclared names copy the declared topic of the same role)'),
      })
      .strict()
      .default({ bars: 'bars.1m', dlq: 'bars.dlq', features: 'features.1m', predictions: 'predictions', state: 'barflow.operator-state', create: true }),
    featureSet: z.string().optional().describe('feature-set YAML, relative to this file [default: the package default set]'),
    featureFormat: z.enum(['binary', 'json']).default('binary').describe('value format of feature rows on the features topic (docs/live.md)'),
    questdb: z
      .object({
        enabled: z.boolean().default(true).describe('also write feature rows (and predictions) to QuestDB'),
        endpoint: z.string().optional().describe('ILP/HTTP config string [default: --questdb, then BARFLOW_QUESTDB, then http::addr=127.0.0.1:9000;]'),
        featuresTable: table.default('features').describe('table of feature rows, created from the feature set, DEDUP UPSERT KEYS(ts, symbol)'),
        predictionsTable: table.default('predictions').describe('table of predictions, with a model SYMBOL column, DEDUP UPSERT KEYS(ts, symbol, model)'),
      })
      .strict()
      .default({ enabled: true, featuresTable: 'features', predictionsTable: 'predictions' }),
    model: DriftModelSchema.nullable().default(null).describe('built-in predictor ({builtin: drift}); null for none. Not together with bundle'),
    bundle: z
      .object({
        path: z.string().describe('model bundle folder (barflow train); refused unless its checksums and feature schema match'),
        fallback: z.string().optional().describe('a second bundle, used when the primary fails or gives no finite p_up (counted in /metrics)'),
      })
      .strict()
      .nullable()
      .default(null)
      .describe('trained model served on every feature row; predictions to the predictions topic and QuestDB (DEDUP UPSERT KEYS(ts, symbol, model))'),
    commitIntervalMs: z.number().int().min(10).default(10_000).describe('how often state is snapshotted and offsets committed; a crash re-does at most this much work'),
    maxMessageBytes: z.number().int().positive().default(65_536).describe('bar messages larger than this are refused (oversized_message)'),
    metrics: z
      .object({
        host: z.string().default('127.0.0.1').describe('address of the /metrics, /health and /ready server'),
        port: z.number().int().min(0).max(65_535).default(9464).describe('its port; 0 picks a free one (logged at start)'),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 9464 }),
  })
  .strict()
  .refine((c) => c.model === null || c.bundle === null, { message: 'give either model (built in) or bundle, not both', path: ['bundle'] });

export type LiveConfig = z.infer<typeof LiveConfigSchema> & { featureSetFile: string; source: string };

/** Reads and validates a live config file; the feature-set path is resolved against the file's folder. */
export function loadLiveConfig(file: string): LiveConfig {
  const config = loadYaml(file, LiveConfigSchema);
  const featureSetFile = config.featureSet === undefined ? DEFAULT_FEATURE_SET_FILE : isAbsolute(config.featureSet) ? config.featureSet : resolve(dirname(file), config.featureSet);
  return { ...config, featureSetFile, source: file };
}
