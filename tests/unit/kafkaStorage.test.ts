import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkKafkaClusterId, kafkaStorageFormatted, newKafkaClusterId } from '../../src/services/kafkaStorage.js';
import { serviceSettingsFromEnv } from '../../src/services/settings.js';
import { testTempDir } from '../helpers/tempDir.js';

describe('Kafka cluster ids', () => {
  it('never begins with - however the bytes fall (one id in 64 did, and the storage tool read it as an option)', () => {
    // First byte 0xF8..0xFB encodes to "-" in base64url, 0xFC..0xFF to "_".
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0xfb), Buffer.alloc(16, 0xfc)];
    const id = newKafkaClusterId(() => draws.shift()!);
    expect(Buffer.alloc(16, 0xf8).toString('base64url')[0]).toBe('-');
    expect(id[0]).toBe('_');
    expect(draws).toHaveLength(0);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const fallback = Buffer.alloc(16, 0x41);
        const draws = [Buffer.from(bytes), fallback];
        const got = newKafkaClusterId(() => draws.shift()!);
        const text = Buffer.from(bytes).toString('base64url');
        const redrawn = text.startsWith('-') || text === 'AAAAAAAAAAAAAAAAAAAAAA' || text === 'AAAAAAAAAAAAAAAAAAAAAQ';
        return got === (redrawn ? fallback.toString('base64url') : text) && !got.startsWith('-');
      }),
      { examples: [[new Uint8Array(16)], [Uint8Array.of(0, ...new Array(14).fill(0), 1)]] },
    );
    for (let i = 0; i < 200; i++) expect(checkKafkaClusterId(newKafkaClusterId(), 'test')).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });

  it('accepts a forced id beginning with - or _, refuses what is not a Kafka Uuid, naming the variable', () => {
    expect(serviceSettingsFromEnv({ BARFLOW_KAFKA_CLUSTER_ID: '-nAfdV3kSakfqq706aOfzg' }).kafka.clusterId).toBe('-nAfdV3kSakfqq706aOfzg');
    expect(serviceSettingsFromEnv({ BARFLOW_KAFKA_CLUSTER_ID: '_nAfdV3kSakfqq706aOfzg' }).kafka.clusterId).toBe('_nAfdV3kSakfqq706aOfzg');
    expect(serviceSettingsFromEnv({}).kafka.clusterId).toBeUndefined();
    expect(() => serviceSettingsFromEnv({ BARFLOW_KAFKA_CLUSTER_ID: 'abc' })).toThrow(/BARFLOW_KAFKA_CLUSTER_ID: "abc" is not a Kafka cluster id: 22 characters/);
    expect(() => checkKafkaClusterId('-nAfdV3kSakfqq706aOfz=', 'x')).toThrow(/not a Kafka cluster id/);
    expect(() => checkKafkaClusterId('AAAAAAAAAAAAAAAAAAAAAA', 'x')).toThrow(/reserved/);
  });

  it('counts a log directory as formatted only with a complete meta.properties', () => {
    const dir = testTempDir('meta');
    const data = join(dir, 'data');
    expect(kafkaStorageFormatted(data)).toBe(false);
    mkdirSync(join(data, '__cluster_metadata-0'), { recursive: true });
    expect(kafkaStorageFormatted(data)).toBe(false);
    writeFileSync(join(data, 'meta.properties'), '#\nnode.id=1\nversi');
    expect(kafkaStorageFormatted(data)).toBe(false);
    writeFileSync(join(data, 'meta.properties'), '#\nnode.id=1\ndirectory.id=OcUywPER72QfJDJDzgnvvA\nversion=1\ncluster.id=-nAfdV3kSakfqq706aOfzg\n');
    expect(kafkaStorageFormatted(data)).toBe(true);
  });
});
