import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { textLines } from '../../src/streams/textLines.js';
import { tempDir } from '../helpers/tempDir.js';

const dir = tempDir('lines');

async function ours(text: string, chunkBytes: number): Promise<string[]> {
  const file = join(dir, 'f.txt');
  writeFileSync(file, text);
  const out: string[] = [];
  for await (const chunk of textLines(file, chunkBytes)) out.push(...chunk);
  return out;
}

/** Node's readline, the reference: lines end at \n, \r\n or a lone \r. */
async function reference(text: string): Promise<string[]> {
  const out: string[] = [];
  for await (const line of createInterface({ input: Readable.from([Buffer.from(text)]), crlfDelay: Infinity })) out.push(line);
  return out;
}

describe('textLines', () => {
  it('gives the lines readline gives, whatever the chunk size (CR, CRLF, LF, multi-byte UTF-8 across chunks)', async () => {
    const piece = fc.constantFrom('a', '1', ',', 'é', '€', '𝄞', '\n', '\r', '\r\n', '', ' ');
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 60 }), fc.integer({ min: 1, max: 9 }), async (pieces, chunkBytes) => {
        const text = pieces.join('');
        expect(await ours(text, chunkBytes)).toEqual(await reference(text));
      }),
      { numRuns: 300 },
    );
  });
});
