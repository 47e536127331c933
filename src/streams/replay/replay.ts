import { createReadStream, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { formatTs } from '../../bars/bar.js';
import { REJECT_REASON_CODES, type RejectReason } from '../../bars/rejects.js';
import { anchorText } from '../../operators/anchor.js';
import { DEFAULT_FEATURE_SET_FILE, type FeatureSet, loadFeatureSet } from '../../operators/featureSet.js';
import { gitCommit, packageVersion } from '../../codeVersion.js';
import { PACKAGE_ROOT } from '../../paths.js';
import { type DatasetManifest, datasetFingerprint, writeManifest } from '../../training/datasetManifest.js';
import { FeatureArrowWriter } from '../arrow/featureArrowWriter.js';
import type { QuestDbEndpoint } from '../questdb/endpoint.js';
import { TextFile } from '../textFile.js';
import { concatArrowFiles } from './arrowBlocks.js';
import { writeArrowFile, writeParquetFile } from './datasetFiles.js';
import { type BackfillResult, backfillQuestDb } from './questDbBackfill.js';
import { type ReplaySource, planUnits } from './replayPlan.js';
import type { FileReadOptions, InputResult, SymbolOutput, UnitResult } from './replayTypes.js';
import { REPLAY_BATCH_ROWS } from './replayUnit.js';
import { runUnits } from './workerPool.js';

export type DatasetFormat = 'arrow' | 'parquet';

export interface ReplayOptions {
  source: ReplaySource;
  read?: FileReadOptions;
  /** Feature-set file [topology/features/default.yaml]. */
  featureSetFile?: string;
  /** Dataset folder (feature files, manifest.json, rejects.jsonl); none = QuestDB only. */
  out?: string;
  formats?: DatasetFormat[];
  /** QuestDB endpoint: needed to read bars from it or to write features to it. */
  questdb?: QuestDbEndpoint;
  /** Also write the rows to this QuestDB table (resumable: rows already stored are not re-sent). */
  toQuestDb?: string;
  /** Worker threads [the machine's cores]; the output is the same whatever the number. */
  workers?: number;
  /** The command line, recorded in the manifest. */
  command?: string[];
  onProgress?: (p: ReplayProgress) => void;
}

export interface ReplayProgress {
  phase: 'features' | 'arrow' | 'parquet' | 'questdb';
  bytes: number;
  totalBytes: number;
  rows: number;
  totalRows: number;
}

export interface ReplaySummary {
  fingerprint: string;
  rows: number;
  symbols: { symbol: string; rows: number; from: string; to: string }[];
  inputs: InputResult[];
  rejects: { total: number; byReason: Partial<Record<RejectReason, number>>; file: string | null };
  files: { arrow?: string; parquet?: string; manifest?: string };
  questdb: BackfillResult | null;
  workers: number;
  seconds: { features: number; files: number; questdb: number; total: number };
}

/** Symbols must not be split across units: one symbol's state lives in one pipeline. */
function symbolOutputs(results: UnitResult[], keys: string[]): SymbolOutput[] {
  const owner = new Map<string, number>();
  const outputs: SymbolOutput[] = [];
  for (const r of results) {
    for (const s of r.symbols) {
      const other = owner.get(s.symbol);
      if (other !== undefined) {
        throw new Error(
          `symbol ${s.symbol} comes from two groups of inputs (${keys[other]} and ${keys[r.unit]}), so its state would be split: ` +
            'give its files the same --symbol or file-name prefix, or put its rows in one file',
        );
      }
      owner.set(s.symbol, r.unit);
      outputs.push(s);
    }
  }
  return outputs.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
}

/** The units' reject files, concatenated in unit order (so in input order, whatever the workers). */
async function mergeRejects(results: UnitResult[], path: string): Promise<void> {
  const out = new TextFile(path);
  try {
    for (const r of results) {
      if (r.rejectsFile === null) continue;
      for await (const chunk of createReadStream(r.rejectsFile, { encoding: 'utf8' })) await out.write(chunk as string);
    }
  } finally {
    await out.close();
  }
}

/**
 * History through the same operators as live (`featureRows`), into a dataset folder and/or QuestDB.
 * Units run on worker threads and park each symbol's rows in a temporary Arrow file; the outputs
 * are then written from those files in symbol order, so they are byte-identical for any number of
 * workers. Rows are ordered by symbol, then ts.
 */
export async function replay(opts: ReplayOptions): Promise<ReplaySummary> {
  const started = performance.now();
  const formats = opts.formats ?? ['arrow', 'parquet'];
  if (opts.out === undefined && opts.toQuestDb === undefined) throw new Error('nothing to write: give a dataset folder (--out) and/or --to-questdb');
  if ((opts.toQuestDb !== undefined || opts.source.kind === 'questdb') && !opts.questdb) throw new Error('QuestDB is needed: give its endpoint (--questdb)');
  const featureSetFile = resolve(opts.featureSetFile ?? DEFAULT_FEATURE_SET_FILE);
  const featureSet = loadFeatureSet(featureSetFile);
  const units = await planUnits(opts.source);
  const workers = Math.max(1, Math.min(opts.workers ?? availableParallelism(), units.length));
  const tmpDir = resolve(opts.out ?? join('.barflow', 'replay'), `.replay-tmp-${process.pid}`);
  rmSync(tmpDir, { recursive: true, force: true });
  mkdirSync(tmpDir, { recursive: true });
  const totalBytes = units.reduce((n, u) => n + u.bytes, 0);
  const progress = { bytes: 0, rows: 0 };
  try {
    const results = await runUnits(units, { featureSetFile, read: opts.read ?? {}, questdb: opts.questdb, tmpDir }, workers, (p) => {
      progress.bytes += p.bytes;
      progress.rows += p.rows;
      opts.onProgress?.({ phase: 'features', bytes: progress.bytes, totalBytes, rows: progress.rows, totalRows: 0 });
    });
    const featuresDone = performance.now();
    const outputs = symbolOutputs(results, units.map((u) => u.key));
    const rows = outputs.reduce((n, s) => n + s.rows, 0);
    const inputs = results.flatMap((r) => r.inputs);
    const byReason: Partial<Record<RejectReason, number>> = {};
    for (const input of inputs) for (const [k, n] of Object.entries(input.rejects) as [RejectReason, number][]) byReason[k] = (byReason[k] ?? 0) + n;
    const sorted: Partial<Record<RejectReason, number>> = {};
    for (const code of REJECT_REASON_CODES) if (byReason[code]) sorted[code] = byReason[code];
    const rejectTotal = Object.values(sorted).reduce((a, b) => a + b, 0);

    const files: ReplaySummary['files'] = {};
    let rejectsFile: string | null = null;
    const phase = (name: ReplayProgress['phase']) => (n: number) => opts.onProgress?.({ phase: name, bytes: 0, totalBytes: 0, rows: n, totalRows: rows });
    if (opts.out !== undefined) {
      mkdirSync(opts.out, { recursive: true });
      const empty = () => FeatureArrowWriter.emptyBatch(featureSet);
      // Parquet first: it reads the temporary files, and the Arrow step may move the only one.
      for (const format of [...formats].sort((a, b) => (a === 'parquet' ? -1 : b === 'parquet' ? 1 : 0))) {
        const name = format === 'arrow' ? 'features.arrow' : 'features.parquet';
        const partial = join(tmpDir, name);
        const temps = outputs.map((o) => o.file);
        if (format === 'parquet') {
          let batches = 0;
          await writeParquetFile(partial, temps, empty, featureSet, () => phase(format)(Math.min(rows, ++batches * REPLAY_BATCH_ROWS)));
        } else if (outputs.length === 1) {
          // One symbol: its temporary file already is the dataset file, byte for byte (the
          // concatenation of one file's batches is that file; tested), so it is moved, not copied.
          renameSync(temps[0]!, partial);
        } else if (outputs.length > 1) {
          concatArrowFiles(temps, partial);
        } else {
          await writeArrowFile(partial, (async function* () {})(), empty);
        }
        phase(format)(rows);
        // Renamed into place when complete: an interrupted replay leaves no truncated dataset file.
        renameSync(partial, join(opts.out, name));
        files[format] = join(opts.out, name);
        if (format === 'arrow' && outputs.length === 1) outputs[0]!.file = files.arrow!;
      }
      if (rejectTotal > 0) {
        rejectsFile = join(opts.out, 'rejects.jsonl');
        await mergeRejects(results, rejectsFile);
      } else {
        rmSync(join(opts.out, 'rejects.jsonl'), { force: true });
      }
    }
    const filesDone = performance.now();
    const questdb =
      opts.toQuestDb !== undefined ? await backfillQuestDb(opts.questdb!, opts.toQuestDb, featureSet, outputs, phase('questdb')) : null;
    const version = packageVersion();
    const commit = gitCommit();
    const featureSetFileSha256 = sha256(readFileSync(featureSetFile));
    const fingerprint = datasetFingerprint({
      inputs,
      featureSetFileSha256,
      schemaHash: featureSet.schemaHash,
      version,
      gitCommit: commit,
    });
    const symbols = outputs.map((s) => ({ symbol: s.symbol, rows: s.rows, from: formatTs(s.first), to: formatTs(s.last) }));
    if (opts.out !== undefined) {
      writeManifest(join(opts.out, 'manifest.json'), manifestOf(featureSet, featureSetFile, featureSetFileSha256, { fingerprint, inputs, version, commit, files, rejectsFile, rows, symbols, sorted, rejectTotal, command: opts.command ?? [] }, opts.out));
      files.manifest = join(opts.out, 'manifest.json');
    }
    const done = performance.now();
    return {
      fingerprint,
      rows,
      symbols,
      inputs,
      rejects: { total: rejectTotal, byReason: sorted, file: rejectsFile },
      files,
      questdb,
      workers,
      seconds: { features: (featuresDone - started) / 1000, files: (filesDone - featuresDone) / 1000, questdb: (done - filesDone) / 1000, total: (done - started) / 1000 },
    };
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function manifestOf(
  featureSet: FeatureSet,
  featureSetFile: string,
  featureSetFileSha256: string,
  r: {
    fingerprint: string;
    inputs: InputResult[];
    version: string;
    commit: string | null;
    files: ReplaySummary['files'];
    rejectsFile: string | null;
    rows: number;
    symbols: ReplaySummary['symbols'];
    sorted: Partial<Record<RejectReason, number>>;
    rejectTotal: number;
    command: string[];
  },
  out: string,
): DatasetManifest {
  // Paths inside the folder are relative to it, so a dataset can be moved.
  const inFolder = (p: string | undefined | null) => (p ? relative(out, p) : undefined);
  return {
    format: 'barflow.dataset',
    formatVersion: 1,
    fingerprint: r.fingerprint,
    inputs: r.inputs.map((i) => ({ source: i.source, sha256: i.sha256, bytes: i.bytes, rows: i.rows, bars: i.bars })),
    featureSet: {
      name: featureSet.name,
      version: featureSet.version,
      file: featureSetFile.startsWith(PACKAGE_ROOT) ? relative(PACKAGE_ROOT, featureSetFile) : featureSetFile,
      fileSha256: featureSetFileSha256,
      schemaHash: featureSet.schemaHash,
      anchor: anchorText(featureSet.anchor),
      timeframes: featureSet.timeframes,
      columns: featureSet.columns.map((c) => c.name),
      roles: Object.fromEntries(featureSet.columns.map((c) => [c.name, c.role])),
    },
    code: { package: 'barflow', version: r.version, gitCommit: r.commit },
    files: { arrow: inFolder(r.files.arrow), parquet: inFolder(r.files.parquet), rejects: inFolder(r.rejectsFile) },
    rowOrder: 'symbol, ts',
    rowAvailableAt: 'ts + 1 minute',
    rows: r.rows,
    symbols: r.symbols,
    rejects: { total: r.rejectTotal, byReason: r.sorted as Record<string, number> },
    command: r.command,
  };
}
