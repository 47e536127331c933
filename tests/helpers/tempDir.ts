import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, onTestFinished } from 'vitest';

function make(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `barflow-${prefix}-`));
}

/**
 * A temporary folder for a test file or a describe block (call it at module or describe level),
 * removed after the block's tests, whether they passed or failed.
 */
export function tempDir(prefix: string): string {
  const dir = make(prefix);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A temporary folder for the running test (call it inside `it`), removed when the test ends, pass or fail. */
export function testTempDir(prefix: string): string {
  const dir = make(prefix);
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
