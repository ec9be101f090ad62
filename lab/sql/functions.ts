// T-SQL built-in functions as SQLite UDFs. They read a plain JS snapshot of the server and
// session state taken before each statement, never the SQLite connection that is running
// the statement (better-sqlite3 refuses re-entrant use: "connection is busy").
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { CellValue } from './contract.js';
import { formatDateTime, toSqlite } from './catalog.js';
import { sqlError } from './errors.js';

export interface FunctionState {
  database: string;
  login: string;
  serverName: string;
  serverProperties: Record<string, CellValue>;
  /** name -> database_id, lower-case names. */
  databaseIds: Map<string, { name: string; id: number }>;
}

const SYSTEM_DBS: Array<[string, number]> = [['master', 1], ['tempdb', 2], ['model', 3], ['msdb', 4]];

/** The last answer, for the same two arrays: asked before every query, and a fleet server's lists grow with its links. */
let lastIds: { userDbs: string[]; rows: Array<Record<string, CellValue>> | undefined; ids: FunctionState['databaseIds'] } | undefined;

export function databaseIds(userDbs: string[], rows: Array<Record<string, CellValue>> | undefined): FunctionState['databaseIds'] {
  if (lastIds?.userDbs === userDbs && lastIds.rows === rows) return lastIds.ids;
  const ids = buildDatabaseIds(userDbs, rows);
  lastIds = { userDbs, rows, ids };
  return ids;
}

function buildDatabaseIds(userDbs: string[], rows: Array<Record<string, CellValue>> | undefined): FunctionState['databaseIds'] {
  const ids = new Map<string, { name: string; id: number }>();
  for (const [name, id] of SYSTEM_DBS) ids.set(name, { name, id });
  let next = 5;
  for (const name of userDbs) if (!ids.has(name.toLowerCase())) ids.set(name.toLowerCase(), { name, id: next++ });
  for (const row of rows ?? []) {
    if (typeof row.name === 'string' && row.database_id !== null && row.database_id !== undefined) {
      ids.set(row.name.toLowerCase(), { name: row.name, id: Number(row.database_id) });
    }
  }
  return ids;
}

const UNITS: Record<string, string> = {
  year: 'year', yy: 'year', yyyy: 'year', quarter: 'quarter', qq: 'quarter', q: 'quarter', month: 'month',
  mm: 'month', m: 'month', day: 'day', dd: 'day', d: 'day', dayofyear: 'day', dy: 'day', y: 'day', week: 'week',
  wk: 'week', ww: 'week', hour: 'hour', hh: 'hour', minute: 'minute', mi: 'minute', n: 'minute', second: 'second',
  ss: 'second', s: 'second', millisecond: 'millisecond', ms: 'millisecond',
};
const MS: Record<string, number> = { week: 604800000, day: 86400000, hour: 3600000, minute: 60000, second: 1000, millisecond: 1 };

function unitOf(u: unknown): string {
  const unit = UNITS[String(u).toLowerCase()];
  if (!unit) throw sqlError(155, `'${String(u)}' is not a recognized datepart option.`, undefined, 15);
  return unit;
}

function toDate(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'bigint') return new Date(Number(v));
  const s = String(v).trim();
  const d = new Date(/^\d{4}-\d\d-\d\d$/.test(s) ? s + 'T00:00:00Z' : /[zZ]|[+-]\d\d:\d\d$/.test(s) ? s.replace(' ', 'T') : s.replace(' ', 'T') + 'Z');
  if (Number.isNaN(d.getTime())) throw sqlError(241, 'Conversion failed when converting date and/or time from character string.');
  return d;
}

