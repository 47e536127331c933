import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';

/**
 * Every JVM barflow starts carries `-Dbarflow.service=<name> -Dbarflow.home=<home>`; `down` only
 * signals a pid whose command line has both, so a stale pid file whose pid was reused by some other
 * program never gets that program killed.
 */
export function ownershipMarkers(service: string, home: string): string[] {
  return [`-Dbarflow.service=${service}`, `-Dbarflow.home=${home}`];
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // An exited child that its parent has not reaped yet still answers signal 0.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** The arguments of a process: exact from /proc on Linux, split on blanks from `ps` elsewhere. */
function commandLine(pid: number): string[] | null {
  try {
    if (existsSync(`/proc/${pid}/cmdline`)) return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return execFileSync('ps', ['-ww', '-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim().split(/\s+/);
  } catch {
    return null;
  }
}

/**
 * True when the pid is alive and is the service barflow started from this home: its arguments
 * include both markers exactly (so home /x/.barflow never claims a JVM of /x/.barflow2).
 */
export function isOurProcess(pid: number, service: string, home: string): boolean {
  if (!isAlive(pid)) return false;
  const args = commandLine(pid);
  return args !== null && ownershipMarkers(service, home).every((m) => args.includes(m));
}

/**
 * The pid of the service barflow started from this home, found by its markers among all processes
 * (Linux: /proc), for when its pid file is missing or stale: a `services up` killed between
 * starting the JVM and writing the pid file leaves a running server that only this finds.
 */
export function findOurProcess(service: string, home: string): number | null {
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
  } catch {
    return null;
  }
  for (const pid of pids.sort((a, b) => a - b)) if (pid !== process.pid && isOurProcess(pid, service, home)) return pid;
  return null;
}

/**
 * An exclusive lock on a home for commands that start or stop its services, so that two at once
 * cannot both spawn a JVM. A lock left by a process that died is taken over.
 */
export function acquireLock(file: string, what: string): () => void {
  mkdirSync(dirname(file), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const holder = readPid(file);
      if (holder !== null && holder !== process.pid && isAlive(holder)) {
        throw new Error(`another barflow command (pid ${holder}) is ${what} in this home; wait for it, or remove ${file} if it is gone`);
      }
      rmSync(file, { force: true });
    }
  }
}

export function readPid(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Starts a detached process (it outlives the CLI) with stdout and stderr appended to a log file. */
export function spawnDetached(command: string, args: string[], logFile: string, cwd: string): number {
  mkdirSync(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function writePid(file: string, pid: number): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${pid}\n`);
}

export function removePid(file: string): void {
  rmSync(file, { force: true });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(pid: number, graceMs = 30_000): Promise<'terminated' | 'killed'> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig); // the whole process group: spawnDetached made the JVM its leader
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'terminated';
    await sleep(200);
  }
  signal('SIGKILL');
  while (isAlive(pid)) await sleep(100);
  return 'killed';
}

/** Resolves true when nothing listens on host:port (so a service may bind it). */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Last lines of a log file, to explain why a service did not come up. */
export function tailFile(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
