// One batch being run: its tokens, its variables (batch-scoped, as in T-SQL), the reply items,
// and the SQLite side (refresh, rewrite, prepare, bind, type the result).
import type Database from 'better-sqlite3';
import type { CellValue, ReplyItem, SessionInfo, SqlEngineOptions } from './contract.js';
import type { SqlType } from '../tds/contract.js';
import type { Token } from './lexer.js';
import { type Catalog, columnDef, toSqlite, tsqlNameOf } from './catalog.js';
import { type LinedError, type NameMap, fromSqlite, mustDeclare, sqlError } from './errors.js';
import { type FunctionState, databaseIds } from './functions.js';
import { type Rewritten, rewrite } from './rewrite.js';
import { convertValue, parseSqlType, typeResult } from './types.js';

export interface Variable {
  name: string; // as declared, with @
  type?: SqlType;
  value: CellValue;
}

export interface SessionState {
  trancount: number;
  /** SET XACT_ABORT ON (lab/sql/transaction-rules.ts). */
  xactAbort?: boolean;
}

/** Shared by every batch of one engine. */
export interface EngineParts {
  opts: SqlEngineOptions;
  db: Database.Database;
  catalog: Catalog;
  setFunctionState(s: FunctionState): void;
  prepare(sql: string): Database.Statement;
}

export class BatchRun {
  readonly items: ReplyItem[] = [];
  readonly vars = new Map<string, Variable>();
  rowcount = 0;
  lastError = 0;

  constructor(
    readonly parts: EngineParts,
    readonly session: SessionInfo,
    readonly state: SessionState,
    readonly sql: string,
    readonly tokens: Token[],
    params: Record<string, CellValue>,
  ) {
    for (const [name, value] of Object.entries(params)) {
      const key = '@' + name.replace(/^@/, '');
      this.vars.set(key.toLowerCase(), { name: key, value });
    }
  }

  varsForHooks(): Record<string, CellValue> {
    const out: Record<string, CellValue> = {};
    for (const v of this.vars.values()) out[v.name.slice(1)] = v.value;
    return out;
  }

  setVar(name: string, value: unknown, line: number): void {
    const v = this.vars.get(name.toLowerCase());
    if (!v) throw mustDeclare(name, line);
    v.value = coerce(value, v.type, line);
  }

  globals(): Map<string, CellValue> {
    const o = this.parts.opts;
    return new Map<string, CellValue>([
      ['@@SERVERNAME', o.serverName],
      ['@@VERSION', o.versionText],
      ['@@SPID', this.session.sessionId],
      ['@@ROWCOUNT', this.rowcount],
      ['@@TRANCOUNT', this.state.trancount],
      ['@@ERROR', this.lastError],
      ['@@LANGUAGE', 'us_english'],
      ['@@SERVICENAME', 'MSSQLSERVER'],
      ['@@DATEFIRST', 7],
      ['@@LOCK_TIMEOUT', -1],
      ['@@TEXTSIZE', 2147483647],
      ['@@MAX_CONNECTIONS', 32767],
      ['@@IDENTITY', null],
    ]);
  }

  /** Brings the tables the statement reads up to the model's version and snapshots the state UDFs may read. */
  private prepareState(names: NameMap): void {
    const { opts, catalog } = this.parts;
    catalog.refresh([...names.tables.keys()].flatMap((store) => tsqlNameOf(store) ?? []));
    this.parts.setFunctionState({
      database: this.session.database,
      login: this.session.login,
      serverName: opts.serverName,
      serverProperties: opts.serverProperties,
      databaseIds: databaseIds(opts.databases(), catalog.rows()['sys.databases']),
    });
  }

  knownDatabases(): Map<string, string> {
    const names = ['master', 'tempdb', 'model', 'msdb', ...this.parts.opts.databases()];
    return new Map(names.map((n) => [n.toLowerCase(), n]));
  }

  private rewriteRange(from: number, to: number): Rewritten {
    const vars = new Map<string, CellValue>();
    for (const [k, v] of this.vars) vars.set(k, v.value);
    return rewrite(this.tokens, from, to, {
      database: this.session.database,
      databases: new Set(this.knownDatabases().keys()),
      globals: this.globals(),
      vars,
    });
  }

