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
}

/** Runs `barflow <args>` in a child process; never throws for a non-zero exit, which is in `code`. */
export async function runBarflow(args: string[], options: CliOptions = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...(options.node ?? []), BARFLOW_BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, CI: '1', ...options.env },
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number') throw err; // it did not run (ENOENT, maxBuffer): not an exit code
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
