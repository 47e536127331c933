import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no services; `integration` runs against a real Kafka and a real
// QuestDB that tests/setup/services.ts provides (env endpoints, else testcontainers when Docker
// answers, else the local jars via `barflow services`).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['tests/setup/tempRoot.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['tests/setup/tempRoot.ts', 'tests/setup/services.ts'],
          testTimeout: 120_000,
          hookTimeout: 240_000,
          // The tests share one broker and one QuestDB on a 2-core machine; files run one at a time.
          fileParallelism: false,
          // kafkajs reports its own retried errors as warnings; tests assert outcomes instead.
          env: { BARFLOW_LOG_LEVEL: 'error' },
        },
      },
    ],
  },
});
