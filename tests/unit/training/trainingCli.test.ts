import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readFoldsFile } from '../../../src/training/splits/index.js';
import { runBarflow } from '../../helpers/cli.js';
import { mulberry32 } from '../../helpers/random.js';
import { tempDir } from '../../helpers/tempDir.js';

const barflow = (args: string[]) => runBarflow(args);

/** Seeded predictions for every tested row of every fold: ts, symbol, p_up, fold. */
function predictions(foldsPath: string, symbols: { symbol: string; rows: number }[], out: string, skill = 0): void {
  const { doc, folds } = readFoldsFile(foldsPath);
  const sym: string[] = symbols.flatMap((s) => Array<string>(s.rows).fill(s.symbol));
  const rnd = mulberry32(11);
  const lines = ['ts,symbol,p_up,fold'];
  for (const f of folds) for (const r of f.test) lines.push(`${new Date(doc.spans.ts[r]!).toISOString()},${sym[r]},${(0.5 + (rnd() - 0.5) * 0.4 + skill).toFixed(6)},${f.index}`);
  writeFileSync(out, `${lines.join('\n')}\n`);
}

describe('barflow label → splits → backtest (the CLI, on the bundled samples)', { timeout: 60_000 }, () => {
  const work = tempDir('training-cli');
  const ds = join(work, 'ds');
  let symbols: { symbol: string; rows: number }[];

  beforeAll(async () => {
    const r = await barflow(['replay', '-i', 'data/samples/*.csv', '-o', ds, '--format', 'arrow', '--quiet', '-w', '1']);
    expect(r.code, r.stderr).toBe(0);
    const l = await barflow(['label', '-d', ds, '-c', 'tests/fixtures/labels/labels.yaml']);
    expect(l.code, l.stderr).toBe(0);
    expect(l.stdout).toMatch(/tb_status: upper \d+, lower \d+, time \d+, both_stop \d+, past_end \d+, no_atr \d+/);
    symbols = JSON.parse(readFileSync(join(ds, 'manifest.json'), 'utf8')).symbols;
  }, 120_000);

  it('CPCV folds → per-path backtest with a mean and interval, and the HTML report', async () => {
    const folds = join(work, 'cpcv.json');
    const s = await barflow(['splits', '-d', ds, '-m', 'cpcv', '--groups', '5', '--test-groups', '2', '--label', 'tb', '--embargo', '30m', '-o', folds]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/10 splits, 4 backtest paths/);
    const doc = JSON.parse(readFileSync(folds, 'utf8'));
    expect(doc.folds).toHaveLength(10);
    expect(doc.spans.ts).toHaveLength(symbols.reduce((n, x) => n + x.rows, 0));
    predictions(folds, symbols, join(work, 'cpcv.csv'));
    const report = join(work, 'cpcv.html');
    const b = await barflow(['backtest', '-p', join(work, 'cpcv.csv'), '-d', ds, '-f', folds, '-o', report, '--json']);
    expect(b.code, b.stderr).toBe(0);
    const out = JSON.parse(b.stdout);
    expect(out.groups.kind).toBe('path');
    expect(out.groups.series).toHaveLength(4);
    const sharpe = out.groups.summary.find((m: { metric: string }) => m.metric === 'sharpe');
    expect(sharpe.n).toBe(4);
    expect(sharpe.lo).toBeLessThan(sharpe.mean);
    expect(sharpe.hi).toBeGreaterThan(sharpe.mean);
    expect(out.provenance.missingPredictions).toBe('0');
    // Every path trades every labelled row once: as many periods as path 0.
    for (const p of out.groups.series) expect(p.metrics.periods).toBe(out.overall.periods);
    expect(existsSync(report)).toBe(true);
  });

  it('costs only ever lower the result: the same predictions with zero costs do better', async () => {
    const folds = join(work, 'kfold.json');
    expect((await barflow(['splits', '-d', ds, '-m', 'purged-kfold', '-k', '4', '--label', 'fwd_15', '-o', folds])).code).toBe(0);
    predictions(folds, symbols, join(work, 'kfold.csv'));
    writeFileSync(join(work, 'free.yaml'), 'costBps: 0\nslippageBps: 0\n');
    const paid = JSON.parse((await barflow(['backtest', '-p', join(work, 'kfold.csv'), '-d', ds, '-f', folds, '-o', join(work, 'k.html'), '--json'])).stdout);
    const free = JSON.parse((await barflow(['backtest', '-p', join(work, 'kfold.csv'), '-d', ds, '-f', folds, '-c', join(work, 'free.yaml'), '-o', join(work, 'k2.html'), '--json'])).stdout);
    expect(paid.groups.kind).toBe('fold');
    expect(free.overall.totalReturn).toBeGreaterThan(paid.overall.totalReturn);
    expect(free.overall.costs).toBe(0);
    expect(paid.overall.costs).toBeGreaterThan(0);
  });

  it('without folds: a plain predictions file (ts, symbol, p_up) is traded as one out-of-sample series', async () => {
    // The k-fold predictions without their fold column: each row has one prediction.
    const lines = readFileSync(join(work, 'kfold.csv'), 'utf8').trim().split('\n');
    writeFileSync(join(work, 'plain.csv'), `${lines.map((l) => l.split(',').slice(0, 3).join(',')).join('\n')}\n`);
    const plain = JSON.parse((await barflow(['backtest', '-p', join(work, 'plain.csv'), '-d', ds, '-o', join(work, 'p.html'), '--json'])).stdout);
    const folded = JSON.parse((await barflow(['backtest', '-p', join(work, 'kfold.csv'), '-d', ds, '-f', join(work, 'kfold.json'), '-o', join(work, 'p2.html'), '--json'])).stdout);
    expect(plain.groups).toBeNull();
    expect(plain.overall.periods).toBeGreaterThan(10_000);
    expect(plain.overall.trades).toBeGreaterThan(0);
    // The same rows and predictions as the folds' union: the same series.
    expect(plain.overall).toEqual(folded.overall);
    // Annualised over the time some symbol had rows (the bundled BTCUSDT and ES samples may be
    // months apart): a 1-minute rate between a futures week's and a 24/7 market's, not periods
    // over the calendar months between them; the longest drawdown in trading time.
    expect(plain.periodsPerYear).toBeGreaterThan(300_000);
    expect(plain.periodsPerYear).toBeLessThanOrEqual(525_960 + 1e-6);
    expect(plain.barMs).toBe(60_000);
    expect(plain.overall.maxDrawdownMs).toBe(plain.overall.maxDrawdownPeriods * 60_000);
    expect(plain.bySymbol.map((s: { name: string }) => s.name)).toEqual(symbols.map((s) => s.symbol));
  });

  it('refuses with a clear error: a prediction for a row the dataset lacks, folds of another dataset, a bad method argument', async () => {
    writeFileSync(join(work, 'bad.csv'), 'ts,symbol,p_up\n2023-03-10T00:00:00Z,BTCUSDT,0.6\n2030-01-01T00:00:00Z,BTCUSDT,0.6\n');
    const b = await barflow(['backtest', '-p', join(work, 'bad.csv'), '-d', ds, '-o', join(work, 'x.html')]);
    expect(b.code).toBe(1);
    expect(b.stderr).toContain(`${join(work, 'bad.csv')}:3: BTCUSDT 2030-01-01T00:00:00Z is not a row of the dataset`);
    const other = JSON.parse(readFileSync(join(work, 'kfold.json'), 'utf8'));
    other.dataset.fingerprint = '0'.repeat(64);
    writeFileSync(join(work, 'other.json'), JSON.stringify(other));
    const c = await barflow(['backtest', '-p', join(work, 'kfold.csv'), '-d', ds, '-f', join(work, 'other.json'), '-o', join(work, 'x.html')]);
    expect(c.stderr).toMatch(/was made for dataset 000000000000/);
    const d = await barflow(['splits', '-d', ds, '-m', 'cpcv', '--groups', '3', '--test-groups', '3', '-o', join(work, 'y.json')]);
    expect(d.stderr).toMatch(/test groups must be an integer in 1…2/);
  });
});
