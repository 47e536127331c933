import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Bar } from '../../src/bars/bar.js';
import { decodeBar } from '../../src/streams/kafka/barMessage.js';
import { readBars } from '../../src/streams/questdb/barExport.js';
import { QuestDb } from '../../src/streams/questdb/questDb.js';
import { CORRUPT_FIXTURES, corruptFixture } from '../helpers/files.js';
import { barflow, consumeAll, endpoints, unique } from '../helpers/services.js';
import { tempDir } from '../helpers/tempDir.js';

const out = tempDir('rejects');
const db = new QuestDb(endpoints().questdb);
const tables: string[] = [];
afterAll(async () => {
  for (const t of tables) await db.execute(`DROP TABLE IF EXISTS ${t}`);
  await db.close();
});

async function exported(table: string, symbol: string): Promise<Bar[]> {
  const bars: Bar[] = [];
  for await (const page of readBars(db, { symbol, table })) bars.push(...page);
  return bars;
}

describe('corrupted copies of the real files', () => {
  it.each(CORRUPT_FIXTURES)('%s: ingest rejects each bad row with its reason and lands every valid row', async (name) => {
    const { file, expected, validBars } = corruptFixture(name);
    const table = unique('bars_rejects');
    tables.push(table);
    const symbol = expected.read.symbol ?? 'BTCUSDT';
    const rejectsFile = join(out, `${name}.jsonl`);
    const read = [...(expected.read.symbol ? ['-s', expected.read.symbol] : []), ...(expected.read.tz ? ['--tz', expected.read.tz] : [])];
    const res = await barflow(['ingest', '-i', file, '--table', table, '--rejects', rejectsFile, '--json', ...read]);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).rejects.byReason).toEqual(expected.counts);

    const raw = readFileSync(file, 'utf8').split('\n');
    const written = readFileSync(rejectsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(written.map((r) => ({ line: r.line, reason: r.reason }))).toEqual(expected.rejects);
    for (const r of written) {
      expect(r.source).toBe(file);
      expect(r.raw).toBe(raw[r.line - 1]);
    }
    expect(await exported(table, symbol)).toEqual(validBars(symbol));
  });

  it('produce sends the rejects to a dead-letter topic with reason, line and raw text', async () => {
    const { file, expected } = corruptFixture('ES_corrupt');
    const topic = unique('test.bars');
    const dlq = unique('test.dlq');
    const res = await barflow(['produce', '-i', file, '-s', 'ES', '-t', topic, '--rejects', `kafka:${dlq}`, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const dead = await consumeAll(dlq, expected.rejects.length);
    const decoded = dead.map((d) => ({ header: d.message.headers?.['barflow-reason']?.toString(), ...JSON.parse(d.message.value!.toString()) }));
    expect(decoded.map((d) => ({ line: d.line, reason: d.reason }))).toEqual(expected.rejects);
    for (const d of decoded) expect(d.header).toBe(d.reason);
    const bars = await consumeAll(topic, expected.validRows);
    expect(bars.every((b) => decodeBar(b.message.value).violation === null)).toBe(true);
  });

  it('--strict stops at the first bad row; the valid rows before it have landed', async () => {
    const { file, expected, validBars } = corruptFixture('BTCUSDT_binance_corrupt');
    const table = unique('bars_strict');
    tables.push(table);
    // Line 1 of this headerless file is bad; from line 2 on, the first bad row comes much later.
    const lines = readFileSync(file, 'utf8').split('\n');
    const trimmed = join(out, 'strict.csv');
    writeFileSync(trimmed, lines.slice(1).join('\n'));
    const first = { ...expected.rejects[1]!, line: expected.rejects[1]!.line - 1 };
    const res = await barflow(['ingest', '-i', trimmed, '-s', 'BTCUSDT', '--table', table, '--strict']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${trimmed}:${first.line}: rejected (${first.reason})`);
    await db.waitForWal(table);
    const landed = await exported(table, 'BTCUSDT');
    expect(landed.length).toBeGreaterThan(10);
    expect(landed).toEqual(validBars('BTCUSDT').slice(0, first.line - 1));
  });
});
