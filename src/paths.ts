import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/** Root of the barflow package (this file sits in src/ or, compiled, in dist/). */
export const PACKAGE_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');

export const DEFAULT_TOPOLOGY_DIR = resolve(PACKAGE_ROOT, 'topology');
export const SAMPLES_DIR = resolve(PACKAGE_ROOT, 'data', 'samples');
