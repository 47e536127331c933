
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeBar } from '../../src/streams/kafka/barMessage.js';
import { produceFile } from '../../src/streams/fileJobs.js';
import { REAL_FILES, readNormalizedCsv, SAMPLES } from '../helpers/files.js';
import { barflow, consumeAll, createTopic, endpoints, unique } from '../helpers/services.js';
import { tempDir } from '../helpers/tempDir.js';

const out = tempDir('kafka');

describe('CSV → Kafka → consumer', () => {
  it('every bar of both real files arrives once, in order per symbol, keyed by symbol on one partition', async () => {
    const topic = unique('test.bars');
    await createTopic(topic, 3);
    const expected = new Map<string, ReturnType<typeof readNormalizedCsv>>();
    for (const { file, symbol } of REAL_FILES) {
      const res = await barflow(['produce', '-i', file, '-s', symbol, '-t', topic, '--json', '--rejects', join(out, `${symbol}.jsonl`)]);
      expect(res.code, res.stderr).toBe(0);
      expected.set(symbol, readNormalizedCsv(file, symbol));
    }
    const total = [...expected.values()].reduce((n, b) => n + b.length, 0);
    const consumed = await consumeAll(topic, total);
    expect(consumed.length).toBe(total);

    for (const [symbol, bars] of expected) {
      const mine = consumed.filter((c) => c.message.key?.toString() === symbol);
      expect(new Set(mine.map((c) => c.partition)).size).toBe(1);
      // Within a partition kafkajs delivers in offset order, which is the produce order.
      const decoded = mine.map((c) => {
        expect(c.message.headers?.['barflow-schema']?.toString()).toBe('bar/v1');
        const d = decodeBar(c.message.value);
        expect(d.violation).toBeNull();
        return d.bar!;
      });
      expect(decoded).toEqual(bars);
    }
  });

  it('--rate paces the replay', async () => {
    const topic = unique('test.paced');
    await createTopic(topic, 1);
    const started = performance.now();
    const res = await produceFile(join(SAMPLES, 'ES_firstratedata_1m_20230924_20230929.csv'), {
      symbol: 'ES',
      brokers: endpoints().brokers,
      topic,
      rate: 2000,
      rejects: join(out, 'paced.jsonl'),
    });
    const seconds = (performance.now() - started) / 1000;
    // 6,898 bars at 2,000 bars/s cannot be sent in less than ~3.4 s.
    expect(seconds).toBeGreaterThan((res.summary.bars - 100) / 2000);
    expect((await consumeAll(topic, res.summary.bars)).length).toBe(res.summary.bars);
  });
});
