import { existsSync, readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { parse as parseCsv } from 'csv-parse/sync';
import type { BestColumnDsr } from '../../training/overfitting/deflatedSharpe.js';
import type { PboResult, ReturnsMatrix } from '../../training/overfitting/pbo.js';

const INDEX_COLUMNS = new Set(['ts', 'date', 'time']);
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Reads a returns matrix CSV: a header of strategy names, optionally a first column named ts, date or
 * time (an index, ignored), then one row per period of plain decimal numbers. Strict on purpose: an
 * empty cell, NaN, Infinity or a ragged row is an error naming the file, line and column, never a
 * silently skipped period (which would shift the CSCV blocks).
 */
export function readReturnsCsv(file: string): ReturnsMatrix & { names: string[]; index: string | null } {
  if (!existsSync(file)) throw new Error(`input file not found: ${file}`);
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(readFileSync(file), { bom: true, trim: true, relax_column_count: true, skip_empty_lines: true, info: true }) as unknown as typeof records;
  } catch (err) {
    throw new Error(`${file}: not a readable CSV file: ${(err as Error).message}`);
  }
  const at = (n: number) => `${file}:${records[n]!.info.lines}`;
  const cells = (n: number) => records[n]!.record;
  if (records.length === 0) throw new Error(`${file}: empty file; expected a header of strategy names`);
  const header = cells(0);
  const index = INDEX_COLUMNS.has(header[0]!.toLowerCase()) ? header[0]! : null;
  const skip = index === null ? 0 : 1;
  const names = header.slice(skip);
  if (names.length === 0) throw new Error(`${at(0)}: no strategy columns in the header`);
  const seen = new Map<string, number>();
  names.forEach((name, c) => {
    const column = c + skip + 1;
    if (name === '') throw new Error(`${at(0)}, column ${column}: empty strategy name`);
    if (NUMBER.test(name)) throw new Error(`${at(0)}, column ${column}: header cell ${JSON.stringify(name)} is a number; the first line must name the strategies`);
    const before = seen.get(name);
    if (before !== undefined) throw new Error(`${at(0)}, column ${column}: strategy name ${JSON.stringify(name)} repeats column ${before}`);
    seen.set(name, column);
  });
  const lines = records;
  const rows = lines.length - 1;
  if (rows === 0) throw new Error(`${file}: a header but no rows of returns`);
  const values = new Float64Array(rows * names.length);
  for (let n = 1; n < lines.length; n++) {
    const row = cells(n);
    if (row.length !== header.length) throw new Error(`${at(n)}: ${row.length} fields, the header has ${header.length}`);
    for (let c = 0; c < names.length; c++) {
      const cell = row[c + skip]!;
      if (!NUMBER.test(cell)) {
        throw new Error(`${at(n)}, column ${c + skip + 1} (${names[c]}): ${cell === '' ? 'empty cell' : `${JSON.stringify(cell)} is not a finite decimal number`}`);
      }
      const v = Number(cell);
      if (!Number.isFinite(v)) throw new Error(`${at(n)}, column ${c + skip + 1} (${names[c]}): ${cell} overflows a double`);
      values[(n - 1) * names.length + c] = v;
    }
  }
  return { values, rows, columns: names.length, names, index };
}

function partitionsArg(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 2 || n % 2 !== 0) throw new InvalidArgumentError('an even whole number ≥ 2');
  return n;
}

function finiteArg(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('a finite number');
  return n;
}

interface PboFlags {
  input: string;
  partitions: number;
  threshold: number;
  riskFree: number;
  metric: 'sharpe' | 'mean';
  rankDenominator: 'n' | 'n+1';
  dropRemainder: boolean;
  json: boolean;
}

function reportJson(file: string, m: ReturnsMatrix & { names: string[] }, flags: PboFlags, r: PboResult, best: BestColumnDsr): string {
  return JSON.stringify(
    {
      file,
      periods: m.rows,
      strategies: m.columns,
      names: m.names,
      metric: flags.metric,
      riskFree: flags.riskFree,
      rankDenominator: flags.rankDenominator,
      partitions: r.partitions,
      rowsPerPartition: r.rowsPerPartition,
      droppedRows: r.droppedRows,
      combinations: r.combinations,
      pbo: r.pbo,
      threshold: r.threshold,
      probabilityOfLoss: r.probabilityOfLoss,
      degradation: r.degradation,
      bestStrategy: {
        name: best.name,
        column: best.column,
        sharpe: best.moments.sharpe,
        skewness: best.moments.skewness,
        kurtosis: best.moments.kurtosis,
        periods: best.moments.periods,
        trials: best.trials,
        trialSharpeVariance: best.trialSharpeVariance,
        expectedMaxSharpe: best.benchmark,
        psr: best.psr,
        dsr: best.dsr,
      },
    },
    null,
    2,
  );
}

