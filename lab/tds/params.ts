// RPC parameter decoding: B_VARCHAR name, status byte, TYPE_INFO, value, for the types tedious
// sends. Values come out as contract CellValues (exact bigint/decimal strings, Dates, Buffers).
import { ByteReader, ProtocolError } from './bytes.js';
import {
  dateFromDatetime2Parts,
  dateFromDatetimeParts,
  guidFromBytes,
  magnitudeFromBytes,
  scaledToDecimalString,
  timeLength,
} from './codecs.js';
import type { CellValue, ParamValue } from './contract.js';

const PLP_NULL = 0xffffffffffffffffn;

function readPlp(r: ByteReader): Buffer | null {
  const total = r.u64();
  if (total === PLP_NULL) return null;
  const parts: Buffer[] = [];
  for (;;) {
    const len = r.u32();
    if (len === 0) break;
    parts.push(r.bytes(len));
  }
  return Buffer.concat(parts);
}

function readIntOfWidth(r: ByteReader, width: number): CellValue {
  switch (width) {
    case 1:
      return r.u8();
    case 2:
      return r.i16();
    case 4:
      return r.i32();
    case 8:
      return r.i64();
    default:
      throw new ProtocolError(`integer of width ${width}`);
  }
}

const INT_NAMES: Record<number, string> = { 1: 'tinyint', 2: 'smallint', 4: 'int', 8: 'bigint' };

function money(r: ByteReader, width: number): number {
  if (width === 4) return r.i32() / 10_000;
  const high = r.i32();
  const low = r.u32();
  return (high * 2 ** 32 + low) / 10_000;
}

function datetimeN(r: ByteReader, width: number): Date {
  if (width === 4) {
    const days = r.u16();
    const minutes = r.u16();
    return dateFromDatetimeParts(days, minutes * 60 * 300);
  }
  const days = r.i32();
  return dateFromDatetimeParts(days, r.u32());
}

function time(r: ByteReader, scale: number): number {
  const b = r.bytes(timeLength(scale));
  return b.readUIntLE(0, b.length);
}

/** Reads a length-prefixed nullable value: `width` bytes of length, 0 (or all-ones) = NULL. */
function nullableLen(r: ByteReader): number | null {
  const len = r.u8();
  return len === 0 ? null : len;
}

interface Decoded {
  typeName: string;
  value: CellValue;
}

