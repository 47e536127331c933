import { closeSync, createWriteStream, mkdirSync, openSync, writeSync, writevSync } from 'node:fs';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import {
  type Data,
  Field,
  Float64,
  RecordBatch,
  RecordBatchFileWriter,
  Schema,
  Struct,
  TimestampMillisecond,
  Utf8,
  makeData,
  vectorFromArray,
} from 'apache-arrow';
import type { FeatureSet } from '../../operators/featureSet.js';
import type { FeatureRow } from '../../operators/rx.js';
import type { FeatureSink } from '../featureSink.js';

/** The Arrow schema of feature rows: ts, symbol, one nullable float64 per column, with the set's identity. */
export function featureSchema(featureSet: FeatureSet): Schema {
  const metadata = new Map([
    ['barflow.feature_set', featureSet.name],
    ['barflow.feature_set_version', String(featureSet.version)],
    ['barflow.schema_hash', featureSet.schemaHash],
    ['barflow.row_available_at', 'ts + 1 minute'],
  ]);
  return new Schema(
    [
      new Field('ts', new TimestampMillisecond('UTC'), false),
      new Field('symbol', new Utf8(), false),
      ...featureSet.columns.map((c) => new Field(c.name, new Float64(), true)),
    ],
    metadata,
  );
}

/**
 * Feature rows as an Arrow IPC file: `ts` (timestamp[ms, UTC], the 1-minute bar's open time),
 * `symbol` (utf8), then one float64 column per feature, null where the value is missing. The
 * schema's metadata carries the feature set's name, version and schema hash. Rows are buffered
 * column by column and written as record batches of `batchRows`.
 */
export class FeatureArrowWriter implements FeatureSink {
  private readonly schema: Schema;
  private readonly writer = new RecordBatchFileWriter();
  private readonly done: Promise<void>;
  /** The writer's queue of encoded bytes, drained straight to `fd` (see `queuedBytes`), or null. */
  private readonly queued: Uint8Array[] | null;
  private fd = -1;
  /**
   * Column and bitmap buffers used again for every batch: only on the synchronous path, where a
   * batch's bytes have been written before the next batch is built. Fresh multi-megabyte buffers
   * per batch cost page faults, which threads of one process take one at a time (2 replay workers
   * were no faster than 1).
   */
  private readonly reusable: { columns: Float64Array[]; valid: Uint8Array[] } | null;
  private readonly ts: Float64Array;
  private readonly symbols: string[] = [];
  /** The one symbol of the batch so far, or null once a second one has come (see `symbolData`). */
  private batchSymbol: string | null = null;
  private mixedSymbols = false;
  /**
   * Rows as they come, row after row (one copy of 8 × width bytes per row), turned into columns
   * once per batch by a blocked transpose: writing each value straight into its own column array
   * touched `width` cache lines per row and cost about 10 ns a value.
   */
  private readonly staged: Float64Array;
  private readonly width: number;
  private n = 0;
  rows = 0;

  constructor(
    path: string,
    featureSet: FeatureSet,
    private readonly batchRows = 16_384,
  ) {
    this.schema = featureSchema(featureSet);
    this.ts = new Float64Array(batchRows);
    this.width = featureSet.columns.length;
    this.staged = new Float64Array(batchRows * this.width);
    mkdirSync(dirname(path), { recursive: true });
    this.queued = queuedBytes(this.writer);
    this.reusable =
      this.queued === null
        ? null
        : { columns: featureSet.columns.map(() => new Float64Array(batchRows)), valid: featureSet.columns.map(() => new Uint8Array((batchRows + 7) >> 3)) };
    if (this.queued !== null) {
      this.fd = openSync(path, 'w');
      this.done = Promise.resolve();
    } else {
      const file = createWriteStream(path);
      this.writer.toNodeStream().pipe(file);
      this.done = finished(file);
    }
  }

  add(row: FeatureRow): void {
    const i = this.n++;
    this.ts[i] = row.ts;
    if (i === 0) this.batchSymbol = row.symbol;
    else if (row.symbol !== this.batchSymbol) this.mixedSymbols = true;
    this.symbols.push(row.symbol);
    this.staged.set(row.values.length === this.width ? row.values : row.values.subarray(0, this.width), i * this.width);
    this.rows++;
    if (this.n === this.batchRows) this.writeBatch();
  }

  async flush(): Promise<void> {
    // Batches are written when full; a partial batch waits for close, so batches stay large.
  }

  async close(): Promise<void> {
    if (this.n > 0) this.writeBatch();
    if (this.rows === 0) this.writer.write(this.batch(0));
    this.writer.finish();
    this.drain();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    await this.done;
  }

  /** Writes what the Arrow writer has encoded so far in one system call. */
  private drain(): void {
    if (this.queued === null || this.queued.length === 0) return;
    const chunks = this.queued.splice(0);
    let total = 0;
    for (const c of chunks) total += c.byteLength;
    const written = writevSync(this.fd, chunks);
    if (written < total) {
      const rest = Buffer.concat(chunks).subarray(written);
      for (let done = 0; done < rest.length; ) done += writeSync(this.fd, rest, done);
    }
  }