function reportText(file: string, m: ReturnsMatrix, flags: PboFlags, r: PboResult, best: BestColumnDsr): string {
  const f = (x: number, digits = 4) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
  const metric = flags.metric === 'sharpe' ? 'Sharpe ratio' : 'mean return';
  const d = r.degradation;
  const dropped = r.droppedRows > 0 ? `, first ${r.droppedRows} dropped` : '';
  return [
    `pbo ${file}: ${m.rows} periods × ${m.columns} strategies, S = ${r.partitions} blocks of ${r.rowsPerPartition} periods${dropped}, ${r.combinations} combinations`,
    `  PBO                   ${f(r.pbo)}   share of combinations whose in-sample best ranks in the OOS bottom half (logit ≤ 0)`,
    `  probability of loss   ${f(r.probabilityOfLoss)}   OOS ${metric} of the in-sample best below ${r.threshold}`,
    `  degradation           OOS = ${f(d.intercept, 6)} ${d.slope < 0 ? '−' : '+'} ${f(Math.abs(d.slope))} × IS   (R² ${f(d.r2, 3)}, ${metric} per period)`,
    `  best in sample        ${best.name} (column ${best.column + 1}): Sharpe ${f(best.moments.sharpe, 5)} per period over all ${best.moments.periods} periods, skewness ${f(best.moments.skewness, 3)}, kurtosis ${f(best.moments.kurtosis, 3)}`,
    `  deflated Sharpe       DSR ${f(best.dsr)} against SR0 ${f(best.benchmark, 5)} (${best.trials} trials, V[SR] ${best.trialSharpeVariance.toExponential(3)}); PSR(0) ${f(best.psr)}`,
  ].join('\n');
}

export function registerPbo(program: Command): void {
  program
    .command('pbo')
    .description('probability of backtest overfitting (CSCV) and the deflated Sharpe ratio of a matrix of per-period strategy returns')
    .requiredOption('-i, --input <file>', 'CSV: a header of strategy names (optionally a first ts/date/time column, ignored), one row of returns per period')
    .option('-S, --partitions <n>', 'number of contiguous blocks S (even); C(S, S/2) combinations are evaluated', partitionsArg, 16)
    .option('--threshold <x>', 'probability of loss counts OOS performance below this', finiteArg, 0)
    .option('--risk-free <r>', 'per-period risk-free return subtracted before the Sharpe ratio (and the DSR)', finiteArg, 0)
    .addOption(new Option('--metric <metric>', 'performance of a strategy on half the sample: sharpe = mean/sd, mean = mean return').choices(['sharpe', 'mean']).default('sharpe'))
    .addOption(
      new Option('--rank-denominator <d>', 'relative OOS rank = rank/N (the R package pbo) or rank/(N+1) (the paper, pypbo)').choices(['n', 'n+1']).default('n'),
    )
    .option('--drop-remainder', 'when the periods are not a multiple of S, drop the oldest T mod S periods instead of failing', false)
    .option('--json', 'print the result as JSON', false)
    .addHelpText(
      'after',
      [
        '',
        'Sharpe ratios are per period (not annualised). The DSR is that of the strategy with the best',
        'Sharpe ratio over all periods, its N trials being the N columns (docs/validation.md).',
        'Example:',
        '  barflow pbo --input tests/fixtures/overfitting/pbo_sixteen.csv --partitions 16',
      ].join('\n'),
    )
    .action(async (flags: PboFlags) => {
      // Loaded here, not at start-up: the statistics library is large and only this command needs it.
      const { pbo } = await import('../../training/overfitting/pbo.js');
      const { deflatedSharpeOfBest } = await import('../../training/overfitting/deflatedSharpe.js');
      const m = readReturnsCsv(flags.input);
      const result = pbo(m, {
        partitions: flags.partitions,
        threshold: flags.threshold,
        riskFree: flags.riskFree,
        metric: flags.metric,
        rankDenominator: flags.rankDenominator,
        remainder: flags.dropRemainder ? 'drop-first' : 'refuse',
      });
      const best = deflatedSharpeOfBest(m, { riskFree: flags.riskFree });
      console.log(flags.json ? reportJson(flags.input, m, flags, result, best) : reportText(flags.input, m, flags, result, best));
    });
}
