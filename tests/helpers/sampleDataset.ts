import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { replay } from '../../src/streams/replay/replay.js';
import type { FeatureTable } from '../../src/training/featureTable.js';
import { readLabelConfig } from '../../src/training/labels/labelConfig.js';
import { writeLabels } from '../../src/training/labels/labelSet.js';

const LABELS = 'tests/fixtures/labels/labels.yaml';

/**
 * The bundled samples (data/samples) replayed into `dir` and labelled with the reference label
 * set; with `shuffleSeed`, also the label set `shuffled`: the same labels moved between rows by a
 * seeded permutation (each row keeps its label span), the leak canary's targets.
 */
export async function sampleDataset(dir: string, shuffleSeed?: number): Promise<string> {
  await replay({ source: { kind: 'files', patterns: ['data/samples/*.csv'] }, out: dir, formats: ['arrow'], workers: 1, command: ['test'] });
  const config = readLabelConfig(LABELS);
  const text = readFileSync(LABELS, 'utf8');
  writeLabels(dir, config, text, ['test']);
  if (shuffleSeed !== undefined) writeLabels(dir, { ...config, name: 'shuffled' }, text, ['test', '--shuffle'], { shuffleSeed });
  return dir;
}

/** The rows of a table before `cut` (epoch ms), every column copied: the data as it stood at `cut`. */
export function tableBefore(table: FeatureTable, cut: number): FeatureTable {
  const keep: number[] = [];
  for (let r = 0; r < table.n; r++) if (table.ts[r]! < cut) keep.push(r);
  const symbolStart = new Int32Array(table.symbols.length + 1);
  for (const r of keep) symbolStart[table.symbolCodes[r]! + 1]!++;
  for (let k = 0; k < table.symbols.length; k++) symbolStart[k + 1]! += symbolStart[k]!;
  const columns = new Map(table.columnNames.map((c) => [c, Float64Array.from(keep, (r) => table.column(c)[r]!)]));
  return {
    ...table,
    path: join(table.path, `before-${cut}`),
    n: keep.length,
    ts: Float64Array.from(keep, (r) => table.ts[r]!),
    symbolCodes: Int32Array.from(keep, (r) => table.symbolCodes[r]!),
    symbolStart,
    column: (name) => {
      const c = columns.get(name);
      if (c === undefined) throw new Error(`no column ${name}`);
      return c;
    },
    hasColumn: (name) => columns.has(name),
  };
}
