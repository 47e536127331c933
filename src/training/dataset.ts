import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type DatasetManifest, readManifest } from './datasetManifest.js';
import { type FeatureTable, type LoadFeatureTableOptions, loadFeatureTable } from './featureTable.js';

export interface Dataset {
  readonly dir: string;
  readonly manifest: DatasetManifest;
  readonly table: FeatureTable;
}

/**
 * Opens a dataset folder written by `barflow replay`: its manifest (validated) and its feature
 * table, from the Arrow file when there is one (it loads fastest), else the Parquet file. The
 * table must be the one the manifest describes: same schema hash and row count.
 */
export function openDataset(dir: string, options: LoadFeatureTableOptions = {}): Dataset {
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new Error(`${dir} is not a dataset folder: it has no manifest.json (barflow replay -o ${dir} writes one)`);
  const manifest = readManifest(manifestPath);
  const file = manifest.files.arrow ?? manifest.files.parquet;
  if (file === undefined) throw new Error(`${manifestPath} lists no feature file`);
  const table = loadFeatureTable(join(dir, file), options);
  if (table.schemaHash !== manifest.featureSet.schemaHash) {
    throw new Error(`${join(dir, file)} has schema ${table.schemaHash.slice(0, 12)}, but the manifest says ${manifest.featureSet.schemaHash.slice(0, 12)}: the folder was changed after replay wrote it`);
  }
  if (table.n !== manifest.rows) throw new Error(`${join(dir, file)} has ${table.n} rows, but the manifest says ${manifest.rows}: the folder was changed after replay wrote it`);
  return { dir, manifest, table };
}
