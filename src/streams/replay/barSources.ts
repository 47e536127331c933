import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import type { Bar } from '../../bars/bar.js';
import { type Reject, RejectCounts } from '../../bars/rejects.js';
import { BarValidator } from '../../bars/validation.js';
import { type BarBatch, CsvBarReader } from '../csv/csvBarReader.js';
import { readBars } from '../questdb/barExport.js';
import type { QuestDbEndpoint } from '../questdb/endpoint.js';
import { QuestDb } from '../questdb/questDb.js';
import { ColumnarBarReader } from '../sources/columnarBarReader.js';
import type { FileReadOptions, InputResult, UnitInput } from './replayTypes.js';

/** What the replay needs of any reader of bars: batches in order, progress, and what it saw. */
export interface BarSource extends AsyncIterable<BarBatch> {
  readonly name: string;
  readonly bytesRead: number;
  readonly totalBytes: number;
  readonly rowsRead: number;
  /** Statistics once iterated; `sha256` covers the bytes (files) or the bars (QuestDB) read. */
  result(): Promise<InputResult>;
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Arrow and Parquet by extension; everything else is read as CSV. */
export function fileFormat(path: string): 'csv' | 'columnar' {
  return /\.(arrow|feather|ipc|arrows|parquet|pq)$/i.test(path) ? 'columnar' : 'csv';
}

function fileSource(input: Extract<UnitInput, { kind: 'file' }>, read: FileReadOptions): BarSource {
  const common = { symbol: input.symbol, defaultSymbol: input.defaultSymbol, strict: read.strict };
  const reader =
    input.format === 'csv'
      ? new CsvBarReader(input.path, { ...common, layout: read.layout, tz: read.tz, tsUnit: read.tsUnit })
      : new ColumnarBarReader(input.path, common);
  return {
    name: input.path,
    get bytesRead() {
      return reader.bytesRead;
    },
    get totalBytes() {
      return reader.totalBytes;
    },
    get rowsRead() {
      return reader.rowsRead;
    },
    [Symbol.asyncIterator]: () => reader[Symbol.asyncIterator](),
    async result() {
      const s = reader.summary();
      return { source: input.path, sha256: await sha256OfFile(input.path), bytes: statSync(input.path).size, rows: s.rows, bars: s.bars, rejects: s.rejects.toJSON() };
    },
  };
}

/**
 * One symbol's bars from a QuestDB table, in time order, a page at a time. They were validated
 * when ingested, but the same rules run again: a table written by other tools gets the same
 * guarantees, and the fingerprint covers exactly the bars that were used.
 */
function questDbSource(input: Extract<UnitInput, { kind: 'questdb' }>, endpoint: QuestDbEndpoint): BarSource {
  const name = `questdb:${input.table}/${input.symbol}`;
  const hash = createHash('sha256');
  const validator = new BarValidator();
  const counts = new RejectCounts();
  const scratch = Buffer.alloc(48);
  let rows = 0;
  let bars = 0;
  return {
    name,
    bytesRead: 0,
    totalBytes: 0,
    get rowsRead() {
      return rows;
    },
    async *[Symbol.asyncIterator]() {
      const db = new QuestDb(endpoint);
      try {
        for await (const page of readBars(db, { symbol: input.symbol, table: input.table, from: input.from, to: input.to })) {
          const batch: BarBatch = { bars: [], rejects: [] };
          for (const bar of page) {
            rows++;
            scratch.writeDoubleLE(bar.ts, 0);
            scratch.writeDoubleLE(bar.open, 8);
            scratch.writeDoubleLE(bar.high, 16);
            scratch.writeDoubleLE(bar.low, 24);
            scratch.writeDoubleLE(bar.close, 32);
            scratch.writeDoubleLE(bar.volume, 40);
            hash.update(scratch);
            const violation = validator.accept(bar);
            if (violation === null) {
              batch.bars.push(bar);
              bars++;
            } else {
              counts.add(violation.reason);
              batch.rejects.push({ source: name, reason: violation.reason, detail: violation.detail, raw: JSON.stringify(bar) });
            }
          }
          yield batch;
        }
      } finally {
        await db.close();
      }
    },
    async result() {
      return { source: name, sha256: hash.digest('hex'), bytes: rows * 48, rows, bars, rejects: counts.toJSON() };
    },
  };
}

export function openBarSource(input: UnitInput, read: FileReadOptions, endpoint?: QuestDbEndpoint): BarSource {
  if (input.kind === 'file') return fileSource(input, read);
  if (!endpoint) throw new Error('a QuestDB source needs a QuestDB endpoint');
  return questDbSource(input, endpoint);
}

/** A bar refused by the replay itself (not by its reader), e.g. a file that goes back in time. */
export function replayReject(source: string, bar: Bar, reason: Reject['reason'], detail: string): Reject {
  return { source, reason, detail, raw: JSON.stringify(bar) };
}