  private bind(rw: Rewritten, line: number): Record<string, unknown> {
    const bound: Record<string, unknown> = {};
    for (const p of rw.params) {
      const v = this.vars.get('@' + p);
      if (!v) throw mustDeclare('@' + p, line);
      bound[p] = toSqlite(v.value);
    }
    return bound;
  }

  /** Runs SQLite over rewritten text; `wrap` turns the rewritten range into the full query. */
  private query(from: number, to: number, line: number, wrap = (s: string) => s): { rw: Rewritten; stmt: Database.Statement; rows: unknown[][] } {
    const rw = this.rewriteRange(from, to);
    this.prepareState(rw.names);
    let stmt: Database.Statement;
    try {
      stmt = this.parts.prepare(wrap(rw.sql));
    } catch (e) {
      throw this.locate(fromSqlite(e, rw.names), from, to, line);
    }
    if (!stmt.reader) throw sqlError(50000, "The lab's T-SQL engine only reads; this statement would change data.", line);
    try {
      return { rw, stmt, rows: stmt.all(this.bind(rw, line)) as unknown[][] };
    } catch (e) {
      throw this.locate(fromSqlite(e, rw.names), from, to, line);
    }
  }

  /** Puts a syntax error on the line of the token it names, when that token is in the statement. */
  private locate(e: LinedError, from: number, to: number, line: number): LinedError {
    if (e.line === undefined) {
      e.line = line;
      const near = /^Incorrect syntax near '(.*)'\.$/.exec(e.message)?.[1]?.toLowerCase();
      if (near) for (let i = from; i < to; i++) if (this.tokens[i].text.toLowerCase() === near) return ((e.line = this.tokens[i].line), e);
    }
    return e;
  }

  /** A SELECT (or CTE) statement: a result set, or variable assignments. */
  select(from: number, to: number, line: number): void {
    const { rw, stmt, rows } = this.query(from, to, line);
    this.rowcount = rows.length;
    if (rw.assigns.length > 0) {
      const last = rows[rows.length - 1];
      if (last) rw.assigns.forEach((name, i) => this.setVar(name, last[i], line));
      return;
    }
    const cols = stmt.columns();
    const hints = rw.hints.length === cols.length ? rw.hints : [];
    const declared = cols.map((c, i) => {
      const def = columnDef(c.table, c.column);
      const t = def && parseSqlType(def.type);
      if (t) return { sqlType: t, nullable: def.nullable };
      return hints[i] ? { sqlType: hints[i]!, nullable: true } : undefined;
    });
    const result = typeResult(cols.map((c) => c.name), declared, rows);
    this.items.push({ kind: 'rows', columns: result.columns, rows: result.rows });
  }

  /** Evaluates tokens[from..to) as one scalar expression. */
  evaluate(from: number, to: number, line: number): unknown {
    return this.query(from, to, line, (s) => `SELECT ${s}`).rows[0]?.[0] ?? null;
  }

  /** Evaluates a search condition (`EXISTS (...)`, `@x = 1`, ...). */
  condition(from: number, to: number, line: number): boolean {
    const v = this.query(from, to, line, (s) => `SELECT CASE WHEN ${s} THEN 1 ELSE 0 END`).rows[0]?.[0];
    return v === 1n || v === 1;
  }
}

/** Assigns a value to a typed variable the way T-SQL converts it (loosely). */
export function coerce(value: unknown, type: SqlType | undefined, line: number): CellValue {
  if (value === null || value === undefined) return null;
  if (!type) return typeof value === 'bigint' && value >= -2147483648n && value <= 2147483647n ? Number(value) : (value as CellValue);
  if ((type.type === 'int' || type.type === 'bigint' || type.type === 'smallint' || type.type === 'tinyint') && typeof value === 'string') {
    if (!/^\s*[-+]?\d+\s*$/.test(value)) {
      throw sqlError(245, `Conversion failed when converting the varchar value '${value}' to data type ${type.type}.`, line);
    }
  }
  if (type.type === 'nvarchar' && typeof value !== 'string') value = value instanceof Date ? value.toISOString() : String(value);
  const v = convertValue(value, type);
  if (type.type === 'nvarchar' && typeof v === 'string' && type.length !== 'max') return v.slice(0, type.length);
  return v;
}
