import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import {
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
  private readonly ts: BigInt64Array;
  private readonly symbols: string[] = [];
  private readonly columns: Float64Array[];
  private n = 0;
  rows = 0;

  constructor(
    path: string,
    featureSet: FeatureSet,
    private readonly batchRows = 16_384,
  ) {
    this.schema = featureSchema(featureSet);
    this.ts = new BigInt64Array(batchRows);
    this.columns = featureSet.columns.map(() => new Float64Array(batchRows));
    mkdirSync(dirname(path), { recursive: true });
    const file = createWriteStream(path);
    this.writer.toNodeStream().pipe(file);
    this.done = finished(file);
  }

  add(row: FeatureRow): void {
    const i = this.n++;
    this.ts[i] = BigInt(row.ts);
    this.symbols.push(row.symbol);
    for (let c = 0; c < this.columns.length; c++) this.columns[c]![i] = row.values[c]!;
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
    await this.done;
  }

  /** A batch of no rows with the feature schema (an Arrow file with no rows still needs one). */
  static emptyBatch(featureSet: FeatureSet): RecordBatch {
    const schema = featureSchema(featureSet);
    const children = schema.fields.map((f) => makeData({ type: f.type, length: 0, nullCount: 0 } as never));
    return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 0, nullCount: 0, children }));
  }

  private writeBatch(): void {
    this.writer.write(this.batch(this.n));
    this.n = 0;
    this.symbols.length = 0;
  }

  private batch(n: number): RecordBatch {
    const fields = this.schema.fields;
    const children = [
      makeData({ type: fields[0]!.type as TimestampMillisecond, length: n, nullCount: 0, data: this.ts.slice(0, n) }),
      vectorFromArray(this.symbols.slice(0, n), new Utf8()).data[0]!,
      ...this.columns.map((values, c) => {
        const data = values.slice(0, n);
        const valid = new Uint8Array(Math.ceil(n / 8));
        let nulls = 0;
        for (let i = 0; i < n; i++) {
          if (Number.isNaN(data[i])) nulls++;
          else valid[i >> 3]! |= 1 << (i & 7);
        }
        return makeData({ type: fields[c + 2]!.type as Float64, length: n, nullCount: nulls, data, nullBitmap: valid });
      }),
    ];
    return new RecordBatch(this.schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children }));
  }
}
