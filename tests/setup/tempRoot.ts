import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

/**
 * One temporary folder per test run. Every test process, and every program a test starts, inherits
 * TMPDIR pointing into it, so whatever anything writes with os.tmpdir() lands there. Tests remove
 * what they make (tests/helpers/tempDir.ts); the teardown then finds the folder empty, removes it,
 * and fails the run naming anything a test left behind, so a test that stops cleaning up is seen
 * at once. Runs killed before their teardown leave their folder; the next run removes those whose
 * process is gone. (Test runs once left 53 GB of folders on a machine, and QuestDB stopped on the
 * full disk.)
 */
const RUN_PREFIX = 'barflow-test-run-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Folders of earlier runs whose process has exited (killed before their teardown). */
function sweepAbandoned(base: string): void {
  for (const name of readdirSync(base)) {
    const m = new RegExp(`^${RUN_PREFIX}(\\d+)-`).exec(name);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) rmSync(join(base, name), { recursive: true, force: true });
  }
}

/**
 * What libraries write into TMPDIR of every process that uses them, not files of ours: removed with
 * the folder, not counted against the tests. onnxruntime's telemetry layer writes `.ses` and an
 * empty `mat-debug-<pid>.log`; tsx keeps its compile cache in `tsx-<uid>`.
 */
const LIBRARY_FILES = [/^\.ses$/, /^mat-debug-\d+\.log$/, /^tsx-\d+$/];

function describeLeftovers(dir: string): string[] {
  return readdirSync(dir).filter((name) => !LIBRARY_FILES.some((re) => re.test(name))).map((name) => {
    const st = statSync(join(dir, name));
    return `${name}${st.isDirectory() ? '/' : ''}`;
  });
}

export default function setup(project: TestProject): () => void {
  // With -t some blocks are skipped, and a skipped block's afterAll (its folder's removal) never
  // runs: then leftovers are removed without failing the run.
  const strict = project.config.testNamePattern === undefined;
  // Each project of the run loads this module on its own (no shared module state), so the first
  // one makes the folder and says so in the environment; the others use it and leave it to the first.
  const inherited = process.env.BARFLOW_TEST_RUN_TMP;
  if (inherited !== undefined && process.env.BARFLOW_TEST_RUN_TMP_PID === String(process.pid)) return () => undefined;
  const base = tmpdir();
  mkdirSync(base, { recursive: true });
  sweepAbandoned(base);
  const root = mkdtempSync(join(base, `${RUN_PREFIX}${process.pid}-`));
  process.env.TMPDIR = root;
  process.env.BARFLOW_TEST_RUN_TMP = root;
  process.env.BARFLOW_TEST_RUN_TMP_PID = String(process.pid);
  return () => {
    const left = describeLeftovers(root);
    rmSync(root, { recursive: true, force: true });
    if (left.length === 0 || !strict) return;
    // vitest reports an error thrown here but still exits 0; the exit code makes the run fail.
    process.exitCode = 1;
    throw new Error(`tests left ${left.length} temporary entr${left.length === 1 ? 'y' : 'ies'} behind in ${root} (removed now; every test must remove what it makes, also when it fails): ${left.slice(0, 20).join(', ')}`);
  };
}