  /** A batch of no rows with the feature schema (an Arrow file with no rows still needs one). */
  static emptyBatch(featureSet: FeatureSet): RecordBatch {
    const schema = featureSchema(featureSet);
    const children = schema.fields.map((f) => makeData({ type: f.type, length: 0, nullCount: 0 } as never));
    return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 0, nullCount: 0, children }));
  }

  private writeBatch(): void {
    this.writer.write(this.batch(this.n));
    this.drain();
    this.n = 0;
    this.symbols.length = 0;
    this.mixedSymbols = false;
  }

  private batch(n: number): RecordBatch {
    const fields = this.schema.fields;
    const children = [
      makeData({ type: fields[0]!.type as TimestampMillisecond, length: n, nullCount: 0, data: epochMsToInt64(this.ts, n) }),
      this.symbolData(n),
      ...transposeToColumns(this.staged, this.width, n, this.reusable).map((col, c) => float64Data(fields[c + 2]!.type as Float64, col, n, this.reusable?.valid[c])),
    ];
    return new RecordBatch(this.schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children }));
  }

  /** A batch of one symbol (every replay batch) is built directly, without a builder pass per string. */
  private symbolData(n: number): Data<Utf8> {
    if (this.mixedSymbols || n === 0) return vectorFromArray(this.symbols.slice(0, n), new Utf8()).data[0]!;
    const bytes = Buffer.from(this.batchSymbol!, 'utf8');
    const valueOffsets = new Int32Array(n + 1);
    const data = new Uint8Array(n * bytes.length);
    for (let i = 0; i < n; i++) {
      valueOffsets[i + 1] = (i + 1) * bytes.length;
      data.set(bytes, i * bytes.length);
    }
    return makeData({ type: new Utf8(), length: n, nullCount: 0, valueOffsets, data });
  }
}

/**
 * apache-arrow's writer puts every buffer of a batch (hundreds for a wide row) on an internal byte
 * queue, and its Node stream hands them to the file one by one: that cost about 3 µs a row for 180
 * columns, more than the feature engine. When the queue is where this version keeps it, it is
 * drained synchronously instead, one write per batch; otherwise the documented stream is used.
 * The bytes are the same either way (the replay tests compare files written both ways' readers).
 */
function queuedBytes(writer: RecordBatchFileWriter): Uint8Array[] | null {
  const values = (writer as unknown as { _sink?: { _values?: unknown } })._sink?._values;
  return Array.isArray(values) ? (values as Uint8Array[]) : null;
}

/**
 * int64 milliseconds from whole-millisecond doubles, written as two uint32 halves: no BigInt per
 * row. `ts >>> 0` is ts mod 2^32 exactly for integers below 2^53, and bar times are positive.
 */
function epochMsToInt64(ts: Float64Array, n: number): BigInt64Array {
  const out = new BigInt64Array(n);
  const halves = new Uint32Array(out.buffer);
  const low = LITTLE_ENDIAN ? 0 : 1;
  for (let i = 0; i < n; i++) {
    const t = ts[i]!;
    const lo = t >>> 0;
    halves[2 * i + low] = lo;
    halves[2 * i + 1 - low] = (t - lo) / 4294967296;
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Row-major `n × width` into `width` columns of n, in blocks of rows that stay in cache. */
function transposeToColumns(staged: Float64Array, width: number, n: number, reuse: { columns: Float64Array[] } | null): Float64Array[] {
  const columns = reuse === null ? Array.from({ length: width }, () => new Float64Array(n)) : reuse.columns.map((c) => c.subarray(0, n));
  const BLOCK = 64;
  for (let r0 = 0; r0 < n; r0 += BLOCK) {
    const r1 = Math.min(n, r0 + BLOCK);
    for (let c = 0; c < width; c++) {
      const col = columns[c]!;
      for (let r = r0, at = r0 * width + c; r < r1; r++, at += width) col[r] = staged[at]!;
    }
  }
  return columns;
}

/** A float64 column, null where NaN; no validity bitmap at all when nothing is missing. */
function float64Data(type: Float64, data: Float64Array, n: number, reuseValid?: Uint8Array): Data<Float64> {
  let nulls = 0;
  // x !== x only for NaN.
  for (let i = 0; i < n; i++) if (data[i]! !== data[i]!) nulls++;
  if (nulls === 0) return makeData({ type, length: n, nullCount: 0, data });
  const valid = reuseValid === undefined ? new Uint8Array((n + 7) >> 3) : reuseValid.subarray(0, (n + 7) >> 3);
  for (let b = 0; b < valid.length; b++) {
    let byte = 0;
    const end = Math.min(8, n - 8 * b);
    for (let k = 0; k < end; k++) {
      const x = data[8 * b + k]!;
      if (x === x) byte |= 1 << k;
    }
    valid[b] = byte;
  }
  return makeData({ type, length: n, nullCount: nulls, data, nullBitmap: valid });
}
