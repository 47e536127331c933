import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { brokersFromEnv } from '../streams/kafka/kafkaClient.js';
import { createKafka } from '../streams/kafka/kafkaClient.js';
import { type QuestDbEndpoint, questDbEndpointFromEnv } from '../streams/questdb/endpoint.js';
import { QuestDb } from '../streams/questdb/questDb.js';
import { applyTopology } from '../topology/apply.js';
import { type ApplyAction, loadTopology } from '../topology/topology.js';
import {
  type LocalService,
  kafkaAnswers,
  kafkaBrokersOf,
  kafkaService,
  questDbAnswers,
  questDbEndpointOf,
  questDbService,
  warmUpKafka,
} from './localServices.js';
import { type ServiceName, resolveJars } from './maven.js';
import { acquireLock, findOurProcess, isOurProcess, portIsFree, readPid, removePid, spawnDetached, stopProcess, tailFile, writePid } from './processes.js';
import type { ServiceSettings } from './settings.js';

const run = promisify(execFile);

const settle = (p: Promise<unknown>): Promise<Error | null> =>
  p.then(
    () => null,
    (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
  );

export interface ServiceState {
  name: ServiceName;
  /** `external`: an endpoint from the environment, never started or stopped by barflow. */
  state: 'running' | 'stopped' | 'external';
  answering: boolean;
  pid: number | null;
  endpoint: string;
  logFile: string | null;
}

export interface Endpoints {
  kafkaBrokers: string[];
  questdb: QuestDbEndpoint;
}

export interface UpResult {
  started: ServiceName[];
  states: ServiceState[];
  topology: ApplyAction[];
  endpoints: Endpoints;
}

/**
 * Starts, stops and reports the local Kafka and QuestDB of one barflow home. Services named by
 * BARFLOW_KAFKA_BROKERS / BARFLOW_QUESTDB are external: probed and used, never started or stopped.
 */
export class ServiceManager {
  private readonly local: Record<ServiceName, LocalService>;

  constructor(
    readonly settings: ServiceSettings,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly report: (line: string) => void = () => undefined,
  ) {
    this.local = { kafka: kafkaService(settings), questdb: questDbService(settings) };
  }

  isExternal(name: ServiceName): boolean {
    return Boolean(name === 'kafka' ? this.env.BARFLOW_KAFKA_BROKERS : this.env.BARFLOW_QUESTDB);
  }

  endpoints(): Endpoints {
    return {
      kafkaBrokers: this.isExternal('kafka') ? brokersFromEnv(this.env) : kafkaBrokersOf(this.settings),
      questdb: this.isExternal('questdb') ? questDbEndpointFromEnv(this.env) : questDbEndpointOf(this.settings),
    };
  }

  private answers(name: ServiceName): Promise<boolean> {
    const ep = this.endpoints();
    return name === 'kafka' ? kafkaAnswers(ep.kafkaBrokers) : questDbAnswers(ep.questdb);
  }

  /**
   * Starts what is not running (idempotent), waits until both answer, applies the topology. When
   * anything fails, the services this call started are stopped again, so no JVM is left behind.
   */
  async up(options: { timeoutMs?: number; applyTopology?: boolean } = {}): Promise<UpResult> {
    const timeoutMs = options.timeoutMs ?? 120_000;
    const release = acquireLock(this.lockFile, 'starting or stopping services');
    const started: ServiceName[] = [];
    try {
      // Each wait is settled at once, so that one failing while the other service is still being
      // prepared is reported with the rest instead of as an unhandled rejection.
      const waits: Promise<Error | null>[] = [];
      for (const name of ['kafka', 'questdb'] as const) {
        if (this.isExternal(name)) {
          if (!(await this.answers(name))) throw new Error(`${name} at ${this.describeExternal(name)} (from the environment) does not answer`);
          this.report(`${name}: external endpoint ${this.describeExternal(name)} answers; not starting one`);
          continue;
        }
        const svc = this.local[name];
        const pid = this.runningPid(name);
        if (pid !== null) {
          waits.push(settle(this.waitUntilAnswering(svc, pid, timeoutMs, `${name}: already running (pid ${pid})`)));
          continue;
        }
        const newPid = await this.start(svc);
        started.push(name);
        waits.push(settle(this.waitUntilAnswering(svc, newPid, timeoutMs, `${name}: started (pid ${newPid}), answering`)));
      }
      const failures = (await Promise.all(waits)).filter((e): e is Error => e !== null);
      if (failures.length > 0) throw new Error(failures.map((e) => e.message).join('\n'));
      const endpoints = this.endpoints();
      let topology: ApplyAction[] = [];
      if (options.applyTopology !== false) {
        const kafka = createKafka(endpoints.kafkaBrokers, 'barflow-services');
        const db = new QuestDb(endpoints.questdb);
        try {
          topology = await applyTopology(loadTopology(), { kafka, questdb: db });
        } finally {
          await db.close();
        }
        await warmUpKafka(endpoints.kafkaBrokers);
      }
      return { started, states: await this.status(), topology, endpoints };
    } catch (err) {
      if (started.length > 0) {
        for (const line of await this.stop(started)) this.report(`${line} (start-up failed)`);
      }
      throw err;
    } finally {
      release();
    }
  }

  /** Stops the services this home started (all, or the ones named). */
  async down(only: readonly ServiceName[] = ['kafka', 'questdb']): Promise<string[]> {
    const release = acquireLock(this.lockFile, 'starting or stopping services');
    try {
      return await this.stop(only);
    } finally {
      release();
    }
  }

  private get lockFile(): string {
    return join(this.settings.home, 'services.lock');
  }

  /**
   * The pid of this home's running service: the pid file's when it names our process, else one
   * found by its markers (a start interrupted before it wrote the pid file), whose pid file is then
   * written. A stale pid file is removed (and said so).
   */
  private runningPid(name: ServiceName): number | null {
    const svc = this.local[name];
    const recorded = readPid(svc.pidFile);
    if (recorded !== null && isOurProcess(recorded, name, this.settings.home)) return recorded;
    if (recorded !== null) {
      removePid(svc.pidFile);
      this.report(`${name}: removed stale pid file (pid ${recorded} is not a barflow ${name} of this home)`);
    }
    const found = findOurProcess(name, this.settings.home);
    if (found !== null) {
      writePid(svc.pidFile, found);
      this.report(`${name}: found running without a pid file (pid ${found}); pid file written`);
    }
    return found;
  }

  private async stop(only: readonly ServiceName[]): Promise<string[]> {
    const lines: string[] = [];
    for (const name of only) {
      const svc = this.local[name];
      const recorded = readPid(svc.pidFile);
      if (recorded !== null && !isOurProcess(recorded, name, this.settings.home)) {
        lines.push(`${name}: pid ${recorded} is not a barflow ${name} of this home; removed the stale pid file, killed nothing`);
      }
      const pid = this.runningPid(name);
      if (pid === null) {
        if (recorded === null) lines.push(`${name}: not running${this.isExternal(name) ? ' here (external endpoint left alone)' : ''}`);
        continue;
      }
      const how = await stopProcess(pid);
      removePid(svc.pidFile);
      lines.push(`${name}: stopped (pid ${pid}${how === 'killed' ? ', killed after the grace period' : ''})`);
    }
    return lines;
  }

  async status(): Promise<ServiceState[]> {
    const states: ServiceState[] = [];
    for (const name of ['kafka', 'questdb'] as const) {
      if (this.isExternal(name)) {
        states.push({ name, state: 'external', answering: await this.answers(name), pid: null, endpoint: this.describeExternal(name), logFile: null });
        continue;
      }
      const svc = this.local[name];
      const pid = this.runningPid(name);
      const ours = pid !== null;
      states.push({
        name,
        state: ours ? 'running' : 'stopped',
        answering: ours ? await svc.answers() : false,
        pid: ours ? pid : null,
        endpoint: svc.endpoint,
        logFile: existsSync(svc.logFile) ? svc.logFile : null,
      });
    }
    return states;
  }

  private describeExternal(name: ServiceName): string {
    return name === 'kafka' ? this.env.BARFLOW_KAFKA_BROKERS! : this.env.BARFLOW_QUESTDB!;
  }

  private async start(svc: LocalService): Promise<number> {
    for (const port of svc.ports) {
      if (!(await portIsFree(port))) {
        const envName = svc.name === 'kafka' ? 'BARFLOW_KAFKA_BROKERS' : 'BARFLOW_QUESTDB';
        throw new Error(
          `${svc.name}: port ${port} on 127.0.0.1 is taken by another process. Stop it, point ${envName} at it ` +
            `to use it as an external endpoint, or choose other ports (see barflow services up --help).`,
        );
      }
    }
    await this.checkJava();
    const jars = await resolveJars(this.settings.cache, svc.name, this.report);
    const args = await svc.prepare(jars);
    const pid = spawnDetached(this.settings.java, args, svc.consoleFile, svc.dir);
    writePid(svc.pidFile, pid);
    this.report(`${svc.name}: starting (pid ${pid}), log ${svc.logFile}`);
    return pid;
  }

  private javaChecked = false;

  private async checkJava(): Promise<void> {
    if (this.javaChecked) return;
    let text: string;
    try {
      const { stderr, stdout } = await run(this.settings.java, ['-version']);
      text = stderr + stdout;
    } catch {
      throw new Error(`Java 17+ is needed to run Kafka and QuestDB, and ${this.settings.java} did not run; install a JDK 17 or set JAVA_HOME`);
    }
    const m = /version "(\d+)(?:\.(\d+))?/.exec(text);
    const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : 0;
    if (major < 17) throw new Error(`Java 17+ is needed to run Kafka and QuestDB; ${this.settings.java} is ${m?.[0] ?? 'unknown'}`);
    this.javaChecked = true;
  }

  private async waitUntilAnswering(svc: LocalService, pid: number, timeoutMs: number, done: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await svc.answers()) {
        this.report(done);
        return;
      }
      if (!isOurProcess(pid, svc.name, this.settings.home)) {
        removePid(svc.pidFile);
        const logs = [...new Set([svc.consoleFile, svc.logFile])].map((f) => `--- ${f}\n${tailFile(f)}`).join('\n');
        throw new Error(`${svc.name} exited during start-up; last log lines:\n${logs}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`${svc.name} did not answer within ${timeoutMs / 1000}s (pid ${pid} still running); see ${svc.logFile}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
