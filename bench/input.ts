import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

/**
 * The bar file the benchmarks read: BENCH_FILE, else the 30,240-bar BTCUSDT file of the shared
 * data beside the checkout, else the committed sample (a fresh clone without the shared data).
 */
export function benchInput(): string {
  const shared = resolve(ROOT, '..', 'shared', 'data', 'BTCUSDT_binanceus_1m_20230301_20230321.csv');
  return process.env.BENCH_FILE ?? (existsSync(shared) ? shared : resolve(ROOT, 'data', 'samples', 'BTCUSDT_binanceus_1m_20230310_20230313.csv'));
}
