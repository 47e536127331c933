
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Bar } from '../../src/bars/bar.js';
import { ingestFile } from '../../src/streams/fileJobs.js';
import { readBars } from '../../src/streams/questdb/barExport.js';
import { QuestDb } from '../../src/streams/questdb/questDb.js';
import { REAL_FILES, readNormalizedCsv } from '../helpers/files.js';
import { barflow, endpoints, unique } from '../helpers/services.js';
import { tempDir } from '../helpers/tempDir.js';

const out = tempDir('qdb');
const db = new QuestDb(endpoints().questdb);
afterAll(() => db.close());

const withSymbol = (bars: Bar[], symbol: string) => bars.map((b) => ({ ...b, symbol }));

async function count(symbol: string): Promise<number> {
  const [row] = await db.query<{ n: string }>('SELECT count() n FROM bars_1m WHERE symbol = $1', [symbol]);
  return Number(row!.n);
}

describe('CSV → QuestDB → export', () => {
  it.each(REAL_FILES)('the CLI round-trips $file with exactly equal values', async ({ file, symbol }) => {
    const sym = unique(symbol);
    const ingest = await barflow(['ingest', '-i', file, '-s', sym, '--json', '--rejects', join(out, `${sym}.jsonl`)]);
    expect(ingest.code, ingest.stderr).toBe(0);
    const summary = JSON.parse(ingest.stdout);
    const input = readNormalizedCsv(file, sym);
    expect([summary.bars, summary.rejects.total]).toEqual([input.length, 0]);

    const exported = join(out, `${sym}.csv`);
    const exp = await barflow(['export', 'bars', '-s', sym, '-o', exported]);
    expect(exp.code, exp.stderr).toBe(0);
    const back = readNormalizedCsv(exported, sym);
    expect(back.length).toBe(input.length);
    // toEqual uses Object.is on numbers: every value must be the same float64.
    expect(back).toEqual(input);
  });

  it('re-ingesting the same file leaves the table unchanged (dedup on ts, symbol)', async () => {
    const { file, symbol } = REAL_FILES[1]!;
    const sym = unique(symbol);
    const opts = { symbol: sym, questdb: endpoints().questdb, rejects: join(out, 'again.jsonl') };
    const first = await ingestFile(file, opts);
    const n = await count(sym);
    expect(n).toBe(first.summary.bars);
    await ingestFile(file, opts);
    expect(await count(sym)).toBe(n);
  });

  it('exports a time range, paging through the table in time order', async () => {
    const { file, symbol } = REAL_FILES[0]!;
    const sym = unique(symbol);
    await ingestFile(file, { symbol: sym, questdb: endpoints().questdb, rejects: join(out, 'range.jsonl') });
    const input = withSymbol(readNormalizedCsv(file, symbol), sym);
    const from = input[100]!.ts;
    const to = input[2600]!.ts;
    const pages: Bar[][] = [];
    for await (const page of readBars(db, { symbol: sym, from, to, pageSize: 1000 })) pages.push(page);
    expect(pages.map((p) => p.length)).toEqual([1000, 1000, 500]);
    expect(pages.flat()).toEqual(input.slice(100, 2600));
  });
});
