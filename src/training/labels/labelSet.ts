import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Prng } from '../models/neural/prng.js';
import { Dictionary, Float64, Int32, Int8, Table, TimestampMillisecond, Utf8, makeVector, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { type Dataset, openDataset } from '../dataset.js';
import { type DatasetManifest, type LabelEntry, writeManifest } from '../datasetManifest.js';
import { type FeatureTable, loadFeatureTable } from '../featureTable.js';
import { labelForwardReturns } from './forwardReturns.js';
import type { LabelConfig, MetaLabelSpec, TripleBarrierSpec } from './labelConfig.js';
import { alignSignalColumn } from '../predictionsFile.js';
import { BARRIER_STATUS, type BarPath, allocateBarrierOutputs, labelTripleBarrier } from './tripleBarrier.js';

/**
 * A label set: columns computed from the bars after each row, one row per dataset row in the same
 * order (symbol, ts), written to `labels/<name>.arrow` beside the features and listed in the
 * manifest with its config and sha256. The features file is not touched, so the dataset's
 * fingerprint (what went in) stays the same.
 */
export interface LabelColumn {
  name: string;
  /** A target a model learns (label, forward return, meta-label) rather than a detail of one. */
  target: boolean;
  /** Its label-end column (`<name>_t1`), for targets. */
  t1?: string;
  values: Float64Array;
}

export interface LabelSetResult {
  name: string;
  file: string;
  columns: LabelColumn[];
  /** Status columns (dictionary of strings) of barrier labels, by column name. */
  statuses: Map<string, Int8Array>;
  entry: LabelEntry;
}

/** Computes every label of the config over the dataset's rows (pure: writes nothing). */
export function computeLabels(dataset: Dataset, config: LabelConfig, options: { cwd?: string } = {}): Omit<LabelSetResult, 'entry' | 'file'> {
  const table = dataset.table;
  const bars = config.bars;
  const need = [bars.open, bars.high, bars.low, bars.close];
  for (const l of config.labels) if (l.kind !== 'forward_return') need.push(l.atr);
  for (const l of config.labels) if (l.kind === 'meta_label' && l.signal.file === undefined) need.push(l.signal.column);
  const cols = loadColumns(dataset, need);
  const columns: LabelColumn[] = [];
  const statuses = new Map<string, Int8Array>();
  const n = table.n;
  for (const spec of config.labels) {
    if (spec.kind === 'forward_return') {
      for (const h of spec.horizons) {
        const value = new Float64Array(n);
        const t1 = new Float64Array(n);
        forEachSymbol(table, (s, e) => labelForwardReturns(table.ts.subarray(s, e), cols.get(bars.close)!.subarray(s, e), h, spec.log, value, t1, s));
        columns.push({ name: `${spec.name}_${h}`, target: true, t1: `${spec.name}_${h}_t1`, values: value }, { name: `${spec.name}_${h}_t1`, target: false, values: t1 });
      }
      continue;
    }
    const side = spec.kind === 'meta_label' ? sideOf(dataset, spec, cols, options.cwd) : undefined;
    const out = allocateBarrierOutputs(n);
    forEachSymbol(table, (s, e) => {
      const path: BarPath = {
        ts: table.ts.subarray(s, e),
        open: cols.get(bars.open)!.subarray(s, e),
        high: cols.get(bars.high)!.subarray(s, e),
        low: cols.get(bars.low)!.subarray(s, e),
        close: cols.get(bars.close)!.subarray(s, e),
        atr: cols.get((spec as TripleBarrierSpec).atr)!.subarray(s, e),
      };
      labelTripleBarrier(path, spec, out, s, side?.subarray(s, e));
    });
    const p = spec.name;
    if (spec.kind === 'triple_barrier') {
      columns.push(
        { name: p, target: true, t1: `${p}_t1`, values: out.label },
        { name: `${p}_t1`, target: false, values: out.t1 },
        { name: `${p}_exit`, target: false, values: out.exitPrice },
        { name: `${p}_ret`, target: false, values: out.ret },
        { name: `${p}_ret_atr`, target: false, values: out.retAtr },
      );
      statuses.set(`${p}_status`, out.status);
      continue;
    }
    // Meta-label: was the primary side right? 1 when side × return > 0, 0 otherwise, NaN with no side.
    const meta = new Float64Array(n);
    const signed = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const sd = side![i]!;
      if (sd === 0 || Number.isNaN(sd)) {
        meta[i] = signed[i] = out.t1[i] = Number.NaN;
        out.status[i] = NO_SIDE;
        continue;
      }
      signed[i] = sd * out.ret[i]!;
      meta[i] = Number.isNaN(out.ret[i]!) ? Number.NaN : signed[i]! > 0 ? 1 : 0;
    }
    columns.push(
      { name: p, target: true, t1: `${p}_t1`, values: meta },
      { name: `${p}_t1`, target: false, values: out.t1 },
      { name: `${p}_side`, target: false, values: side! },
      { name: `${p}_ret`, target: false, values: signed },
    );
    statuses.set(`${p}_status`, out.status);
  }
  return { name: config.name, columns, statuses };
}

