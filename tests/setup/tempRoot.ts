import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
let users = 0;
let root: string | null = null;

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

export default function setup(): () => void {
  users++;
  if (root === null) {
    const base = tmpdir();
    mkdirSync(base, { recursive: true });
    sweepAbandoned(base);
    root = mkdtempSync(join(base, `${RUN_PREFIX}${process.pid}-`));
    process.env.TMPDIR = root;
    process.env.BARFLOW_TEST_RUN_TMP = root;
  }
  const mine = root;
  return () => {
    if (--users > 0) return;
    const left = describeLeftovers(mine);
    rmSync(mine, { recursive: true, force: true });
    root = null;
    if (left.length === 0) return;
    // vitest reports an error thrown here but still exits 0; the exit code makes the run fail.
    process.exitCode = 1;
    throw new Error(`tests left ${left.length} temporary entr${left.length === 1 ? 'y' : 'ies'} behind in ${mine} (removed now; every test must remove what it makes, also when it fails): ${left.slice(0, 20).join(', ')}`);
  };
}
