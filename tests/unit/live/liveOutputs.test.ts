import type { Producer } from 'kafkajs';
import { PREDICTION_FIELDS } from '../../../src/serving/predictor.js';
import { describe, expect, it } from 'vitest';
import { loadFeatureSet } from '../../../src/operators/featureSet.js';
import { LiveMetrics } from '../../../src/serving/live/liveMetrics.js';
import { LiveModel, type RowPredictor } from '../../../src/serving/live/liveModel.js';
import { LiveOutputs } from '../../../src/serving/live/liveOutputs.js';
import type { LiveMessage } from '../../../src/serving/live/liveProcessor.js';

const featureSet = loadFeatureSet();
const values = new Float64Array(featureSet.columns.length);
const message = (partition: number): LiveMessage => ({ partition, offset: 0, key: Buffer.from('A'), value: null, timestamp: 0 });
const turn = () => new Promise((r) => setImmediate(r));

type Batch = { topicMessages: { topic: string; messages: { key: string; value: Buffer | string | null; partition?: number }[] }[] };

function outputs(model: RowPredictor | null, producer: Producer, partitions = { features: 6, predictions: 6, dlq: 1 }): LiveOutputs {
  return new LiveOutputs({
    featureSet,
    format: 'json',
    topics: { features: 'f', predictions: 'p', dlq: 'd', source: 'b' },
    model: model === null ? null : new LiveModel(model, null, () => undefined, () => undefined),
    features: null,
    predictions: null,
    metrics: new LiveMetrics(),
    producer: () => producer,
    partitions,
  });
}

const constant: RowPredictor = { name: 'm', version: '1', fields: PREDICTION_FIELDS, lead: 0, predictRows: async (rows) => rows.map(() => Float64Array.from({ length: 7 }, () => 0.5)) };

describe('LiveOutputs', () => {
  it('sends the outputs of every batch processed in one turn in one produce request, predictions in one model call', async () => {
    const sends: Batch[] = [];
    let calls = 0;
    const counting: RowPredictor = { ...constant, predictRows: async (rows) => (calls++, constant.predictRows(rows)) };
    const out = outputs(counting, { sendBatch: async (b: Batch) => void sends.push(b) } as unknown as Producer);
    // Three partitions' batches, as kafkajs hands the batches of one fetch to concurrent handlers.
    const acks = [0, 1, 2].map((p) => {
      out.row(`S${p}`, 60_000, values, message(p), null);
      return out.flush();
    });
    await Promise.all(acks);
    expect(sends).toHaveLength(1);
    expect(calls).toBe(1);
    expect(sends[0]!.topicMessages.map((t) => [t.topic, t.messages.map((m) => m.key)])).toEqual([
      ['f', ['S0', 'S1', 'S2']],
      ['p', ['S0', 'S1', 'S2']],
    ]);
  });

  it('issues the Kafka requests in call order, even when an earlier send\'s predictions take longer', async () => {
    let call = 0;
    // The first batch of rows is slow to predict (as a fallback call would be), the second fast.
    const slowThenFast: RowPredictor = {
      ...constant,
      predictRows: async (rows) => {
        await new Promise((r) => setTimeout(r, call++ === 0 ? 30 : 0));
        return constant.predictRows(rows);
      },
    };
    const sent: string[] = [];
    const out = outputs(slowThenFast, { sendBatch: async (b: Batch) => void sent.push(...b.topicMessages.flatMap((t) => t.messages.map((m) => String(m.value).slice(0, 60)))) } as unknown as Producer);
    out.row('A', 60_000, values, message(0), null);
    const first = out.flush();
    await turn();
    out.row('A', 120_000, values, message(0), null);
    const second = out.flush();
    await Promise.all([first, second]);
    const order = sent.map((s) => (s.includes('00:01:00') ? 1 : s.includes('00:02:00') ? 2 : 0)).filter((x) => x > 0);
    expect(order).toEqual([1, 1, 2, 2]);
  });

  it('acknowledges a send only with every send before it: an earlier failure fails the later ones', async () => {
    let n = 0;
    const out = outputs(null, { sendBatch: async () => { if (n++ === 0) throw new Error('broker said no'); } } as unknown as Producer);
    out.row('A', 60_000, values, message(0), null);
    const first = out.flush();
    await turn();
    out.row('B', 60_000, values, message(1), null);
    const second = out.flush();
    await expect(first).rejects.toThrow('broker said no');
    await expect(second).rejects.toThrow('broker said no');
    // After a failure the topology restarts; what was not sent is discarded, and later sends stand alone.
    out.discard();
    out.row('C', 60_000, values, message(2), null);
    await expect(out.flush()).resolves.toBeUndefined();
    expect(n).toBe(3);
  });

  it('puts each message on the partition the default partitioner would choose, and bounds a send by its largest partition batch', async () => {
    const sends: Batch[] = [];
    const out = outputs(null, { sendBatch: async (b: Batch) => void sends.push(b) } as unknown as Producer, { features: 1, predictions: 1, dlq: 1 });
    const symbols = Array.from({ length: 3000 }, (_, i) => `S${i}`);
    // One partition: every row lands in the same batch, so a burst this size must be split.
    for (const s of symbols) out.row(s, 60_000, values, message(0), null);
    await out.flush();
    expect(sends.length).toBeGreaterThan(1);
    expect(sends.flatMap((b) => b.topicMessages.flatMap((t) => t.messages.map((m) => m.key)))).toEqual(symbols);

    // Six partitions: the same rows are spread, each partition batch stays under the limit, one request.
    const spread: Batch[] = [];
    const six = outputs(null, { sendBatch: async (b: Batch) => void spread.push(b) } as unknown as Producer, { features: 6, predictions: 6, dlq: 1 });
    for (const s of symbols.slice(0, 1000)) six.row(s, 60_000, values, message(0), null);
    await six.flush();
    expect(spread).toHaveLength(1);
    const { Partitioners } = await import('kafkajs');
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: 6 }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    for (const m of spread[0]!.topicMessages[0]!.messages) {
      expect(m.partition).toBe(partitioner({ topic: 'f', partitionMetadata, message: { key: m.key, value: null } }));
    }
    expect(new Set(spread[0]!.topicMessages[0]!.messages.map((m) => m.partition)).size).toBe(6);
  });
});
