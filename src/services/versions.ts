/**
 * Pinned service versions, fetched from Maven Central and run on the machine's Java 17.
 *
 * QuestDB: 9.3.4 is the newest release on Java 17 (its classes are Java 17 bytecode, major 61).
 * Releases from 9.4.0 on are built for Java 25 and fail to load on Java 17, so do not bump past
 * 9.3.x without also requiring Java 25.
 *
 * Kafka: 4.4.0 (KRaft only; brokers need Java 17+). Its core jar brings the broker, the controller
 * and the StorageTool used to format the log directory. kafka_2.13 declares no SLF4J binding, so
 * log4j-slf4j-impl (matching the log4j-core Kafka depends on) is added to get broker logs in files.
 */
export const KAFKA_VERSION = '4.4.0';
export const QUESTDB_VERSION = '9.3.4';
export const LOG4J_VERSION = '2.25.5';
export const DEPENDENCY_PLUGIN_VERSION = '3.8.1';

export interface Artifact {
  groupId: string;
  artifactId: string;
  version: string;
}

export const SERVICE_ARTIFACTS: Record<'kafka' | 'questdb', Artifact[]> = {
  kafka: [
    { groupId: 'org.apache.kafka', artifactId: 'kafka_2.13', version: KAFKA_VERSION },
    { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-slf4j-impl', version: LOG4J_VERSION },
  ],
  questdb: [{ groupId: 'org.questdb', artifactId: 'questdb', version: QUESTDB_VERSION }],
};