function decodeTyped(r: ByteReader): Decoded {
  const id = r.u8();
  switch (id) {
    case 0x30: return { typeName: 'tinyint', value: r.u8() };
    case 0x34: return { typeName: 'smallint', value: r.i16() };
    case 0x38: return { typeName: 'int', value: r.i32() };
    case 0x7f: return { typeName: 'bigint', value: r.i64() };
    case 0x32: return { typeName: 'bit', value: r.u8() !== 0 };
    case 0x3b: return { typeName: 'real', value: r.f32() };
    case 0x3e: return { typeName: 'float', value: r.f64() };
    case 0x3c: return { typeName: 'money', value: money(r, 8) };
    case 0x7a: return { typeName: 'smallmoney', value: money(r, 4) };
    case 0x3d: return { typeName: 'datetime', value: datetimeN(r, 8) };
    case 0x3a: return { typeName: 'smalldatetime', value: datetimeN(r, 4) };
    case 0x26: {
      const width = r.u8();
      const len = nullableLen(r);
      return { typeName: INT_NAMES[width] ?? 'int', value: len === null ? null : readIntOfWidth(r, len) };
    }
    case 0x68: {
      r.u8();
      const len = nullableLen(r);
      return { typeName: 'bit', value: len === null ? null : r.bytes(len)[0] !== 0 };
    }
    case 0x6d: {
      const width = r.u8();
      const len = nullableLen(r);
      return { typeName: width === 4 ? 'real' : 'float', value: len === null ? null : len === 4 ? r.f32() : r.f64() };
    }
    case 0x6e: {
      const width = r.u8();
      const len = nullableLen(r);
      return { typeName: width === 4 ? 'smallmoney' : 'money', value: len === null ? null : money(r, len) };
    }
    case 0x6f: {
      const width = r.u8();
      const len = nullableLen(r);
      return { typeName: width === 4 ? 'smalldatetime' : 'datetime', value: len === null ? null : datetimeN(r, len) };
    }
    case 0x24: {
      r.u8();
      const len = nullableLen(r);
      return { typeName: 'uniqueidentifier', value: len === null ? null : guidFromBytes(r.bytes(len)) };
    }
    case 0x6a:
    case 0x6c: {
      r.u8(); // max length
      r.u8(); // precision
      const scale = r.u8();
      const len = nullableLen(r);
      const typeName = id === 0x6a ? 'decimal' : 'numeric';
      if (len === null) return { typeName, value: null };
      const positive = r.u8() === 1;
      const n = magnitudeFromBytes(r.bytes(len - 1)) * (positive ? 1n : -1n);
      return { typeName, value: scale === 0 ? n : scaledToDecimalString(n, scale) };
    }
    case 0x28: {
      const len = nullableLen(r);
      return { typeName: 'date', value: len === null ? null : dateFromDatetime2Parts(r.bytes(3).readUIntLE(0, 3), 0, 0) };
    }
    case 0x29: {
      const scale = r.u8();
      const len = nullableLen(r);
      return { typeName: 'time', value: len === null ? null : dateFromDatetime2Parts(0, time(r, scale), scale) };
    }
    case 0x2a:
    case 0x2b: {
      const scale = r.u8();
      const len = nullableLen(r);
      const typeName = id === 0x2a ? 'datetime2' : 'datetimeoffset';
      if (len === null) return { typeName, value: null };
      const units = time(r, scale);
      const days = r.bytes(3).readUIntLE(0, 3);
      if (id === 0x2b) r.i16(); // offset in minutes; the stored instant is already UTC
      return { typeName, value: dateFromDatetime2Parts(days, units, scale) };
    }
    case 0xe7:
    case 0xef:
    case 0xa7:
    case 0xaf:
    case 0xa5:
    case 0xad: {
      const maxLength = r.u16();
      const textual = id !== 0xa5 && id !== 0xad;
      if (textual) r.bytes(5); // collation
      const unicode = id === 0xe7 || id === 0xef;
      const typeName = { 0xe7: 'nvarchar', 0xef: 'nchar', 0xa7: 'varchar', 0xaf: 'char', 0xa5: 'varbinary', 0xad: 'binary' }[id]!;
      let data: Buffer | null;
      if (maxLength === 0xffff) data = readPlp(r);
      else {
        const len = r.u16();
        data = len === 0xffff ? null : r.bytes(len);
      }
      if (data === null) return { typeName, value: null };
      // varchar arrives in the collation's code page (1252); latin1 matches it for the lab's text.
      return { typeName, value: textual ? data.toString(unicode ? 'utf16le' : 'latin1') : Buffer.from(data) };
    }
    case 0x63:
    case 0x23:
    case 0x22: {
      // tedious sends (n)text/image as a 4-byte max length (+ collation), then a 4-byte length.
      r.u32();
      if (id !== 0x22) r.bytes(5);
      const len = r.i32();
      const typeName = id === 0x63 ? 'ntext' : id === 0x23 ? 'text' : 'image';
      if (len < 0) return { typeName, value: null };
      const data = r.bytes(len);
      return { typeName, value: id === 0x63 ? data.toString('utf16le') : id === 0x23 ? data.toString('latin1') : Buffer.from(data) };
    }
    default:
      throw new ProtocolError(`unsupported parameter type 0x${id.toString(16)}`);
  }
}

export function readParam(r: ByteReader): ParamValue & { output: boolean } {
  const name = r.bVarchar().replace(/^@/, '');
  const status = r.u8();
  const { typeName, value } = decodeTyped(r);
  return { name, typeName, value, output: (status & 0x01) !== 0 };
}
