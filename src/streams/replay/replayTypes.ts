import type { RejectReason } from '../../bars/rejects.js';
import type { Layout } from '../csv/layout.js';
import type { QuestDbEndpoint } from '../questdb/endpoint.js';

// Plain data only: units, options and results cross worker-thread boundaries by structured clone.

/** How to read bar files (CSV options; Arrow and Parquet files ignore the CSV-only ones). */
export interface FileReadOptions {
  layout?: Layout;
  tz?: string;
  tsUnit?: 'auto' | 'ms' | 'us' | 'ns' | 's';
  strict?: boolean;
}

/** One input of a unit: a bar file, or one symbol's bars in a QuestDB table. */
export type UnitInput =
  | { kind: 'file'; path: string; format: 'csv' | 'columnar'; symbol?: string; defaultSymbol?: string }
  | { kind: 'questdb'; table: string; symbol: string; from?: number; to?: number };

/**
 * The smallest piece of work: inputs read in order through ONE feature pipeline, so a symbol's
 * state carries across its files. Units never share a symbol (checked when they finish).
 */
export interface ReplayUnit {
  id: number;
  /** The symbol the unit is about (`--symbol`, the file name, or the QuestDB symbol); for messages. */
  key: string;
  inputs: UnitInput[];
  /** Input bytes, to balance workers and size the progress bar (0 when unknown). */
  bytes: number;
}

export interface UnitConfig {
  /** Feature-set file, loaded again in each worker. */
  featureSetFile: string;
  read: FileReadOptions;
  questdb?: QuestDbEndpoint;
  /** Folder for the unit's per-symbol temporary Arrow files and its rejects. */
  tmpDir: string;
}

/** What one input contributed: its fingerprint part and its read statistics. */
export interface InputResult {
  source: string;
  /** sha256 of the file's bytes, or of the bars read from QuestDB (ts + five float64, little-endian). */
  sha256: string;
  bytes: number;
  rows: number;
  bars: number;
  rejects: Partial<Record<RejectReason, number>>;
}

/** The rows a unit produced for one symbol, waiting in a temporary Arrow file. */
export interface SymbolOutput {
  symbol: string;
  rows: number;
  first: number;
  last: number;
  file: string;
}

export interface UnitResult {
  unit: number;
  inputs: InputResult[];
  symbols: SymbolOutput[];
  /** JSON Lines file of the unit's rejects, or null when there were none. */
  rejectsFile: string | null;
  rejects: number;
}

/** Progress a unit reports while it runs (increments). */
export interface UnitProgress {
  bytes: number;
  rows: number;
}
