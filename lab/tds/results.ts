// COLMETADATA and ROW tokens for the lab's column types (contract SqlType).
import { ByteWriter } from './bytes.js';
import {
  datetime2Parts,
  datetimeParts,
  guidToBytes,
  magnitudeBytes,
  numericLength,
  timeLength,
  toDate,
  toScaledInteger,
} from './codecs.js';
import type { CellValue, Column, SqlType } from './contract.js';
import { DEFAULT_COLLATION, Token } from './tokens.js';

const TypeId = {
  IntN: 0x26,
  BitN: 0x68,
  FltN: 0x6d,
  NVarChar: 0xe7,
  VarBinary: 0xa5,
  NumericN: 0x6c,
  Guid: 0x24,
  DateTimeN: 0x6f,
  DateTime2N: 0x2a,
} as const;

const PLP_NULL = 0xffffffffffffffffn;
const PLP_CHUNK = 8000;
/** Above this many bytes a (n)var* column has to be declared (max). */
const MAX_INLINE_BYTES = 8000;

const INT_WIDTH = { tinyint: 1, smallint: 2, int: 4, bigint: 8 } as const;

function isPlp(t: SqlType): boolean {
  if (t.type === 'nvarchar') return t.length === 'max' || t.length * 2 > MAX_INLINE_BYTES;
  if (t.type === 'varbinary') return t.length === 'max' || t.length > MAX_INLINE_BYTES;
  return false;
}

function typeInfo(w: ByteWriter, t: SqlType): void {
  switch (t.type) {
    case 'tinyint':
    case 'smallint':
    case 'int':
    case 'bigint':
      w.u8(TypeId.IntN).u8(INT_WIDTH[t.type]);
      return;
    case 'bit':
      w.u8(TypeId.BitN).u8(1);
      return;
    case 'float':
      w.u8(TypeId.FltN).u8(8);
      return;
    case 'nvarchar':
      w.u8(TypeId.NVarChar).u16(isPlp(t) ? 0xffff : Math.max(1, t.length as number) * 2).bytes(DEFAULT_COLLATION);
      return;
    case 'varbinary':
      w.u8(TypeId.VarBinary).u16(isPlp(t) ? 0xffff : Math.max(1, t.length as number));
      return;
    case 'numeric':
      w.u8(TypeId.NumericN).u8(numericLength(t.precision)).u8(t.precision).u8(t.scale);
      return;
    case 'uniqueidentifier':
      w.u8(TypeId.Guid).u8(16);
      return;
    case 'datetime':
      w.u8(TypeId.DateTimeN).u8(8);
      return;
    case 'datetime2':
      w.u8(TypeId.DateTime2N).u8(t.scale);
      return;
  }
}

export function colMetadata(w: ByteWriter, columns: Column[]): void {
  w.u8(Token.ColMetadata).u16(columns.length);
  for (const c of columns) {
    w.u32(0); // user type
    w.u16(c.nullable ? 0x01 : 0x00);
    typeInfo(w, c.sqlType);
    w.bVarchar(c.name.slice(0, 128));
  }
}

function asText(v: CellValue): string {
  if (v instanceof Date) return v.toISOString();
  if (Buffer.isBuffer(v)) return v.toString('hex');
  return String(v);
}

function asBytes(v: CellValue): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(asText(v), 'utf8');
}

function asNumber(v: CellValue): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  const n = Number(v);
  if (Number.isNaN(n)) throw new RangeError(`not a number: ${asText(v)}`);
  return n;
}

function plp(w: ByteWriter, data: Buffer): void {
  w.u64(data.length);
  for (let at = 0; at < data.length; at += PLP_CHUNK) {
    const chunk = data.subarray(at, at + PLP_CHUNK);
    w.u32(chunk.length).bytes(chunk);
  }
  w.u32(0);
}

function writeInt(w: ByteWriter, width: 1 | 2 | 4 | 8, v: CellValue): void {
  w.u8(width);
  if (width === 8) {
    w.i64(typeof v === 'bigint' ? v : BigInt(Math.trunc(asNumber(v))));
    return;
  }
  const n = Math.trunc(typeof v === 'bigint' ? Number(v) : asNumber(v));
  const b = Buffer.allocUnsafe(width);
  if (width === 1) b.writeUInt8(n);
  else if (width === 2) b.writeInt16LE(n);
  else b.writeInt32LE(n);
  w.bytes(b);
}

function value(w: ByteWriter, t: SqlType, v: CellValue): void {
  if (v === null || v === undefined) {
    if (isPlp(t)) w.u64(PLP_NULL);
    else if (t.type === 'nvarchar' || t.type === 'varbinary') w.u16(0xffff);
    else w.u8(0);
    return;
  }
  switch (t.type) {
    case 'tinyint':
    case 'smallint':
    case 'int':
    case 'bigint':
      writeInt(w, INT_WIDTH[t.type], v);
      return;
    case 'bit':
      w.u8(1).u8(v === true || (typeof v !== 'boolean' && asNumber(v) !== 0) ? 1 : 0);
      return;
    case 'float':
      w.u8(8).f64(asNumber(v));
      return;
    case 'nvarchar':
    case 'varbinary': {
      const data = t.type === 'nvarchar' ? Buffer.from(asText(v), 'utf16le') : asBytes(v);
      if (isPlp(t)) plp(w, data);
      else w.u16(data.length).bytes(data);
      return;
    }
    case 'numeric': {
      const n = toScaledInteger(v, t.scale);
      const len = numericLength(t.precision);
      w.u8(len).u8(n < 0n ? 0 : 1).bytes(magnitudeBytes(n, len - 1));
      return;
    }
    case 'uniqueidentifier':
      w.u8(16).bytes(Buffer.isBuffer(v) ? v : guidToBytes(asText(v)));
      return;
    case 'datetime': {
      const { days, ticks } = datetimeParts(toDate(v));
      w.u8(8).i32(days).u32(ticks);
      return;
    }
    case 'datetime2': {
      const { days, units } = datetime2Parts(toDate(v), t.scale);
      const tl = timeLength(t.scale);
      const b = Buffer.alloc(tl + 3);
      b.writeUIntLE(units, 0, tl);
      b.writeUIntLE(days, tl, 3);
      w.u8(b.length).bytes(b);
      return;
    }
  }
}

export function row(w: ByteWriter, columns: Column[], cells: CellValue[]): void {
  w.u8(Token.Row);
  for (let i = 0; i < columns.length; i++) value(w, columns[i]!.sqlType, cells[i] ?? null);
}
