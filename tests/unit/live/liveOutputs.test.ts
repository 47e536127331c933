import type { Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { loadFeatureSet } from '../../../src/operators/featureSet.js';
import { LiveMetrics } from '../../../src/serving/live/liveMetrics.js';
import { LiveModel, type RowPredictor } from '../../../src/serving/live/liveModel.js';
import { LiveOutputs } from '../../../src/serving/live/liveOutputs.js';
import type { LiveMessage } from '../../../src/serving/live/liveProcessor.js';

const featureSet = loadFeatureSet();

describe('LiveOutputs with a model', () => {
  it('issues the Kafka requests in call order, even when an earlier send\'s predictions take longer', async () => {
    let call = 0;
    // The first batch of rows is slow to predict (as a fallback call would be), the second fast.
    const slowThenFast: RowPredictor = {
      name: 'm',
      version: '1',
      predictRows: async (rows) => {
        const delay = call++ === 0 ? 30 : 0;
        await new Promise((r) => setTimeout(r, delay));
        return rows.map(() => Float64Array.from({ length: 7 }, () => 0.5));
      },
    };
    const sent: string[] = [];
    const producer = { sendBatch: async (b: { topicMessages: { messages: { value: Buffer | string | null }[] }[] }) => void sent.push(...b.topicMessages.flatMap((t) => t.messages.map((m) => String(m.value).slice(0, 60)))) } as unknown as Producer;
    const out = new LiveOutputs({
      featureSet,
      format: 'json',
      topics: { features: 'f', predictions: 'p', dlq: 'd', source: 'b' },
      model: new LiveModel(slowThenFast, null, () => undefined, () => undefined),
      features: null,
      predictions: null,
      metrics: new LiveMetrics(),
    });
    const values = new Float64Array(featureSet.columns.length);
    const m = { partition: 0, offset: 0, key: Buffer.from('A'), value: null } as LiveMessage;
    out.row('A', 60_000, values, m, null);
    const first = out.send(producer);
    out.row('A', 120_000, values, m, null);
    const second = out.send(producer);
    await Promise.all([first, second]);
    const order = sent.map((s) => (s.includes('00:01:00') ? 1 : s.includes('00:02:00') ? 2 : 0)).filter((x) => x > 0);
    expect(order).toEqual([1, 1, 2, 2]);
  });
});
