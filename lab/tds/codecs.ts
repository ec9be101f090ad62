// Value conversions shared by result encoding and parameter decoding: exact decimals, dates
// relative to the TDS epochs, and GUID byte order.
import type { CellValue } from './contract.js';

const MS_PER_DAY = 86_400_000;
/** 0001-01-01T00:00:00Z (date / datetime2 epoch). */
const EPOCH_0001 = -62_135_596_800_000;
/** 1900-01-01T00:00:00Z (datetime epoch). */
const EPOCH_1900 = -2_208_988_800_000;

/** Bytes of a numeric/decimal value (sign byte included) for a precision. */
export function numericLength(precision: number): number {
  if (precision <= 9) return 5;
  if (precision <= 19) return 9;
  if (precision <= 28) return 13;
  return 17;
}

const pow10 = (n: number): bigint => 10n ** BigInt(n);

/**
 * The value times 10^scale, exactly. A bigint is an integer value; a string is a decimal
 * literal; a number goes through its shortest decimal form, so 0.1 stays 0.1.
 */
export function toScaledInteger(value: CellValue, scale: number): bigint {
  if (typeof value === 'bigint') return value * pow10(scale);
  if (typeof value === 'boolean') return (value ? 1n : 0n) * pow10(scale);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`cannot encode ${value} as numeric`);
    if (Number.isInteger(value)) return BigInt(value) * pow10(scale);
    return toScaledInteger(value.toFixed(Math.min(100, scale + 1)), scale);
  }
  if (typeof value === 'string') {
    const m = /^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$/.exec(value);
    if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new RangeError(`not a decimal: ${JSON.stringify(value)}`);
    const [, sign, whole, frac = ''] = m;
    const kept = frac.slice(0, scale).padEnd(scale, '0');
    let n = BigInt((whole || '0') + kept);
    if ((frac[scale] ?? '0') >= '5') n += 1n; // round half away from zero, as SQL Server does
    return sign === '-' ? -n : n;
  }
  throw new RangeError(`cannot encode ${typeof value} as numeric`);
}

/** A scaled integer as a decimal string, e.g. (12345n, 2) → "123.45". */
export function scaledToDecimalString(n: bigint, scale: number): string {
  const negative = n < 0n;
  const digits = (negative ? -n : n).toString().padStart(scale + 1, '0');
  const text = scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return negative ? `-${text}` : text;
}

/** Magnitude as little-endian bytes of a fixed width. */
export function magnitudeBytes(n: bigint, width: number): Buffer {
  const out = Buffer.alloc(width);
  let rest = n < 0n ? -n : n;
  for (let i = 0; i < width; i++) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  if (rest !== 0n) throw new RangeError('numeric value too large for its precision');
  return out;
}

export function magnitudeFromBytes(b: Buffer): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

export function toDate(value: CellValue): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'string' || typeof value === 'number') return new Date(value);
  throw new RangeError(`cannot encode ${typeof value} as a date`);
}

/** Days since 0001-01-01 and the time of day in units of 10^-scale seconds (UTC). */
export function datetime2Parts(d: Date, scale: number): { days: number; units: number } {
  const ms = d.getTime() - EPOCH_0001;
  let days = Math.floor(ms / MS_PER_DAY);
  const msOfDay = ms - days * MS_PER_DAY;
  let units = scale >= 3 ? msOfDay * 10 ** (scale - 3) : Math.round(msOfDay / 10 ** (3 - scale));
  const perDay = 86_400 * 10 ** scale;
  if (units >= perDay) {
    units -= perDay;
    days += 1;
  }
  return { days, units };
}

export function dateFromDatetime2Parts(days: number, units: number, scale: number): Date {
  return new Date(EPOCH_0001 + days * MS_PER_DAY + Math.round((units * 1000) / 10 ** scale));
}

/** Bytes of a time value for a datetime2/time scale. */
export function timeLength(scale: number): number {
  return scale <= 2 ? 3 : scale <= 4 ? 4 : 5;
}

/** datetime: days since 1900-01-01 and 1/300-second ticks since midnight. */
export function datetimeParts(d: Date): { days: number; ticks: number } {
  const ms = d.getTime() - EPOCH_1900;
  let days = Math.floor(ms / MS_PER_DAY);
  let ticks = Math.round(((ms - days * MS_PER_DAY) * 3) / 10);
  if (ticks >= 300 * 86_400) {
    ticks = 0;
    days += 1;
  }
  return { days, ticks };
}

export function dateFromDatetimeParts(days: number, ticks: number): Date {
  return new Date(EPOCH_1900 + days * MS_PER_DAY + Math.round((ticks * 10) / 3));
}

/** GUID text ↔ wire bytes: the first three groups are little-endian on the wire. */
export function guidToBytes(text: string): Buffer {
  const hex = text.replace(/[{}-]/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError(`not a GUID: ${JSON.stringify(text)}`);
  const b = Buffer.from(hex, 'hex');
  return Buffer.concat([b.subarray(0, 4).reverse(), b.subarray(4, 6).reverse(), b.subarray(6, 8).reverse(), b.subarray(8)]);
}

export function guidFromBytes(b: Buffer): string {
  const c = Buffer.from(b);
  const hex = Buffer.concat([c.subarray(0, 4).reverse(), c.subarray(4, 6).reverse(), c.subarray(6, 8).reverse(), c.subarray(8)])
    .toString('hex')
    .toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
