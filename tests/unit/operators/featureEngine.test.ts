import { describe, expect, it } from 'vitest';
import { FeatureEngine } from '../../../src/operators/featureEngine.js';
import { loadFeatureSet } from '../../../src/operators/featureSet.js';
import { type GoldenBar, goldenInput, readGolden } from '../../helpers/operatorFixtures.js';
import { isClose } from '../../helpers/numbers.js';

/** Compared bit for bit: TA-Lib's indicators, and %B (one formula on TA-Lib's bands). */
const TALIB = new Set(['rsi14', 'atr14', 'natr14', 'macdhist', 'adx14', 'bbwidth20', 'bbpctb20', 'stochk']);
const close = (a: number, b: number) => isClose(a, b, 1e-9, 1e-12);

/** The golden bar a row must show for a timeframe: the latest one complete by the row's close. */
function latestComplete(bars: GoldenBar[], rowTs: number): GoldenBar | undefined {
  let lo = 0;
  let hi = bars.length; // first bar whose end is after rowTs + 1 minute
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (bars[mid]!.end <= rowTs + 60_000) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? bars[lo - 1] : undefined;
}

describe('FeatureEngine rows for the default feature set against the golden per-timeframe series', () => {
  const fs = loadFeatureSet();
  it.each(['BTCUSDT', 'ES'])('%s: every column of every row', { timeout: 60_000 }, (symbol) => {
    const golden = new Map(fs.timeframes.map((tf) => [tf, readGolden(tf === '1m' ? `${symbol}__1m.csv` : `${symbol}__utc-day__${tf}.csv`)]));
    const engine = new FeatureEngine(fs);
    const featureOf = fs.columns.map((col) => col.name.slice(0, -col.tf.length - 1));
    const mismatches: string[] = [];
    let checked = 0;
    for (const bar of goldenInput(symbol)) {
      engine.update(bar);
      fs.columns.forEach((col, c) => {
        const series = golden.get(col.tf)!;
        if (col.tf === '1m' && series[series.length - 1]!.ts < bar.ts) return; // the 1m fixture holds the first 2,000 rows
        const want = latestComplete(series, bar.ts);
        const got = engine.row[c]!;
        const source = col.source;
        const expected = want === undefined ? Number.NaN : source.type === 'bar' ? want[source.field as 'open'] : want.features[featureOf[c]!]!;
        const exact = source.type === 'bar' || TALIB.has(featureOf[c]!);
        const ok = Number.isNaN(expected) || Number.isNaN(got) ? Number.isNaN(got) === Number.isNaN(expected) : exact ? Object.is(got, expected) : close(got, expected);
        if (!ok && mismatches.length < 10) mismatches.push(`${col.name} at ${new Date(bar.ts).toISOString()}: got ${got}, want ${expected}`);
        checked++;
      });
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBeGreaterThan(400_000);
  });

  it('has 207 columns in a fixed order, named <feature>_<tf>, and a stable schema hash', () => {
    expect(fs.columns.length).toBe(9 * 23);
    expect(fs.columns.slice(0, 7).map((c) => c.name)).toEqual(['open_1m', 'high_1m', 'low_1m', 'close_1m', 'volume_1m', 'ret1_1m', 'rsi14_1m']);
    expect(fs.columns.at(-1)!.name).toBe('retkurt20_1h');
    expect(loadFeatureSet().schemaHash).toBe(fs.schemaHash);
    expect(fs.schemaHash).toMatch(/^[0-9a-f]{64}$/);
  });
});