const NO_SIDE = BARRIER_STATUS.indexOf('no_side');

function sideOf(dataset: Dataset, spec: MetaLabelSpec, cols: Map<string, Float64Array>, cwd?: string): Float64Array {
  const raw = spec.signal.file === undefined ? cols.get(spec.signal.column)! : alignSignalColumn(dataset.table, spec.signal.file, spec.signal.column, cwd);
  const side = new Float64Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const d = raw[i]! - spec.signal.center;
    side[i] = Number.isNaN(d) ? Number.NaN : d > 0 ? 1 : d < 0 ? -1 : 0;
  }
  return side;
}

function loadColumns(dataset: Dataset, names: string[]): Map<string, Float64Array> {
  const unique = [...new Set(names)];
  const missing = unique.filter((c) => !dataset.manifest.featureSet.columns.includes(c));
  if (missing.length > 0) {
    throw new Error(`${dataset.dir}: the label config needs column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which the dataset (feature set ${dataset.manifest.featureSet.name}) does not have`);
  }
  const file = dataset.manifest.files.arrow ?? dataset.manifest.files.parquet!;
  // Reuse the open table when it holds the columns; else read just these from the file.
  const t: FeatureTable = unique.every((c) => dataset.table.hasColumn(c)) ? dataset.table : loadFeatureTable(join(dataset.dir, file), { columns: unique });
  return new Map(unique.map((c) => [c, t.column(c)]));
}

function forEachSymbol(table: FeatureTable, fn: (start: number, end: number) => void): void {
  for (let k = 0; k < table.symbols.length; k++) fn(table.symbolStart[k]!, table.symbolStart[k + 1]!);
}

/** Labels the dataset and writes `labels/<name>.arrow` plus its manifest entry (replacing one of the same name). */
export function writeLabels(datasetDir: string, config: LabelConfig, configText: string, command: string[], options: { cwd?: string; shuffleSeed?: number } = {}): LabelSetResult {
  const dataset = openDataset(datasetDir, { columns: [] });
  const result = computeLabels(dataset, config, options);
  if (options.shuffleSeed !== undefined) shuffleTargets(result.columns, options.shuffleSeed);
  const table = dataset.table;
  const symbolNames = new Array<string>(table.n);
  for (let i = 0; i < table.n; i++) symbolNames[i] = table.symbols[table.symbolCodes[i]!]!;
  const vectors: Record<string, ReturnType<typeof makeVector>> = {
    ts: vectorFromArray(Array.from(table.ts), new TimestampMillisecond()),
    symbol: vectorFromArray(symbolNames, new Dictionary(new Utf8(), new Int32())),
  };
  for (const c of result.columns) {
    // Label ends are times: a nullable timestamp reads as one in pandas and DuckDB.
    vectors[c.name] = c.name.endsWith('_t1') ? vectorFromArray(Array.from(c.values, (v) => (Number.isNaN(v) ? null : v)), new TimestampMillisecond()) : makeVector(c.values);
  }
  for (const [name, codes] of result.statuses) {
    vectors[name] = vectorFromArray(Array.from(codes, (c) => BARRIER_STATUS[c]!), new Dictionary(new Utf8(), new Int8()));
  }
  const arrow = new Table(vectors);
  arrow.schema.metadata.set('barflow.labels', config.name);
  arrow.schema.metadata.set('barflow.dataset_fingerprint', dataset.manifest.fingerprint);
  const bytes = tableToIPC(arrow, 'file');
  const file = join('labels', `${config.name}.arrow`);
  const path = join(datasetDir, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, bytes);
  renameSync(`${path}.tmp`, path);
  const entry: LabelEntry = {
    name: config.name,
    file,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    rows: table.n,
    config,
    configSha256: createHash('sha256').update(configText).digest('hex'),
    targets: result.columns.filter((c) => c.target).map((c) => ({ name: c.name, t1: c.t1!, ...countValues(c.values) })),
    columns: [...result.columns.map((c) => c.name), ...result.statuses.keys()],
    command,
  };
  const manifest: DatasetManifest = { ...dataset.manifest, labels: [...(dataset.manifest.labels ?? []).filter((l) => l.name !== config.name), entry] };
  manifest.labels!.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  writeManifest(join(datasetDir, 'manifest.json'), manifest);
  return { ...result, file, entry };
}

