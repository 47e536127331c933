import { checkTableName } from '../../topology/topology.js';

/**
 * InfluxDB line protocol (ILP) for feature rows, written straight into a Buffer:
 *
 *   <table>,symbol=<escaped symbol> <col>=<value>,<col>=<value>,… <ts>\n
 *
 * Why not @questdb/nodejs-client's Sender (which the bar writer uses): it validates and writes every
 * column name and value character by character, about 12 µs per row for 6 columns; a feature row
 * has ~180. Here every column's bytes are precomputed once per feature set, so a row costs one
 * copy of a template plus one 8-byte store per value.
 *
 * Two value encodings, chosen by what the server supports (QuestDbFeatureWriter asks `/settings`):
 *  - 'binary' (ILP protocol version 2: `/settings` lists 2 in `line.proto.support.versions`, as
 *    QuestDB 9.3.4 does): `name==`, type byte 16 (ENTITY_TYPE_DOUBLE in the nodejs client), the
 *    float64 little-endian. Exact by construction, fixed width, no number formatting. NaN (missing)
 *    is sent as is: QuestDB's DOUBLE null is NaN. Every row has the same layout, hence the template.
 *    Measured ~1.5 µs per 180-column row.
 *  - 'text' (protocol version 1): `name=<String(x)>`, the shortest round-trip decimal (−0 as
 *    `-0.0`, which String would print as 0). NaN fields are left out (QuestDB stores NULL); a row
 *    that is all NaN sends its first column as `NaN` so that the line still has a field. ~25x
 *    slower than binary (String(x) of 180 doubles), so only a fallback for older servers.
 * Note: QuestDB reads ±Infinity in a DOUBLE back as NULL, in either encoding.
 *
 * The designated timestamp is written in epoch milliseconds: send with `/write?precision=ms`.
 */
export type IlpFloatFormat = 'binary' | 'text';

/** ILP v2 entity type of a binary float64 (`ENTITY_TYPE_DOUBLE` in @questdb/nodejs-client). */
export const ILP_BINARY_DOUBLE = 16;

const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SPACE = 0x20;
const NEWLINE = 0x0a;
const MINUS = 0x2d;
const ZERO = 0x30;
/** Longest designated timestamp text (a safe integer: sign + 16 digits) plus space and newline. */
const TS_MAX = 20;
/** Per-symbol line heads kept; more symbols than this just rebuild theirs. */
const HEAD_CACHE = 10_000;

export class FeatureIlpEncoder {
  private buf: Buffer;
  private view: DataView;
  private pos = 0;
  /** Rows in the current buffer (since the last `take`). */
  rows = 0;
  private readonly heads = new Map<string, Buffer>();
  private readonly spare: Buffer[] = [];
  /** 'binary': the fields of a row with zeroed values, and where each value's 8 bytes go. */
  private readonly template: Buffer;
  private readonly offsets: Int32Array;
  /** 'text': `,name=` per column (the first field skips the comma). */
  private readonly prefixes: Buffer[];

  constructor(
    readonly table: string,
    readonly columns: readonly string[],
    readonly format: IlpFloatFormat,
    private readonly initialBytes = 1 << 20,
    /** Tags written after the symbol on every line (e.g. the model of a prediction row). */
    private readonly tags: readonly (readonly [string, string])[] = [],
  ) {
    checkTableName(table);
    if (columns.length === 0) throw new Error('a feature row needs at least one column');
    for (const c of columns) {
      // Column names go into the line unescaped, so only plain identifiers are accepted.
      if (!COLUMN_NAME.test(c)) throw new Error(`feature column ${JSON.stringify(c)} is not a plain identifier (letters, digits, _)`);
    }
    this.buf = Buffer.allocUnsafe(initialBytes);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.prefixes = columns.map((c) => Buffer.from(`,${c}=`, 'latin1'));
    const parts: Buffer[] = [];
    const offsets = new Int32Array(columns.length);
    let at = 0;
    columns.forEach((c, i) => {
      const name = Buffer.from(`${i === 0 ? '' : ','}${c}==`, 'latin1');
      const field = Buffer.alloc(name.length + 9);
      name.copy(field, 0);
      field[name.length] = ILP_BINARY_DOUBLE;
      offsets[i] = at + name.length + 1;
      parts.push(field);
      at += field.length;
    });
    parts.push(Buffer.from([SPACE]));
    this.template = Buffer.concat(parts);
    this.offsets = offsets;
  }

  /** Bytes encoded since the last `take`. */
  get bytes(): number {
    return this.pos;
  }

  /** Appends one row. Throws (and appends nothing) when the row does not fit the columns. */
  add(symbol: string, ts: number, values: Float64Array): void {
    if (values.length !== this.columns.length) {
      throw new Error(`feature row for ${symbol} at ${ts} has ${values.length} values, table ${this.table} has ${this.columns.length} feature columns`);
    }
    if (!Number.isSafeInteger(ts)) throw new Error(`feature row for ${symbol} has timestamp ${ts}, not an integer epoch ms`);
    const head = this.head(symbol);
    if (this.format === 'binary') this.addBinary(head, ts, values);
    else this.addText(head, ts, values);
    this.rows++;
  }

  /** The rows encoded so far (null when none); the encoder goes on in another buffer. */
  take(): Buffer | null {
    if (this.pos === 0) return null;
    const out = this.buf.subarray(0, this.pos);
    // The taken bytes are in flight while new rows are encoded: another buffer, a returned one when
    // there is one (fresh multi-MB buffers cost page faults on every first touch).
    this.buf = this.spare.pop() ?? Buffer.allocUnsafe(Math.max(this.initialBytes, this.buf.length));
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.pos = 0;
    this.rows = 0;
    return out;
  }

