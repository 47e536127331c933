import { openDataset } from '../dataset.js';
import { type AlignedValues, alignByGroup, predictionColumns } from '../predictionsFile.js';
import { readFoldsFile } from '../splits/foldsFile.js';
import { backtestRows, backtestTimeBase, backtestWithSymbols } from './backtest.js';
import type { BacktestConfig } from './backtestConfig.js';
import type { BacktestResult, BacktestSeries } from './backtestTypes.js';
import { summarize } from './metrics.js';

export interface BacktestOptions {
  dataset: string;
  /** CSV or Arrow: ts, symbol, the signal column, and `fold` when predictions come from folds. */
  predictions: string;
  config: BacktestConfig;
  /** folds.json of `barflow splits`: per-fold metrics, or per-path for CPCV. */
  folds?: string;
  command?: string[];
}

/**
 * The backtest of out-of-sample predictions: all of them as one series, and per fold (test block)
 * or per CPCV path when a folds file (or a `fold` column) says how they were made. A test row
 * without a prediction is held flat and counted in `provenance.missingPredictions`.
 */
export function runBacktest(o: BacktestOptions): BacktestResult {
  const { config } = o;
  const dataset = openDataset(o.dataset, { columns: [config.close] });
  const table = dataset.table;
  const close = table.column(config.close);
  const hasFold = predictionColumns(o.predictions).includes('fold');
  const aligned = alignByGroup(table, o.predictions, [config.signal], hasFold ? 'fold' : undefined);
  if (aligned.size === 0) throw new Error(`${o.predictions}: no predictions`);
  const valueOf = (g: number): Float64Array => {
    const a: AlignedValues | undefined = aligned.get(g);
    if (a === undefined) throw new Error(`${o.predictions}: no predictions for fold ${g} (folds present: ${[...aligned.keys()].join(', ')})`);
    return a.columns.get(config.signal)!;
  };
  // Distinct tested rows without a prediction (a CPCV row is on every path).
  const missing = new Uint8Array(table.n);
  const provenance: Record<string, string> = { dataset: o.dataset, fingerprint: dataset.manifest.fingerprint, predictions: o.predictions };
  if (o.command !== undefined) provenance.command = o.command.join(' ');

  // Each series: the rows it trades and where each row's signal comes from.
  const plans: { name: string; rows: Int32Array; signal: Float64Array[]; source: Int32Array }[] = [];
  let kind: 'fold' | 'path' | null = null;
  let overallIndex = -1;
  if (o.folds !== undefined) {
    const { doc, folds } = readFoldsFile(o.folds);
    provenance.folds = o.folds;
    if (doc.dataset.fingerprint !== dataset.manifest.fingerprint || doc.dataset.rows !== table.n) {
      throw new Error(`${o.folds} was made for dataset ${doc.dataset.fingerprint.slice(0, 12)} (${doc.dataset.rows} rows), not ${o.dataset} (${dataset.manifest.fingerprint.slice(0, 12)}, ${table.n} rows)`);
    }
    if (doc.method === 'cpcv') {
      if (!hasFold) throw new Error(`${o.predictions}: CPCV predictions need a fold column (the split that made each prediction)`);
      kind = 'path';
      const groups = doc.groups!.map((g) => ({ from: Date.parse(g.from), to: Date.parse(g.to) }));
      for (const path of doc.paths!) {
        const source = new Int32Array(table.n).fill(-1);
        path.splits.forEach((s, g) => {
          for (const r of folds[s]!.test) if (table.ts[r]! >= groups[g]!.from && table.ts[r]! <= groups[g]!.to) source[r] = s;
        });
        plans.push(plansFor(`path ${path.path}`, source));
      }
      overallIndex = 0;
    } else {
      kind = 'fold';
      for (const f of folds) {
        const source = new Int32Array(table.n).fill(-1);
        for (const r of f.test) source[r] = hasFold ? f.index : 0;
        plans.push(plansFor(`fold ${f.index}`, source));
      }
    }
  } else if (hasFold && aligned.size > 1) {
    kind = 'fold';
    // Without the folds file nothing says which of several predictions of a row is out of sample.
    const seen = new Uint8Array(table.n);
    for (const [g, a] of aligned) {
      a.present.forEach((p, r) => {
        if (p && seen[r]) throw new Error(`${o.predictions}: ${table.symbols[table.symbolCodes[r]!]} ${new Date(table.ts[r]!).toISOString()} is predicted by more than one fold (again by fold ${g}); give --folds so each row's out-of-sample prediction is the one traded`);
        if (p) seen[r] = 1;
      });
    }
    for (const g of aligned.keys()) {
      const source = new Int32Array(table.n).fill(-1);
      aligned.get(g)!.present.forEach((p, r) => {
        if (p) source[r] = g;
      });
      plans.push(plansFor(`fold ${g}`, source));
    }
  }

  function plansFor(name: string, source: Int32Array) {
    const rows: number[] = [];
    for (let r = 0; r < source.length; r++) {
      if (source[r]! < 0) continue;
      rows.push(r);
      if (Number.isNaN(valueOf(source[r]!)[r]!)) missing[r] = 1;
    }
    return { name, rows: Int32Array.from(rows), signal: [] as Float64Array[], source };
  }

  // The overall series: the first path for CPCV, else every predicted row with its one prediction.
  let overallPlan;
  if (overallIndex >= 0) overallPlan = plans[overallIndex]!;
  else {
    const source = new Int32Array(table.n).fill(-1);
    if (plans.length > 0) {
      for (const p of plans) for (const r of p.rows) if (source[r]! < 0) source[r] = p.source[r]!;
    } else {
      for (const [g, a] of aligned) {
        a.present.forEach((p, r) => {
          if (p && source[r]! < 0) source[r] = g;
        });
      }
    }
    const rows: number[] = [];
    source.forEach((s, r) => {
      if (s >= 0) rows.push(r);
    });
    overallPlan = { name: 'out of sample', rows: Int32Array.from(rows), signal: [], source };
  }
  // One time base for every series: folds and paths are annualised like the overall series.
  const base = backtestTimeBase(table, overallPlan.rows, config.periodsPerYear);
  const signalOf = (p: { source: Int32Array }) => (r: number) => (p.source[r]! < 0 ? Number.NaN : valueOf(p.source[r]!)[r]!);
  const series = plans.map((p): BacktestSeries => backtestRows(p.name, table, close, p.rows, signalOf(p), config, base.periodsPerYear, base.barMs));
  const traded = backtestWithSymbols(overallPlan.name, table, close, overallPlan.rows, signalOf(overallPlan), config, base);
  const overall = overallIndex >= 0 ? { ...series[overallIndex]!, name: 'path 0 (all out-of-sample rows)' } : traded.overall;
  provenance.missingPredictions = String(missing.reduce((a, b) => a + b, 0));
  return {
    overall,
    groups: kind === null ? null : { kind, series, summary: summarize(series.map((s) => s.metrics)) },
    bySymbol: traded.bySymbol,
    periodsPerYear: base.periodsPerYear,
    barMs: base.barMs,
    symbols: symbolsOf(table.symbols, table.symbolCodes, overallPlan.rows),
    config: { ...config, long: config.long ?? config.center + 0.05, short: config.short ?? config.center - 0.05 },
    provenance,
  };
}

function symbolsOf(symbols: string[], codes: Int32Array, rows: Int32Array): string[] {
  const used = new Uint8Array(symbols.length);
  for (const r of rows) used[codes[r]!] = 1;
  return symbols.filter((_, k) => used[k] === 1);
}
