import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/files.js';

const run = promisify(execFile);

describe('npm run bench, inference section', () => {
  it('skips XGBoost with a clear line when its library is missing, and still prints the figures as JSON', async () => {
    const { stdout } = await run(process.execPath, [resolve(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'bench/inference.ts'], {
      cwd: ROOT,
      env: { ...process.env, BENCH_MODELS: 'logistic,xgboost', BENCH_REPEAT: '1', BARFLOW_LIBXGBOOST: '/nonexistent/libxgboost.so.0' },
      maxBuffer: 16 << 20,
    });
    const lines = stdout.trimEnd().split('\n');
    expect(stdout).toMatch(/inference: xgboost skipped: its shared library is missing/);
    const figures = JSON.parse(lines.at(-1)!) as { kind: string; p50_us: number }[];
    expect(figures.map((f) => f.kind)).toEqual(['logistic']);
    expect(figures[0]!.p50_us).toBeGreaterThan(0);
  }, 120_000);
});
