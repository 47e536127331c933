import type { Admin, Consumer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { loadFeatureSet } from '../../../src/operators/featureSet.js';
import { encodeBar } from '../../../src/streams/kafka/barMessage.js';
import { Checkpointer } from '../../../src/serving/live/checkpointer.js';
import { LiveMetrics } from '../../../src/serving/live/liveMetrics.js';
import { type LiveMessage, type LiveOutput, LiveProcessor } from '../../../src/serving/live/liveProcessor.js';
import type { StateTopic } from '../../../src/serving/live/stateTopic.js';

const featureSet = loadFeatureSet();
const ignore: LiveOutput = { row: () => undefined, reject: () => undefined, duplicate: () => undefined };
const turn = () => new Promise((r) => setImmediate(r));

function bar(symbol: string, minute: number, offset: number): LiveMessage {
  const value = encodeBar({ symbol, ts: minute * 60_000, open: 10, high: 11, low: 9, close: 10.5, volume: 100 });
  return { partition: 0, offset, key: Buffer.from(symbol), value: Buffer.from(value), timestamp: 0 };
}

/** The Kafka side of a checkpoint, recorded in the order it happens; `failWrites` makes state writes fail. */
class Recorder {
  events: string[] = [];
  failWrites = 0;
  committed: { partition: number; offset: string }[] = [];
  written: string[][] = [];
  groupOffset: string | null = null;
  stored: [string, Buffer][] = [];

  readonly admin = {
    fetchOffsets: async () => [{ topic: 'bars', partitions: [0, 1].map((partition) => ({ partition, offset: this.groupOffset ?? '-1' })) }],
    fetchTopicOffsets: async () => [0, 1].map((partition) => ({ partition, low: '0', high: '7', offset: '7' })),
  } as unknown as Admin;

  readonly state = {
    catchUp: async () => undefined,
    snapshots: () => this.stored,
    write: async (p: number, values: readonly { symbol: string; value: Buffer }[]) => {
      this.events.push(`write ${p}`);
      if (this.failWrites-- > 0) throw new Error('state topic unavailable');
      this.written.push(values.map((v) => v.symbol).sort());
    },
  } as unknown as StateTopic;

  readonly consumer = {
    commitOffsets: async (offsets: { partition: number; offset: string }[]) => {
      this.events.push(...offsets.map((x) => `commit ${x.partition}`));
      this.committed.push(...offsets.map(({ partition, offset }) => ({ partition, offset })));
    },
  } as unknown as Consumer;

  checkpointer(intervalMs = 0): Checkpointer {
    return new Checkpointer({
      admin: this.admin,
      state: this.state,
      metrics: new LiveMetrics(),
      topic: 'bars',
      groupId: 'g',
      fromBeginning: true,
      intervalMs,
      newProcessor: () => new LiveProcessor(featureSet, 1 << 20),
      drainOutputs: async () => void this.events.push('drain'),
    });
  }
}

/** One batch of partition 0 through the checkpointer's protocol: begin, process, acknowledge, end. */
function batch(r: Recorder, cp: Checkpointer, messages: LiveMessage[], end = true): void {
  cp.begin();
  for (const m of messages) cp.processors.get(0)!.process(m, ignore);
  cp.acknowledged(0, messages.at(-1)!.offset + 1, 1);
  if (end) cp.end(r.consumer);
}

describe('Checkpointer', () => {
  it('starts a partition without a committed offset at its beginning, commits that start and ignores stored snapshots', async () => {
    const r = new Recorder();
    r.stored = [['A', Buffer.from('not ours')]];
    const cp = r.checkpointer();
    cp.reset(1);
    expect(await cp.restore(0, r.consumer)).toBe(0);
    expect(r.committed).toEqual([{ partition: 0, offset: '0' }]);
    expect(cp.processors.get(0)!.symbols.size).toBe(0);
  });

  it('captures a due checkpoint only once no batch is in flight, then drains outputs, writes snapshots and commits, in that order', async () => {
    const r = new Recorder();
    r.groupOffset = '0';
    const cp = r.checkpointer();
    cp.reset(1);
    await cp.restore(0, r.consumer);
    cp.tick(r.consumer); // due (interval 0) and quiet, but nothing acknowledged yet: nothing to do
    // Two batches of one fetch cycle: the first ends while the second is still in flight.
    cp.begin();
    batch(r, cp, [bar('A', 1, 0), bar('B', 1, 1)]);
    cp.tick(r.consumer);
    await turn();
    expect(r.events).toEqual([]);
    cp.acknowledged(0, 3, 1);
    cp.processors.get(0)!.process(bar('C', 1, 2), ignore);
    cp.end(r.consumer);
    await cp.final(r.consumer);
    expect(r.events).toEqual(['drain', 'write 0', 'commit 0']);
    expect(r.written).toEqual([['A', 'B', 'C']]);
    expect(r.committed).toEqual([{ partition: 0, offset: '3' }]);
  });

  it('checkpoints one partition per quiet moment, each with its own snapshots and offset', async () => {
    const r = new Recorder();
    r.groupOffset = '0';
    const cp = r.checkpointer();
    cp.reset(1);
    await cp.restore(0, r.consumer);
    await cp.restore(1, r.consumer);
    cp.begin();
    cp.begin();
    cp.processors.get(0)!.process(bar('A', 1, 0), ignore);
    cp.processors.get(1)!.process(bar('B', 1, 0), ignore);
    cp.acknowledged(0, 1, 1);
    cp.acknowledged(1, 1, 1);
    cp.tick(r.consumer); // due; both batches in flight
    cp.end(r.consumer);
    cp.end(r.consumer); // the fetch cycle is over: partition 0 only
    await turn();
    await turn();
    expect(r.events).toEqual(['drain', 'write 0', 'commit 0']);
    expect(r.written).toEqual([['A']]);
    cp.tick(r.consumer); // the next quiet moment: partition 1
    await turn();
    await turn();
    expect(r.events).toEqual(['drain', 'write 0', 'commit 0', 'drain', 'write 1', 'commit 1']);
    expect(r.written).toEqual([['A'], ['B']]);
    cp.tick(r.consumer); // the checkpoint is complete; the next is due after the interval
    await cp.final(r.consumer);
    expect(r.events).toHaveLength(6);
  });

  it('gives the symbols and offsets of a failed checkpoint to the next one', async () => {
    const r = new Recorder();
    r.groupOffset = '0';
    r.failWrites = 1;
    const cp = r.checkpointer();
    cp.reset(1);
    await cp.restore(0, r.consumer);
    batch(r, cp, [bar('A', 1, 0), bar('B', 1, 1)]);
    await cp.final(r.consumer);
    expect(r.committed).toEqual([]);
    batch(r, cp, [bar('B', 2, 2)]);
    await cp.final(r.consumer);
    expect(r.written).toEqual([['A', 'B']]);
    expect(r.committed).toEqual([{ partition: 0, offset: '3' }]);
  });

  it('commits no offset of a generation that ended while its checkpoint was being written', async () => {
    const r = new Recorder();
    r.groupOffset = '0';
    const cp = r.checkpointer();
    cp.reset(1);
    await cp.restore(0, r.consumer);
    batch(r, cp, [bar('A', 1, 0)], false);
    cp.tick(r.consumer); // due, but a batch is in flight
    expect(r.events).toEqual([]);
    cp.end(r.consumer); // captured; persisting in the background
    cp.reset(2); // a rebalance before the write finished
    await cp.final(r.consumer);
    expect(r.events).toEqual(['drain', 'write 0']);
    expect(r.committed).toEqual([]);
  });

  it('restores the snapshots of a partition with a committed offset and starts there', async () => {
    const r = new Recorder();
    r.groupOffset = '0';
    const first = r.checkpointer();
    first.reset(1);
    await first.restore(0, r.consumer);
    batch(r, first, [bar('A', 1, 0), bar('A', 2, 1)]);
    const snapshot = first.processors.get(0)!.symbols.get('A')!.snapshot();
    r.stored = [['A', snapshot]];
    r.groupOffset = '2';
    const second = r.checkpointer();
    second.reset(1);
    expect(await second.restore(0, r.consumer)).toBe(2);
    const restored = second.processors.get(0)!.symbols.get('A')!;
    expect(restored.offset).toBe(1);
    expect(Buffer.compare(restored.snapshot(), snapshot)).toBe(0);
  });
});
