import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFeatureSet } from '../../src/operators/featureSet.js';
import { endpoints } from '../helpers/services.js';
import { runBarflow } from '../helpers/cli.js';
import { tempDir } from '../helpers/tempDir.js';

describe('barflow demo (the README main command)', { timeout: 300_000 }, () => {
  const cwd = tempDir('demo');

  it('trains on stationary columns only, and its live predictions for every symbol fall on both sides of 0.5', async () => {
    const r = await runBarflow(['demo'], { cwd, env: endpoints().env });
    expect(r.code, r.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(cwd, 'demo-output', 'bundle', 'manifest.json'), 'utf8'));
    const inputs: string[] = manifest.features.columns;
    const role = new Map(loadFeatureSet().columns.map((c) => [c.name, c.role]));
    expect(inputs.length).toBeGreaterThan(0);
    expect(inputs.filter((c) => role.get(c) !== 'stationary'), 'level columns among the inputs').toEqual([]);
    expect(Object.values(manifest.features.roles)).toEqual(inputs.map(() => 'stationary'));
    const spreads = [...r.stdout.matchAll(/^ {2}(\w+) +live from .*: p_up min ([\d.]+), median ([\d.]+), max ([\d.]+)/gm)].map((m) => ({ symbol: m[1], min: Number(m[2]), max: Number(m[4]) }));
    expect(spreads.map((s) => s.symbol)).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
    for (const s of spreads) {
      expect(s.min, `${s.symbol} p_up min`).toBeLessThan(0.5);
      expect(s.max, `${s.symbol} p_up max`).toBeGreaterThan(0.5);
    }
    expect(r.stdout).toMatch(/(\d+) predictions of the \1 later bars arrived/);
    expect(readFileSync(join(cwd, 'demo-output', 'report.html'), 'utf8')).toContain('Per symbol');
  });
});
