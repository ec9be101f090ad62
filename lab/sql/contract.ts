// The boundary between the lab's T-SQL engine (lab/sql/: batches, variables, SELECT on SQLite
// over DMV tables, T-SQL errors) and the link model (lab/model/: what HADR statements do and
// what the DMVs contain). The engine knows SQL text; the model knows links.

import type { CellValue, ReplyItem, SqlMessage } from '../tds/contract.js';

/**
 * Rows of the lab's tables, keyed by their T-SQL name as a DBA writes it, e.g.
 * `sys.availability_groups`, `sys.dm_hadr_database_replica_states`, `msdb.dbo.backupset`,
 * `lab.statement_log`, `lab.ledger`. Column names are the real ones; values use CellValue
 * (numeric(25,0) LSNs as bigint).
 */
export type TableRows = Record<string, Array<Record<string, CellValue>>>;

/** Part of a table's rows: `key` names it among the table's parts, `version` moves whenever its rows may have. */
export interface TablePart {
  key: string;
  version: string;
  rows(): Array<Record<string, CellValue>>;
}

/** Thrown by hooks (and by the engine) to answer with a SQL Server error. */
export class SqlError extends Error {
  constructor(
    readonly number: number,
    message: string,
    readonly state = 1,
    readonly severity = 16,
  ) {
    super(message);
  }
}

export interface SessionInfo {
  sessionId: number;
  login: string;
  /** Current database (USE changes it). */
  database: string;
}

/**
 * Statements the engine cannot run on SQLite (ALTER AVAILABILITY GROUP, DROP AVAILABILITY GROUP,
 * BACKUP, sp_getapplock, ...). A hook returns undefined when the statement is not its own, reply
 * items when it handled it, or throws SqlError. `text` is one statement, trimmed, with comments
 * removed; `line` is its first line within the batch; `vars` are the session's @variables and the
 * request's parameters (names without '@').
 */
export type StatementHook = (
  text: string,
  ctx: { session: SessionInfo; line: number; vars: Record<string, CellValue> },
) => ReplyItem[] | undefined;

export interface SqlEngineOptions {
  serverName: string;
  /** `@@VERSION` text. */
  versionText: string;
  /** Minutes the server's local time is ahead of UTC: GETDATE/SYSDATETIME against GETUTCDATE/SYSUTCDATETIME (default 0). */
  utcOffsetMinutes?: number;
  /** `SERVERPROPERTY(name)` values, e.g. ProductVersion, ProductMajorVersion, Edition, EngineEdition. */
  serverProperties: Record<string, CellValue>;
  /** Databases that `USE` accepts (plus master/msdb). */
  databases: () => string[];
  /**
   * Current rows of the tables named (T-SQL names, lower case); called before a SELECT that reads
   * them when `version()` changed. Rows of other tables may come too and are ignored.
   */
  tables: (wanted: ReadonlySet<string>) => TableRows;
  /** A number that changes whenever the model changes, so tables are refreshed only then. */
  version: () => number;
  /**
   * The version of one table's rows (T-SQL name as TABLES spells it), asked right after
   * `version()`: when given, a table is reloaded only when its own rows may have changed (a login
   * changes the connections DMV, not the HADR views). Without it, every table follows `version()`.
   */
  versionOf?: (table: string) => number;
  /**
   * A table's rows in parts that change apart (a fleet server's table: each link's rows), each with
   * the version it would be built at, asked right after `version()`: when given, only the parts
   * whose version moved are built and reloaded (the others stay as loaded), in place of `tables`
   * for that table; its `versionOf` still says first whether any part may have moved. Rows come in
   * the parts' order.
   */
  tableParts?: (table: string) => TablePart[];
  hooks: StatementHook[];
}

export interface SqlEngine {
  /** Runs a whole batch (or sp_executesql statement) for a session. Never throws: errors are reply items. */
  execute(session: SessionInfo, sql: string, params: Record<string, CellValue>): ReplyItem[];
  /**
   * The same, run in two parts: the batch's top-level statements before the first one `pauseAt`
   * matches (its text), then, when `rest` is called, the rest of the batch. No `rest` when the
   * batch ended first (an error that ends it, RETURN) or nothing matches (then `items` is all of it).
   * How a statement that takes long (a slow fault, a long BACKUP or FAILOVER) takes its time when it
   * is reached, after the statements before it in its batch. `restStatements` are the texts of the
   * statements `rest` would run (the paused one first), for a request cancelled before it goes on.
   * `pausedOnly` runs the paused statement alone instead (one whose client went while it was under
   * way) and names the statements after it that then never run.
   */
  executeUntil?(session: SessionInfo, sql: string, params: Record<string, CellValue>, pauseAt: (statement: string) => boolean): {
    items: ReplyItem[];
    rest?: () => ReplyItem[];
    restStatements?: string[];
    pausedOnly?: () => { items: ReplyItem[]; notRun: string[] };
  };
  /**
   * A transaction begun, committed or rolled back by the protocol's TRANSACTION_MANAGER request
   * (MS-TDS 2.2.7.x, what tedious' beginTransaction sends) rather than by T-SQL: counted as
   * BEGIN TRAN / COMMIT / ROLLBACK are, so @@TRANCOUNT and the statements refused inside a
   * transaction see it.
   */
  transactionRequest?(session: SessionInfo, op: 'begin' | 'commit' | 'rollback'): void;
  close(): void;
}

export type { CellValue, ReplyItem, SqlMessage };
