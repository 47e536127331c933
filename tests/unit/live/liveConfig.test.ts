import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { LiveConfigSchema, loadLiveConfig } from '../../../src/serving/live/liveConfig.js';
import { ROOT } from '../../helpers/files.js';
import { testTempDir } from '../../helpers/tempDir.js';

/** Every leaf field of the schema, as dotted paths. */
function fields(schema: z.ZodType, prefix = ''): string[] {
  let s = schema as unknown as { def: { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType> } };
  while (['default', 'optional', 'nullable'].includes(s.def.type)) s = s.def.innerType as unknown as typeof s;
  if (s.def.type !== 'object') return [prefix];
  return Object.entries(s.def.shape!).flatMap(([k, v]) => fields(v, prefix ? `${prefix}.${k}` : k));
}

describe('live config', () => {
  it('topology/live.yaml is valid and resolves its feature set next to it', () => {
    const c = loadLiveConfig(join(ROOT, 'topology', 'live.yaml'));
    expect(c.topics.bars).toBe('bars.1m');
    expect(c.featureSetFile).toBe(join(ROOT, 'topology', 'features', 'default.yaml'));
    expect(c.model?.builtin).toBe('drift');
  });

  it('docs/live.md documents every field', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'live.md'), 'utf8');
    for (const f of fields(LiveConfigSchema)) expect(doc, f).toContain(`| \`${f}\` |`);
  });

  it('refuses an unknown or mistyped field, naming the file and the field', () => {
    const dir = testTempDir('live-config');
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'kafka: { groupId: g, sesionTimeoutMs: 5000 }\n');
    expect(() => loadLiveConfig(file)).toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: kafka.*sesionTimeoutMs`));
    writeFileSync(file, 'commitIntervalMs: soon\n');
    expect(() => loadLiveConfig(file)).toThrow(/commitIntervalMs/);
  });
});
