import { closeSync, openSync, readSync } from 'node:fs';
import { type Data, DataType, type Field, Precision, TimeUnit, Vector } from 'apache-arrow';
import type { Violation } from '../../bars/rejects.js';
import { decimalOrViolation } from '../../bars/numbers.js';
import type { EpochUnit, ParsedTimestamp } from '../../time/timestamps.js';
import { LayoutError } from '../csv/layout.js';

/**
 * Cell readers for the columns of Arrow record batches (from Arrow IPC or Parquet): one closure per
 * column and batch, chosen once from the column's type so the per-row work is a typed-array read.
 * Every reader turns a value into what the CSV reader would have made of the same value written as
 * text, so a bar read from a columnar file is bit-for-bit the bar read from the equivalent CSV.
 */

export type ColumnarFormat = 'arrow' | 'parquet';

/** Sniffs the format from the first bytes, not the extension (files get renamed and mislabeled). */
export function detectFormat(file: string): ColumnarFormat {
  const head = Buffer.alloc(8);
  const fd = openSync(file, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, 8, 0);
  } finally {
    closeSync(fd);
  }
  const text = head.toString('latin1', 0, n);
  if (text.startsWith('ARROW1')) return 'arrow'; // IPC file (Feather v2)
  if (text.startsWith('PAR1')) return 'parquet';
  // IPC stream: messages start with the 0xFFFFFFFF continuation marker (format ≥ 0.15).
  if (n >= 8 && head.readUInt32LE(0) === 0xffffffff) return 'arrow';
  const shown = JSON.stringify(text.replace(/[^\x20-\x7e]/g, '.'));
  throw new LayoutError(file, `is not an Arrow IPC file/stream nor a Parquet file (first bytes ${shown}; expected "ARROW1", "PAR1" or an IPC stream)`);
}

/** A numeric field's value, or why it cannot be one (reason codes as the CSV reader gives them). */
export type NumberCell = (row: number) => number | Violation;
/** Fills `out` with the row's timestamp, or returns why it has none. */
export type TsCell = (row: number, out: ParsedTimestamp) => Violation | null;
export type SymbolCell = (row: number) => string | null;
/** The row's value as it will appear in a reject's `raw` JSON. */
export type RawCell = (row: number) => unknown;

const UNITS: Record<TimeUnit, EpochUnit> = { [TimeUnit.SECOND]: 's', [TimeUnit.MILLISECOND]: 'ms', [TimeUnit.MICROSECOND]: 'us', [TimeUnit.NANOSECOND]: 'ns' };
const PER_MS: Record<EpochUnit, bigint> = { s: 1n, ms: 1n, us: 1_000n, ns: 1_000_000n };

/** The epoch unit of a timestamp column, or null for other types. */
export function timestampUnit(type: DataType): EpochUnit | null {
  return DataType.isTimestamp(type) ? UNITS[type.unit] : null;
}

/** True for a timestamp column without a zone: a wall-clock time, not an instant. */
export function isNaiveTimestamp(type: DataType): boolean {
  return DataType.isTimestamp(type) && !type.timezone;
}

function isText(type: DataType): boolean {
  return DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isUtf8View(type) || (DataType.isDictionary(type) && isText(type.dictionary));
}

/** Why a column's type cannot hold its role, or null when a reader exists for it. */
export function unsupportedType(role: 'ts' | 'value' | 'symbol', type: DataType): string | null {
  const ok =
    role === 'symbol'
      ? isText(type)
      : role === 'ts'
        ? DataType.isTimestamp(type) || DataType.isInt(type) || DataType.isFloat(type) || isText(type)
        : DataType.isInt(type) || DataType.isFloat(type) || DataType.isDecimal(type) || isText(type);
  if (ok) return null;
  const accepted = { ts: 'timestamp[s|ms|us|ns], integer or float epoch, or ISO-8601 text', value: 'float, integer, decimal or decimal text', symbol: 'utf8 or dictionary<utf8>' }[role];
  return `has type ${type}; accepted: ${accepted}`;
}

