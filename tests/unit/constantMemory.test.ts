import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { formatTs } from '../../src/bars/bar.js';
import { ROOT } from '../helpers/files.js';
import { tempDir } from '../helpers/tempDir.js';

const run = promisify(execFile);
const dir = tempDir('big');

it('reads a file far larger than its heap: 1M rows (~60 MB) with a 32 MB heap limit', async () => {
  const file = join(dir, 'big.csv');
  const out = createWriteStream(file);
  out.write('ts,open,high,low,close,volume\n');
  const t0 = Date.UTC(2000, 0, 1);
  let chunk = '';
  for (let i = 0; i < 1_000_000; i++) {
    chunk += `${formatTs(t0 + i * 60_000)},${100 + (i % 7)},${110 + (i % 5)},${90 - (i % 3)},${100.5 + (i % 4)},${i % 1000}.25\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  // Holding the bars would need ~100 MB (measured: accumulating them fails under this limit).
  const { stdout } = await run(process.execPath, ['--max-old-space-size=32', resolve(ROOT, 'bin', 'barflow.js'), 'validate', '-i', file, '-s', 'BIG', '--json', '--rejects', join(dir, 'r.jsonl')], {
    env: { ...process.env, CI: '1' },
  });
  const summary = JSON.parse(stdout);
  expect([summary.rows, summary.bars, summary.rejects.total]).toEqual([1_000_000, 1_000_000, 0]);
}, 120_000);
