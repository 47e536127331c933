// The training module's public API (re-exported from the package root).
export { type FeatureTable, type LoadFeatureTableOptions, describeRow, featureTableFromTable, loadFeatureTable } from './featureTable.js';
export * from './views.js';
export { DATASET_FORMAT, type DatasetManifest, DatasetManifestSchema, type FingerprintParts, datasetFingerprint, readManifest, writeManifest } from './datasetManifest.js';
export { type Dataset, openDataset } from './dataset.js';