const nullViolation = (field: string): Violation => ({ reason: 'unparsable_field', detail: `${field}: null` });

/**
 * Shortest decimal that reads back to the same float32: the text the writer most likely had (numpy
 * and pyarrow print float32 so), parsed as float64 like the CSV reader does. Widening the float32
 * instead would turn a volume of 2.131777 into 2.1317770481109619, a different bar than the CSV's.
 */
export function float32ToDecimal(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  for (let p = 1; p < 9; p++) {
    const n = Number(value.toPrecision(p));
    if (Math.fround(n) === value) return n;
  }
  return Number(value.toPrecision(9));
}

/** Unscaled two's-complement integer of a decimal128/256 value (little-endian 32-bit words). */
function unscaled(words: Uint32Array, at: number, stride: number): bigint {
  let v = 0n;
  for (let k = stride - 1; k >= 0; k--) v = (v << 32n) | BigInt(words[at + k]!);
  return words[at + stride - 1]! & 0x80000000 ? v - (1n << BigInt(stride * 32)) : v;
}

/** Decimal text of unscaled × 10^-scale, e.g. 2313 with scale 2 → "23.13". */
function decimalText(v: bigint, scale: number): string {
  if (scale <= 0) return `${v}${'0'.repeat(-scale)}`;
  const digits = (v < 0n ? -v : v).toString().padStart(scale + 1, '0');
  return `${v < 0n ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/** A numeric (open … volume) column. Text columns go through the CSV reader's decimal grammar. */
export function numberCell(data: Data, field: string): NumberCell {
  const type = data.type as DataType;
  const nonFinite = (v: number): Violation => ({ reason: 'non_finite', detail: `${field}: ${v} is not finite` });
  if (DataType.isFloat(type) && type.precision !== Precision.HALF) {
    const values = data.values as Float64Array | Float32Array;
    if (type.precision === Precision.SINGLE) {
      return (row) => {
        if (!data.getValid(row)) return nullViolation(field);
        const v = values[row]!;
        return Number.isFinite(v) ? float32ToDecimal(v) : nonFinite(v);
      };
    }
    // The common case gets the tightest loop: getValid costs more than the value read itself.
    if (data.nullCount === 0) {
      return (row) => {
        const v = values[row]!;
        return Number.isFinite(v) ? v : nonFinite(v);
      };
    }
    return (row) => {
      if (!data.getValid(row)) return nullViolation(field);
      const v = values[row]!;
      return Number.isFinite(v) ? v : nonFinite(v);
    };
  }
  if (DataType.isDecimal(type)) {
    const words = data.values as Uint32Array;
    const stride = type.bitWidth / 32;
    // "123e-2" through Number() is correctly rounded, as the CSV reader's Number("1.23") is.
    return (row) => (data.getValid(row) ? Number(`${unscaled(words, row * stride, stride)}e${-type.scale}`) : nullViolation(field));
  }
  const vector = new Vector([data]);
  if (isText(type)) {
    return (row) => {
      const text = vector.get(row) as string | null;
      return text === null ? nullViolation(field) : decimalOrViolation(text.trim(), field);
    };
  }
  // Integers (64-bit ones come as bigint; Number() rounds them to nearest like Number(text)) and
  // half floats, whose widening is exact and rare enough not to need the float32 treatment.
  return (row) => {
    const v = vector.get(row) as number | bigint | null;
    if (v === null) return nullViolation(field);
    const n = Number(v);
    return Number.isFinite(n) ? n : nonFinite(n);
  };
}

/**
 * Epoch value of a timestamp column to ms, floored, with digits below the millisecond reported
 * (bars are minute-aligned, so such a value is rejected as ts_not_minute_aligned like in CSV).
 */
function fromEpoch(v: bigint, unit: EpochUnit, out: ParsedTimestamp): void {
  if (unit === 's' || unit === 'ms') {
    out.ms = unit === 's' ? Number(v) * 1000 : Number(v);
    out.subMs = false;
    return;
  }
  const d = PER_MS[unit];
  const r = v % d;
  out.ms = Number(v / d - (r < 0n ? 1n : 0n));
  out.subMs = r !== 0n;
}

/**
 * A timestamp column. Timestamp types carry their unit; integer and float epochs and text are
 * turned into the text the CSV reader would see and handed to `parseText`, so units are guessed
 * and ISO forms accepted exactly as there.
 */
export function tsCell(data: Data, field: string, parseText: (text: string, out: ParsedTimestamp) => Violation | null): TsCell {
  const type = data.type as DataType;
  const unit = timestampUnit(type);
  if (unit !== null) {
    const values = data.values as BigInt64Array;
    const naive = isNaiveTimestamp(type);
    const nullable = data.nullCount !== 0;
    return (row, out) => {
      if (nullable && !data.getValid(row)) return nullViolation(field);
      fromEpoch(values[row]!, unit, out);
      out.naive = naive;
      return null;
    };
  }
  const vector = new Vector([data]);
  return (row, out) => {
    const v = vector.get(row) as string | number | bigint | null;
    if (v === null) return nullViolation(field);
    // A float epoch prints without exponent below 1e21, which covers every unit up to 2200;
    // NaN prints "NaN" and is refused as unparsable like the same text in a CSV.
    const text = typeof v === 'string' ? v.trim() : String(v);
    return parseText(text, out);
  };
}

export function symbolCell(data: Data): SymbolCell {
  const vector = new Vector([data]);
  return (row) => vector.get(row) as string | null;
}

/** ISO text of an epoch value at the column's own precision (UTC; no `Z` for a naive column). */
function timestampText(v: bigint, unit: EpochUnit, naive: boolean): string {
  const d = PER_MS[unit];
  const ms = unit === 's' ? v * 1000n : v / d - (v % d < 0n ? 1n : 0n);
  if (ms < -8_640_000_000_000_000n || ms > 8_640_000_000_000_000n) return `${v} ${unit}`;
  let iso = new Date(Number(ms)).toISOString().slice(0, -1);
  if (unit === 'us' || unit === 'ns') {
    const below = ((v % d) + d) % d;
    if (below !== 0n) iso += below.toString().padStart(unit === 'us' ? 3 : 6, '0');
  }
  iso = iso.replace(/\.000$/, '');
  return naive ? iso : `${iso}Z`;
}

/** How a value is shown in a reject's raw JSON: readable, and exact where JSON numbers are not. */
export function rawCell(data: Data): RawCell {
  const type = data.type as DataType;
  const unit = timestampUnit(type);
  if (unit !== null) {
    const values = data.values as BigInt64Array;
    const naive = isNaiveTimestamp(type);
    return (row) => (data.getValid(row) ? timestampText(values[row]!, unit, naive) : null);
  }
  if (DataType.isDecimal(type)) {
    const words = data.values as Uint32Array;
    const stride = type.bitWidth / 32;
    return (row) => (data.getValid(row) ? decimalText(unscaled(words, row * stride, stride), type.scale) : null);
  }
  const vector = new Vector([data]);
  const single = DataType.isFloat(type) && type.precision === Precision.SINGLE;
  return (row) => {
    const v = vector.get(row) as unknown;
    if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
    // JSON has no NaN or Infinity (it would print null, which means a missing value here).
    if (typeof v === 'number') return Number.isFinite(v) ? (single ? float32ToDecimal(v) : v) : String(v);
    return v;
  };
}

/** "name (type)" for error messages listing what a file has. */
export function describeFields(fields: readonly Field[]): string {
  return fields.map((f) => `${f.name} (${f.type})`).join(', ');
}
