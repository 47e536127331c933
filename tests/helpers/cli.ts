import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './files.js';

const run = promisify(execFile);

/** The built CLI (npm test builds dist/ first). */
export const BARFLOW_BIN = resolve(ROOT, 'bin', 'barflow.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Added to the test process's environment (CI=1 is always set: no progress bars). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Node's own flags, before the script (`--max-old-space-size=32`). */
  node?: string[];
  /** The child is killed after this long and the call throws with its stderr (default 5 min). */
  timeoutMs?: number;
}

/** Runs `barflow <args>` in a child process; never throws for a non-zero exit, which is in `code`. */
export async function runBarflow(args: string[], options: CliOptions = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...(options.node ?? []), BARFLOW_BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, CI: '1', ...options.env },
      maxBuffer: 64 << 20,
      timeout: options.timeoutMs ?? 300_000,
      killSignal: 'SIGKILL',
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number | string | null; killed?: boolean; stdout?: string; stderr?: string; message: string };
    // A hung child must fail the test with what it was doing, not hold it until the test's timeout.
    if (e.killed) throw new Error(`barflow ${args.join(' ')} did not finish within ${(options.timeoutMs ?? 300_000) / 1000} s and was killed; its stderr ended with:\n${(e.stderr ?? '').slice(-3000)}`);
    if (typeof e.code !== 'number') throw err; // it did not run (ENOENT, maxBuffer): not an exit code
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
