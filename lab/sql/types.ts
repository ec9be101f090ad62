// Result typing: T-SQL type names -> TDS column types, and SQLite values -> CellValues of
// that type, so a numeric(25,0) LSN leaves as an exact bigint and a bit as a boolean.
import type { CellValue, Column, SqlType } from '../tds/contract.js';
import { SqlError } from './contract.js';

/** Parses a declared T-SQL type (`nvarchar(128)`, `NUMERIC(25,0)`, `sysname`); undefined if unknown. */
export function parseSqlType(text: string): SqlType | undefined {
  const m = /^\s*(\w+)\s*(?:\(\s*(\w+)\s*(?:,\s*(\d+)\s*)?\))?\s*$/.exec(text);
  if (!m) return undefined;
  const base = m[1].toLowerCase();
  const arg = m[2]?.toLowerCase();
  const len = (dflt: number): number | 'max' => (arg === 'max' ? 'max' : arg ? Number(arg) : dflt);
  switch (base) {
    case 'int':
    case 'integer':
      return { type: 'int' };
    case 'bigint':
      return { type: 'bigint' };
    case 'smallint':
      return { type: 'smallint' };
    case 'tinyint':
      return { type: 'tinyint' };
    case 'bit':
      return { type: 'bit' };
    case 'float':
    case 'real':
      return { type: 'float' };
    case 'varchar':
    case 'nvarchar':
    case 'char':
    case 'nchar':
      return { type: 'nvarchar', length: len(base.endsWith('char') && !base.includes('var') ? 1 : 30) };
    case 'text':
    case 'ntext':
      return { type: 'nvarchar', length: 'max' };
    case 'sysname':
      return { type: 'nvarchar', length: 128 };
    case 'varbinary':
    case 'binary':
      return { type: 'varbinary', length: len(30) };
    case 'numeric':
    case 'decimal':
      return { type: 'numeric', precision: arg ? Number(arg) : 18, scale: m[3] ? Number(m[3]) : 0 };
    case 'uniqueidentifier':
      return { type: 'uniqueidentifier' };
    case 'datetime':
    case 'smalldatetime':
      return { type: 'datetime' };
    case 'datetime2':
      return { type: 'datetime2', scale: arg ? Number(arg) : 7 };
    case 'date':
      return { type: 'datetime2', scale: 0 };
    default:
      return undefined;
  }
}

/** `DECLARE @x <type>` and `CAST(x AS <type>)` accept only types SQL Server has: else 2715/243. */
export function requireSqlType(text: string, line: number): SqlType {
  const t = parseSqlType(text);
  if (!t) throw Object.assign(new SqlError(243, `Type ${text.replace(/\s*\(.*$/, '')} is not a defined system type.`), { line });
  return t;
}

function parseStoredDate(v: string): Date {
  const iso = v.includes('T') ? v : v.replace(' ', 'T');
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : iso + 'Z');
}

const INT32_MIN = -2147483648n;
const INT32_MAX = 2147483647n;
const STORED_DATE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/;

/** Converts one SQLite value to the CellValue a column of `t` carries. */
export function convertValue(v: unknown, t: SqlType): CellValue {
  if (v === null || v === undefined) return null;
  switch (t.type) {
    case 'int':
    case 'smallint':
    case 'tinyint':
      return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? Math.trunc(v) : Number(v);
    case 'bigint':
      return typeof v === 'bigint' ? v : typeof v === 'number' ? BigInt(Math.trunc(v)) : BigInt(String(v));
    case 'numeric':
      if (t.scale === 0) {
        if (typeof v === 'bigint') return v;
        if (typeof v === 'number') return BigInt(Math.round(v));
        return /^-?\d+$/.test(String(v)) ? BigInt(String(v)) : String(v);
      }
      return typeof v === 'number' ? v.toFixed(t.scale) : String(v);
    case 'bit':
      return typeof v === 'bigint' ? v !== 0n : typeof v === 'number' ? v !== 0 : v === '1' || String(v).toLowerCase() === 'true';
    case 'float':
      return Number(v);
    case 'nvarchar':
    case 'uniqueidentifier':
      return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
    case 'datetime':
    case 'datetime2':
      return typeof v === 'string' ? parseStoredDate(v) : new Date(Number(v));
    case 'varbinary':
      return Buffer.isBuffer(v) ? v : Buffer.from(String(v));
  }
}

/**
 * The type of a computed column (no declared type), from its values: integers are int unless
 * one is outside int32, text that looks like a stored datetime is datetime2(3).
 */
export function inferType(values: unknown[]): { sqlType: SqlType; nullable: boolean } {
  let sawInt = false;
  let big = false;
  let float = false;
  let text = false;
  let dates = 0;
  let blob = false;
  let maxLen = 1;
  let nulls = false;
  for (const v of values) {
    if (v === null || v === undefined) nulls = true;
    else if (typeof v === 'bigint') {
      sawInt = true;
      if (v < INT32_MIN || v > INT32_MAX) big = true;
    } else if (typeof v === 'number') {
      if (Number.isInteger(v) && Math.abs(v) <= 2147483647) sawInt = true;
      else float = true;
    } else if (typeof v === 'string') {
      text = true;
      if (STORED_DATE.test(v)) dates++;
      maxLen = Math.max(maxLen, v.length);
    } else if (Buffer.isBuffer(v)) blob = true;
  }
  const nullable = nulls || values.length === 0;
  if (blob) return { sqlType: { type: 'varbinary', length: 'max' }, nullable };
  if (text) {
    const count = values.filter((v) => typeof v === 'string').length;
    if (dates === count && !sawInt && !float) return { sqlType: { type: 'datetime2', scale: 3 }, nullable };
    return { sqlType: { type: 'nvarchar', length: maxLen > 4000 ? 'max' : 4000 }, nullable };
  }
  if (float) return { sqlType: { type: 'float' }, nullable };
  if (big) return { sqlType: { type: 'bigint' }, nullable };
  if (sawInt) return { sqlType: { type: 'int' }, nullable };
  return { sqlType: { type: 'nvarchar', length: 4000 }, nullable: true };
}

/** Builds a result set's columns and converts its rows in place. */
export function typeResult(
  names: string[],
  declared: Array<{ sqlType: SqlType; nullable: boolean } | undefined>,
  rows: unknown[][],
): { columns: Column[]; rows: CellValue[][] } {
  const columns: Column[] = names.map((name, i) => {
    const d = declared[i] ?? inferType(rows.map((r) => r[i]));
    return { name, sqlType: d.sqlType, nullable: d.nullable };
  });
  for (const row of rows) {
    for (let i = 0; i < columns.length; i++) {
      const v = row[i];
      const t = columns[i].sqlType;
      // A mixed computed column (e.g. CASE giving text or a number) is sent as text.
      row[i] = t.type === 'nvarchar' && v !== null && typeof v !== 'string' ? String(v) : convertValue(v, t);
    }
  }
  return { columns, rows: rows as CellValue[][] };
}
