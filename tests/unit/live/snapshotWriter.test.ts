import { describe, expect, it } from 'vitest';
import { SnapshotWriter } from '../../../src/serving/live/snapshotWriter.js';

// No broker: port 1 on loopback refuses every connection, so a write retries for as long as its
// settings allow. (The writes against a real broker are covered by the live integration tests.)
const snapshots = [{ symbol: 'A', value: Buffer.alloc(64, 1) }];

describe('SnapshotWriter', () => {
  it('fails a write the thread cannot deliver with the client\'s reason', async () => {
    const w = new SnapshotWriter({ brokers: ['127.0.0.1:1'], clientId: 'test-snapshots', retries: 1 });
    try {
      await expect(w.write('state', 0, snapshots)).rejects.toThrow(/state topic write: .*(ECONNREFUSED|Connection)/);
    } finally {
      await w.close();
    }
  });

  it('reset fails the writes still in the thread at once, and the next write gets a new thread', async () => {
    // Retries for minutes: without reset this write would hold its checkpoint that long.
    const w = new SnapshotWriter({ brokers: ['127.0.0.1:1'], clientId: 'test-snapshots', retries: 50 });
    try {
      const stuck = w.write('state', 0, snapshots);
      await new Promise((r) => setTimeout(r, 300));
      w.reset();
      await expect(stuck).rejects.toThrow('snapshot writer reset after a failure');
      const next = w.write('state', 0, snapshots);
      await new Promise((r) => setTimeout(r, 300));
      w.reset();
      await expect(next).rejects.toThrow('snapshot writer reset after a failure');
    } finally {
      await w.close();
    }
  });
});
