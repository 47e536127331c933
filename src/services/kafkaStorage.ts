import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A KRaft cluster id is a Kafka `Uuid` in its text form: 16 bytes, base64url without padding, so
 * 22 characters of [A-Za-z0-9_-].
 */
const CLUSTER_ID = /^[A-Za-z0-9_-]{22}$/;
/** Kafka reserves these two ids (`Uuid.ZERO_UUID`, `Uuid.METADATA_TOPIC_ID`). */
const RESERVED = new Set(['AAAAAAAAAAAAAAAAAAAAAA', 'AAAAAAAAAAAAAAAAAAAAAQ']);

/** Checks an id given by the user (BARFLOW_KAFKA_CLUSTER_ID); the error says what a valid one looks like. */
export function checkKafkaClusterId(id: string, source: string): string {
  if (!CLUSTER_ID.test(id) || Buffer.from(id, 'base64url').length !== 16) {
    throw new Error(`${source}: ${JSON.stringify(id)} is not a Kafka cluster id: 22 characters of A-Z a-z 0-9 _ - (16 bytes in base64url, as \`kafka-storage random-uuid\` prints)`);
  }
  if (RESERVED.has(id)) throw new Error(`${source}: ${id} is reserved by Kafka; use another id`);
  return id;
}

/**
 * A new cluster id, drawn as Kafka's own `Uuid.randomUuid` draws it: random bytes, drawn again while
 * the text begins with `-` (1 id in 64), because Kafka's command-line tools, like many others,
 * read such a value as an option. barflow passes the id as `--cluster-id=<id>`, which takes any
 * id; the redraw keeps ours usable with the tools by hand too.
 */
export function newKafkaClusterId(random: (n: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (!id.startsWith('-') && !RESERVED.has(id)) return id;
  }
}

/**
 * True when the log directory holds a complete meta.properties (a cluster id and a node id). A
 * folder without one, or with one cut short, cannot be started from: Kafka refuses it, and its
 * format tool refuses to format it again ("already formatted"), which once needed a manual step.
 */
export function kafkaStorageFormatted(dataDir: string): boolean {
  let text: string;
  try {
    text = readFileSync(join(dataDir, 'meta.properties'), 'utf8');
  } catch {
    return false;
  }
  return /^cluster\.id=\S+$/m.test(text) && /^node\.id=\d+$/m.test(text);
}

export interface FormatRequest {
  java: string;
  classpath: string;
  log4jFile: string;
  /** The broker's log directory; it exists once, and only once, it is formatted. */
  dataDir: string;
  /** A fixed id (BARFLOW_KAFKA_CLUSTER_ID), else a new one. */
  clusterId?: string | undefined;
  /** The broker's server.properties text for the given log directory. */
  serverProperties: (logDirs: string) => string;
}

/**
 * Formats a KRaft log directory (meta.properties and the bootstrap checkpoint) so that it is
 * either fully formatted or absent: the tool writes into `<data>.formatting`, which is renamed to
 * `<data>` only after it succeeded. A format killed half-way (the CLI interrupted, the machine
 * stopped) leaves only the `.formatting` folder, which the next start removes and formats again.
 * A `<data>` folder that is not formatted (`kafkaStorageFormatted`; an older barflow made the
 * folder before formatting into it) holds nothing Kafka can start from and is replaced.
 */
export async function formatKafkaStorage(r: FormatRequest): Promise<string> {
  const staging = `${r.dataDir}.formatting`;
  rmSync(staging, { recursive: true, force: true });
  if (existsSync(r.dataDir)) {
    if (kafkaStorageFormatted(r.dataDir)) throw new Error(`kafka: ${r.dataDir} is formatted already`);
    rmSync(r.dataDir, { recursive: true, force: true });
  }
  const clusterId = r.clusterId ?? newKafkaClusterId();
  const props = `${staging}.properties`;
  writeFileSync(props, r.serverProperties(staging));
  try {
    await run(r.java, [`-Dlog4j2.configurationFile=${r.log4jFile}`, '-cp', r.classpath, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '-c', props], { maxBuffer: 8 << 20 });
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`kafka: formatting ${r.dataDir} with cluster id ${clusterId} failed: ${`${e.stderr ?? ''}${e.stdout ?? ''}`.trim() || e.message}`);
  } finally {
    rmSync(props, { force: true });
  }
  renameSync(staging, r.dataDir);
  return clusterId;
}
