import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { FeatureEngine } from '../../../src/operators/featureEngine.js';
import { loadFeatureSet } from '../../../src/operators/featureSet.js';
import { OPERATOR_FIXTURES, goldenInput, readGolden } from '../../helpers/operatorFixtures.js';
import { type CliResult, runBarflow } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/tempDir.js';

const out = tempDir('ops');
async function barflow(args: string[]): Promise<CliResult> {
  const r = await runBarflow(args);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

describe('barflow resample', () => {
  it.each([
    ['ES', '45m', 'session:America/New_York@18:00', 'ES__session-America-New_York-18-00__45m.csv'],
    ['BTCUSDT', '25m', 'utc-day', 'BTCUSDT__utc-day__25m.csv'],
    ['ES', '1h', 'utc-day', 'ES__utc-day__1h.csv'],
  ])('%s %s %s writes exactly the golden complete bars (no --symbol needed)', async (symbol, tf, anchor, golden) => {
    const file = join(out, `${symbol}-${tf}.csv`);
    await barflow(['resample', '-i', resolve(OPERATOR_FIXTURES, `${symbol}.input.csv`), '--tf', tf, '--anchor', anchor, '-o', file, '--rejects', join(out, 'r.jsonl')]);
    const [header, ...lines] = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(header).toBe('ts,open,high,low,close,volume,bars');
    const got = lines.map((l) => {
      const [ts, o, h, lo, c, v, n] = l.split(',');
      return { ts: Date.parse(ts!), open: Number(o), high: Number(h), low: Number(lo), close: Number(c), volume: Number(v), bars: Number(n) };
    });
    expect(got).toEqual(readGolden(golden).map(({ ts, open, high, low, close, volume, bars }) => ({ ts, open, high, low, close, volume, bars })));
  });
});

describe('barflow features', () => {
  const fs = loadFeatureSet();
  const input = resolve(OPERATOR_FIXTURES, 'BTCUSDT.input.csv');
  const engine = new FeatureEngine(fs);
  const expected = goldenInput('BTCUSDT').map((b) => {
    engine.update(b);
    return engine.row.slice();
  });

  it('CSV: ts,symbol,<columns>, one row per bar, empty = missing, numbers that read back bit for bit', async () => {
    const file = join(out, 'features.csv');
    await barflow(['features', '-i', input, '-s', 'BTCUSDT', '-o', file, '--rejects', join(out, 'r.jsonl')]);
    const [header, ...lines] = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(header).toBe(`ts,symbol,${fs.columns.map((c) => c.name).join(',')}`);
    expect(lines.length).toBe(expected.length);
    const differing = lines.filter((line, i) => {
      const f = line.split(',');
      const values = Float64Array.from(f.slice(2), (x) => (x === '' ? Number.NaN : Number(x)));
      // String(x) prints -0 as 0, so compare -0 as 0.
      const want = expected[i]!.map((v) => (Object.is(v, -0) ? 0 : v));
      return f[1] !== 'BTCUSDT' || Buffer.compare(Buffer.from(values.buffer), Buffer.from(want.buffer)) !== 0;
    });
    expect(differing.slice(0, 3)).toEqual([]);
  });

  it('Arrow: the same values, null for missing, the schema hash in the metadata', async () => {
    const file = join(out, 'features.arrow');
    await barflow(['features', '-i', input, '-s', 'BTCUSDT', '-o', file, '--rejects', join(out, 'r.jsonl')]);
    const table = tableFromIPC(readFileSync(file));
    expect(table.numRows).toBe(expected.length);
    expect(table.schema.metadata.get('barflow.schema_hash')).toBe(fs.schemaHash);
    const ts = table.getChild('ts')!;
    const rsi = table.getChild('rsi14_1h')!;
    const c = fs.columns.findIndex((col) => col.name === 'rsi14_1h');
    for (let i = 0; i < expected.length; i += 97) {
      expect(Number(ts.get(i))).toBe(goldenInput('BTCUSDT')[i]!.ts);
      const want = expected[i]![c]!;
      expect(rsi.get(i)).toBe(Number.isNaN(want) ? null : want);
    }
  });
});
