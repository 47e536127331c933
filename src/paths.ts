import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** Root of the barflow package (this file sits in src/ or, compiled, in dist/). */
export const PACKAGE_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');

export const DEFAULT_TOPOLOGY_DIR = resolve(PACKAGE_ROOT, 'topology');
export const SAMPLES_DIR = resolve(PACKAGE_ROOT, 'data', 'samples');

/**
 * A worker thread's compiled script, `dist/<path>`: also when the caller runs from src/ (tests, tsx),
 * since a worker cannot load TypeScript. `what` names it in the error when it was not built.
 */
export function compiledWorkerScript(path: string, what: string): string {
  const script = resolve(PACKAGE_ROOT, 'dist', path);
  if (!existsSync(script)) throw new Error(`${what} ${script} is missing: run npm run build`);
  return script;
}
