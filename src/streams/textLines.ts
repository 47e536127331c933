import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/**
 * The lines of a text file, a chunk's worth at a time: the same lines `readline` gives (ends at
 * \n, \r\n or a lone \r; UTF-8 decoded across chunk boundaries), without its per-line promise. For
 * a bar file that per-line await cost about 1 µs a line, a fifth of reading and validating a bar.
 */
export async function* textLines(path: string, chunkBytes = 1 << 20): AsyncGenerator<string[]> {
  const stream = createReadStream(path, { highWaterMark: chunkBytes });
  const decoder = new StringDecoder('utf8');
  let carry = '';
  try {
    for await (const chunk of stream) {
      const text = carry + decoder.write(chunk as Buffer);
      const lines: string[] = [];
      let start = 0;
      const n = text.length;
      for (let i = 0; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c !== 10 && c !== 13) continue;
        // A \r at the very end may be the first half of a \r\n split across chunks: wait for more.
        if (c === 13 && i === n - 1) break;
        lines.push(text.slice(start, i));
        if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
        start = i + 1;
      }
      carry = text.slice(start);
      if (lines.length > 0) yield lines;
    }
    carry += decoder.end();
    // A held-back \r at the end closes its line, even an empty one (as readline does).
    if (carry.endsWith('\r')) yield [carry.slice(0, -1)];
    else if (carry.length > 0) yield [carry];
  } finally {
    stream.destroy();
  }
}
