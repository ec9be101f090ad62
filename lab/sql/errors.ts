// SQL Server error numbers and texts for what goes wrong in a batch, and the translation of
// SQLite's complaints into them (a DBA should never see "SQLITE_ERROR").
import { SqlError } from './contract.js';
import { tsqlNameOf } from './catalog.js';

/** A SqlError that knows the batch line it belongs to (0 = the statement's line). */
export type LinedError = SqlError & { line?: number };

export function sqlError(number: number, message: string, line?: number, severity = 16, state = 1): LinedError {
  const e = new SqlError(number, message, state, severity) as LinedError;
  if (line !== undefined) e.line = line;
  return e;
}

export const syntaxError = (near: string, line?: number) =>
  sqlError(102, `Incorrect syntax near '${near}'.`, line, 15);

export const mustDeclare = (name: string, line?: number) =>
  sqlError(137, `Must declare the scalar variable "${name}".`, line, 15, 2);

export const invalidObject = (name: string, line?: number) => sqlError(208, `Invalid object name '${name}'.`, line, 16);

export const notBuiltIn = (name: string, line?: number) =>
  sqlError(195, `'${name}' is not a recognized built-in function name.`, line, 15, 10);

/**
 * Errors after which SQL Server goes on with the next statement of the batch. Everything else
 * (compile errors such as 208/207 found when a statement is compiled, and any hook error of
 * severity >= 16) ends the batch.
 */
const STATEMENT_LEVEL = new Set([2812, 50000]);

export function abortsBatch(e: SqlError): boolean {
  if (STATEMENT_LEVEL.has(e.number)) return false;
  return e.severity >= 16 || e.severity === 15;
}

export interface NameMap {
  /** Storage name (lower case) -> the name as the statement wrote it. */
  tables: Map<string, string>;
  /** Rewritten function name (lower case) -> the name as written. */
  functions: Map<string, string>;
}

/** Maps a better-sqlite3 error (or a SqlError thrown by a UDF) to a SqlError. */
export function fromSqlite(err: unknown, names: NameMap): LinedError {
  if (err instanceof SqlError) return err as LinedError;
  const message = err instanceof Error ? err.message : String(err);
  let m: RegExpExecArray | null;
  if ((m = /^no such table: (?:main\.)?(.+)$/.exec(message))) {
    const key = m[1].toLowerCase();
    return invalidObject(names.tables.get(key) ?? tsqlNameOf(key) ?? m[1]);
  }
  if ((m = /^no such column: "?([^"]+?)"?(?: - should this be.*)?$/.exec(message))) {
    const col = m[1];
    if (col.includes('.')) return sqlError(4104, `The multi-part identifier "${col}" could not be bound.`);
    return sqlError(207, `Invalid column name '${col}'.`);
  }
  if ((m = /^no such function: (.+)$/.exec(message))) {
    return notBuiltIn(names.functions.get(m[1].toLowerCase()) ?? m[1]);
  }
  if ((m = /^ambiguous column name: (.+)$/.exec(message))) {
    return sqlError(209, `Ambiguous column name '${m[1].replace(/^.*\./, '')}'.`);
  }
  if ((m = /^wrong number of arguments to function (\w+)\(\)/.exec(message))) {
    const name = names.functions.get(m[1].toLowerCase()) ?? m[1];
    return sqlError(174, `The ${name.toLowerCase()} function requires a different number of arguments.`, undefined, 15);
  }
  if ((m = /^near "(.+)": syntax error$/s.exec(message))) return syntaxError(m[1]);
  if (/^incomplete input$/.test(message)) return sqlError(102, 'Incorrect syntax near the end of the statement.', undefined, 15);
  if ((m = /^unrecognized token: "(.+)"$/.exec(message))) return syntaxError(m[1]);
  if (/^(?:sub-select|SELECTs to the left and right of) .*(?:columns|result columns)/.test(message)) {
    return sqlError(205, 'All queries combined using a UNION, INTERSECT or EXCEPT operator must have an equal number of expressions in their target lists.');
  }
  // Anything else is a lab limitation, said plainly rather than dressed as a server error.
  return sqlError(50000, `The lab's T-SQL engine cannot run this statement: ${message}`, undefined, 16);
}