  private addBinary(head: Buffer, ts: number, values: Float64Array): void {
    const t = this.template;
    this.reserve(head.length + t.length + TS_MAX);
    const buf = this.buf;
    let pos = this.pos;
    buf.set(head, pos);
    pos += head.length;
    buf.set(t, pos);
    const view = this.view;
    const offsets = this.offsets;
    for (let i = 0; i < offsets.length; i++) view.setFloat64(pos + offsets[i]!, values[i]!, true);
    pos += t.length;
    this.pos = writeInt(buf, pos, ts);
    buf[this.pos++] = NEWLINE;
  }

  private addText(head: Buffer, ts: number, values: Float64Array): void {
    // Worst case per field: prefix + 24 characters of number text.
    let need = head.length + TS_MAX;
    for (const p of this.prefixes) need += p.length + 24;
    this.reserve(need);
    const buf = this.buf;
    let pos = this.pos;
    buf.set(head, pos);
    pos += head.length;
    let first = true;
    for (let i = 0; i < values.length; i++) {
      const x = values[i]!;
      if (x !== x) continue;
      const p = this.prefixes[i]!;
      if (first) {
        buf.set(p.subarray(1), pos);
        pos += p.length - 1;
        first = false;
      } else {
        buf.set(p, pos);
        pos += p.length;
      }
      pos += buf.write(Object.is(x, -0) ? '-0.0' : String(x), pos, 'latin1');
    }
    if (first) {
      const p = this.prefixes[0]!;
      buf.set(p.subarray(1), pos);
      pos += p.length - 1;
      pos += buf.write('NaN', pos, 'latin1');
    }
    buf[pos++] = SPACE;
    this.pos = writeInt(buf, pos, ts);
    buf[this.pos++] = NEWLINE;
  }

  /** `<table>,symbol=<escaped> ` for a symbol, built once per symbol. */
  private head(symbol: string): Buffer {
    let head = this.heads.get(symbol);
    if (head === undefined) {
      if (symbol.length === 0) throw new Error(`feature row for table ${this.table} has an empty symbol`);
      head = Buffer.from(`${this.table},symbol=${escapeTag(symbol)}${this.tags.map(([k, v]) => `,${k}=${escapeTag(v)}`).join('')} `, 'utf8');
      if (this.heads.size >= HEAD_CACHE) this.heads.clear();
      this.heads.set(symbol, head);
    }
    return head;
  }

  /** Takes back a buffer `take` gave out, once it is no longer needed, to encode into again. */
  giveBack(chunk: Buffer): void {
    // Only a buffer of its own: a small one may be a slice of Node's shared pool, which others use.
    if (this.spare.length < 4 && chunk.byteOffset === 0 && chunk.buffer.byteLength > Buffer.poolSize && chunk.buffer.byteLength >= this.initialBytes) {
      this.spare.push(Buffer.from(chunk.buffer, 0, chunk.buffer.byteLength));
    }
  }

  private reserve(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (this.pos + bytes > size) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }
}

/** Escapes a tag (symbol) value as ILP wants: space, comma, equals, CR/LF and backslash. */
export function escapeTag(s: string): string {
  return s.replace(/[ ,=\n\r\\]/g, (c) => `\\${c}`);
}

/** Writes a safe integer in decimal; returns the position after it. */
function writeInt(buf: Buffer, pos: number, n: number): number {
  if (n < 0) {
    buf[pos++] = MINUS;
    n = -n;
  }
  let digits = 1;
  for (let p = 10; p <= n; p *= 10) digits++;
  let at = pos + digits;
  const end = at;
  do {
    const q = Math.floor(n / 10);
    buf[--at] = ZERO + (n - q * 10);
    n = q;
  } while (n > 0);
  return end;
}

/** One decoded line (tests and diagnostics): the symbol, the timestamp and the fields by name. */
export interface DecodedIlpLine {
  table: string;
  symbol: string;
  ts: number;
  fields: Map<string, number>;
}

/**
 * Decodes what FeatureIlpEncoder wrote (both encodings), for tests: not a general ILP parser (it
 * knows the encoder's single tag and plain column names).
 */
export function decodeFeatureIlp(buf: Buffer): DecodedIlpLine[] {
  const out: DecodedIlpLine[] = [];
  let pos = 0;
  const until = (stops: number[]): string => {
    let s = '';
    while (pos < buf.length && !stops.includes(buf[pos]!)) {
      if (buf[pos] === 0x5c) pos++; // backslash escape
      s += String.fromCharCode(buf[pos++]!);
    }
    return s;
  };
  while (pos < buf.length) {
    const table = until([0x2c]);
    pos++; // ,
    const tag = until([0x3d]);
    if (tag !== 'symbol') throw new Error(`expected the symbol tag, got ${tag}`);
    pos++; // =
    const symbol = until([SPACE]);
    pos++; // space
    const fields = new Map<string, number>();
    for (;;) {
      const name = until([0x3d]);
      pos++; // =
      if (buf[pos] === 0x3d) {
        if (buf[pos + 1] !== ILP_BINARY_DOUBLE) throw new Error(`field ${name}: binary type ${buf[pos + 1]} is not a double`);
        fields.set(name, buf.readDoubleLE(pos + 2));
        pos += 10;
      } else {
        fields.set(name, Number(until([0x2c, SPACE])));
      }
      const sep = buf[pos++];
      if (sep === SPACE) break;
      if (sep !== 0x2c) throw new Error(`unexpected byte ${sep} after field ${name}`);
    }
    const ts = Number(until([NEWLINE]));
    pos++;
    out.push({ table, symbol, ts, fields });
  }
  return out;
}