/** Boundaries crossed between a and b in `unit`, as SQL Server's DATEDIFF counts them. */
function dateDiff(unit: string, a: Date, b: Date): number {
  if (unit === 'year') return b.getUTCFullYear() - a.getUTCFullYear();
  if (unit === 'quarter') return (b.getUTCFullYear() - a.getUTCFullYear()) * 4 + Math.floor(b.getUTCMonth() / 3) - Math.floor(a.getUTCMonth() / 3);
  if (unit === 'month') return (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + b.getUTCMonth() - a.getUTCMonth();
  const size = MS[unit];
  return Math.floor(b.getTime() / size) - Math.floor(a.getTime() / size);
}

function dateAdd(unit: string, n: number, d: Date): Date {
  const r = new Date(d.getTime());
  if (unit === 'year') r.setUTCFullYear(r.getUTCFullYear() + n);
  else if (unit === 'quarter') r.setUTCMonth(r.getUTCMonth() + 3 * n);
  else if (unit === 'month') r.setUTCMonth(r.getUTCMonth() + n);
  else r.setTime(r.getTime() + n * MS[unit]);
  return r;
}

const text = (v: unknown): string | null => (v === null || v === undefined ? null : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

export function registerFunctions(db: Database.Database, state: () => FunctionState, utcOffsetMinutes = 0): void {
  const fn = (name: string, impl: (...args: any[]) => unknown, deterministic = true) =>
    db.function(name, { deterministic, varargs: true, safeIntegers: true }, impl as (...args: unknown[]) => unknown);
  const argc = (name: string, args: unknown[], min: number, max = min) => {
    if (args.length < min || args.length > max) {
      throw sqlError(174, `The ${name} function requires ${min === max ? min : `${min} to ${max}`} argument(s).`, undefined, 15);
    }
  };
  fn('TSQL_LEN', (...a) => (argc('len', a, 1), a[0] === null ? null : text(a[0])!.replace(/ +$/, '').length));
  fn('TSQL_DATALENGTH', (...a) => (argc('datalength', a, 1), a[0] === null ? null : Buffer.isBuffer(a[0]) ? a[0].length : Buffer.byteLength(text(a[0])!, 'utf16le')));
  fn('TSQL_LEFT', (...a) => (argc('left', a, 2), a[0] === null ? null : text(a[0])!.slice(0, Math.max(0, Number(a[1])))));
  fn('TSQL_RIGHT', (...a) => {
    argc('right', a, 2);
    if (a[0] === null) return null;
    const n = Math.max(0, Number(a[1]));
    const s = text(a[0])!;
    return n === 0 ? '' : s.slice(-n);
  });
  fn('TSQL_CHARINDEX', (...a) => {
    argc('charindex', a, 2, 3);
    if (a[0] === null || a[1] === null) return null;
    const start = a[2] === undefined || a[2] === null ? 0 : Math.max(0, Number(a[2]) - 1);
    return text(a[1])!.toLowerCase().indexOf(text(a[0])!.toLowerCase(), start) + 1;
  });
  // NCHAR (sql-docs nchar-transact-sql.md): the lab's collation has no supplementary-character
  // flag, so 0 through 0xFFFF give that character and anything else NULL. What `str` writes for a
  // line break: (N'a' + NCHAR(10) + N'b').
  fn('TSQL_NCHAR', (...a) => {
    argc('nchar', a, 1);
    if (a[0] === null) return null;
    const n = Number(a[0]);
    return Number.isInteger(n) && n >= 0 && n <= 0xffff ? String.fromCharCode(n) : null;
  });
  fn('TSQL_REPLICATE', (...a) => (argc('replicate', a, 2), a[0] === null ? null : text(a[0])!.repeat(Math.max(0, Number(a[1])))));
  fn('TSQL_ISNUMERIC', (...a) => (argc('isnumeric', a, 1), a[0] !== null && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(text(a[0])!) ? 1 : 0));
  // The server's local time (a managed instance's timezoneId) and UTC.
  fn('TSQL_GETDATE', (...a) => (argc('getdate', a, 0), formatDateTime(new Date(Date.now() + utcOffsetMinutes * 60_000))), false);
  fn('TSQL_GETUTCDATE', (...a) => (argc('getutcdate', a, 0), formatDateTime(new Date())), false);
  fn('TSQL_NEWID', (...a) => (argc('newid', a, 0), randomUUID().toUpperCase()), false);
  fn('TSQL_DB_NAME', (...a) => {
    argc('db_name', a, 0, 1);
    const s = state();
    if (a.length === 0 || a[0] === null) return a.length === 0 ? s.database : null;
    const id = Number(a[0]);
    for (const d of s.databaseIds.values()) if (d.id === id) return d.name;
    return null;
  }, false);
  fn('TSQL_DB_ID', (...a) => {
    argc('db_id', a, 0, 1);
    const s = state();
    const name = a.length === 0 ? s.database : text(a[0]);
    return name === null ? null : s.databaseIds.get(name.toLowerCase())?.id ?? null;
  }, false);
  fn('TSQL_SERVERPROPERTY', (...a) => {
    argc('serverproperty', a, 1);
    const s = state();
    const key = text(a[0])?.toLowerCase();
    if (key === 'servername') return s.serverName;
    const found = Object.entries(s.serverProperties).find(([k]) => k.toLowerCase() === key);
    return found ? toSqlite(found[1]) : null;
  }, false);
  fn('TSQL_SUSER_SNAME', (...a) => (argc('suser_sname', a, 0, 1), state().login), false);
  fn('TSQL_HOST_NAME', (...a) => (argc('host_name', a, 0), 'lab-client'), false);
  fn('TSQL_DATEADD', (...a) => {
    argc('dateadd', a, 3);
    const d = toDate(a[2]);
    return d === null || a[1] === null ? null : formatDateTime(dateAdd(unitOf(a[0]), Number(a[1]), d));
  });
  fn('TSQL_DATEDIFF', (...a) => {
    argc('datediff', a, 3);
    const x = toDate(a[1]);
    const y = toDate(a[2]);
    return x === null || y === null ? null : dateDiff(unitOf(a[0]), x, y);
  });
  fn('TSQL_DATEPART', (...a) => {
    argc('datepart', a, 2);
    const d = toDate(a[1]);
    if (d === null) return null;
    const u = unitOf(a[0]);
    const parts: Record<string, number> = {
      year: d.getUTCFullYear(), quarter: Math.floor(d.getUTCMonth() / 3) + 1, month: d.getUTCMonth() + 1,
      day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(),
      millisecond: d.getUTCMilliseconds(), week: Math.ceil(((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400000 + 1) / 7),
    };
    return parts[u];
  });
  fn('TSQL_BIT', (...a) => {
    argc('cast', a, 1);
    const v = a[0];
    if (v === null) return null;
    if (typeof v === 'string') {
      const s = v.trim().toLowerCase();
      if (s === 'true') return 1;
      if (s === 'false') return 0;
      if (!/^[-+]?\d+(\.\d*)?$/.test(s)) throw sqlError(245, `Conversion failed when converting the varchar value '${v}' to data type bit.`);
      return Number(s) !== 0 ? 1 : 0;
    }
    return Number(v) !== 0 ? 1 : 0;
  });
  fn('TSQL_DATETIME', (...a) => {
    argc('cast', a, 1);
    const d = toDate(a[0]);
    return d === null ? null : formatDateTime(d);
  });
  // CONVERT style 126 (sql-docs cast-and-convert-transact-sql.md, "Date and time styles"):
  // yyyy-mm-ddThh:mi:ss.mmm, no spaces, and no fraction when it is zero. The lab's times have
  // milliseconds (SQL Server's datetime2 shows its own precision, e.g. seven digits for
  // SYSDATETIME()); anything that is not a date and time stays as it is.
  fn('TSQL_ISO8601', (...a) => {
    argc('convert', a, 1);
    const value = text(a[0]);
    const m = value === null ? null : /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)?$/.exec(value);
    if (!m) return value;
    return `${m[1]}T${m[2]}${m[3] && /[1-9]/.test(m[3]) ? m[3] : ''}`;
  });
  fn('TSQL_GUID', (...a) => {
    argc('cast', a, 1);
    if (a[0] === null) return null;
    const s = text(a[0])!.trim();
    if (!/^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$/i.test(s)) {
      throw sqlError(8169, 'Conversion failed when converting from a character string to uniqueidentifier.');
    }
    return s.replace(/[{}]/g, '').toUpperCase();
  });
}