/**
 * A permutation null: each target's values (and its `<name>_ret` beside it) moved to other
 * labelled rows by one seeded permutation, while every row keeps its own label span (`_t1`), so
 * purging and embargo work exactly as on the real labels. A model trained on it can only show
 * skill through a leak: the leak canary of the training paths, and a null for skill tests.
 */
function shuffleTargets(columns: LabelColumn[], seed: number): void {
  const prng = new Prng(seed);
  for (const c of columns.filter((x) => x.target)) {
    const rows: number[] = [];
    for (let i = 0; i < c.values.length; i++) if (!Number.isNaN(c.values[i]!)) rows.push(i);
    const order = prng.permutation(rows.length);
    const moved = [c, ...columns.filter((x) => x.name === `${c.name}_ret`)];
    for (const col of moved) {
      const before = Float64Array.from(rows, (r) => col.values[r]!);
      rows.forEach((r, k) => (col.values[r] = before[order[k]!]!));
    }
  }
}

function countValues(values: Float64Array): { known: number; missing: number; up: number; down: number; zero: number } {
  let missing = 0;
  let up = 0;
  let down = 0;
  let zero = 0;
  for (const v of values) {
    if (Number.isNaN(v)) missing++;
    else if (v > 0) up++;
    else if (v < 0) down++;
    else zero++;
  }
  return { known: values.length - missing, missing, up, down, zero };
}

/** A label set read back: its columns as Float64Array (times as epoch ms, NaN = missing). */
export interface LabelTable {
  name: string;
  n: number;
  entry: LabelEntry;
  column(name: string): Float64Array;
  /** The label-end column of a target: `<target>_t1`. */
  t1Of(target: string): Float64Array;
  targets: string[];
}

export function openLabels(dataset: Dataset, name?: string): LabelTable {
  const entries = dataset.manifest.labels ?? [];
  if (entries.length === 0) throw new Error(`${dataset.dir} has no labels yet: run barflow label --dataset ${dataset.dir} --config C.yaml`);
  const entry = name === undefined ? (entries.length === 1 ? entries[0]! : undefined) : entries.find((l) => l.name === name);
  if (entry === undefined) {
    throw new Error(name === undefined ? `${dataset.dir} has several label sets (${entries.map((l) => l.name).join(', ')}): name one` : `${dataset.dir} has no label set ${name} (it has ${entries.map((l) => l.name).join(', ')})`);
  }
  const path = join(dataset.dir, entry.file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read the label file ${path}: ${(err as Error).message}`);
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== entry.sha256) throw new Error(`${path} has sha256 ${sha.slice(0, 12)}, but the manifest says ${entry.sha256.slice(0, 12)}: the file was changed after barflow label wrote it`);
  const table = tableFromIPC(bytes);
  if (table.numRows !== dataset.table.n) throw new Error(`${path} has ${table.numRows} rows, the dataset ${dataset.table.n}`);
  const cache = new Map<string, Float64Array>();
  const column = (c: string): Float64Array => {
    let v = cache.get(c);
    if (v !== undefined) return v;
    const child = table.getChild(c);
    if (child === null || c === 'symbol' || c.endsWith('_status')) throw new Error(`${path}: no numeric column ${c} (columns: ${entry.columns.join(', ')})`);
    v = new Float64Array(table.numRows);
    let at = 0;
    for (const d of child.data) {
      for (let i = 0; i < d.length; i++, at++) {
        const x = child.type instanceof Float64 ? (d.values as Float64Array)[d.offset + i]! : Number((d.values as BigInt64Array)[d.offset + i]!);
        const j = d.offset + i;
        v[at] = d.nullCount > 0 && (d.nullBitmap[j >> 3]! & (1 << (j & 7))) === 0 ? Number.NaN : x;
      }
    }
    cache.set(c, v);
    return v;
  };
  return {
    name: entry.name,
    n: table.numRows,
    entry,
    column,
    t1Of: (target: string) => {
      const t = entry.targets.find((x) => x.name === target);
      if (t === undefined) throw new Error(`label set ${entry.name} has no target ${target} (targets: ${entry.targets.map((x) => x.name).join(', ')})`);
      return column(t.t1);
    },
    targets: entry.targets.map((t) => t.name),
  };
}
