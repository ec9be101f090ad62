// Where a dotted name the rewriter meets points: `schema.table`, `db.schema.table` and `db..table`
// become the storage table that holds it (an unknown one a `nowhere__` name SQLite reports as
// missing, mapped back to what was written for the message); `table.column` style names are quoted.
import { storageName } from './catalog.js';
import { SCHEMAS } from './dialect.js';
import { type NameMap, sqlError } from './errors.js';

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The session's view of databases, as the rewriter's context holds it. */
export interface NameScope {
  /** The session's current database (decides what `dbo.x` means). */
  database: string;
  /** Known database names, lower case. */
  databases: Set<string>;
}

/** `schema.table` (or `db.schema.table`, `db..table`) -> storage name, recorded for messages. */
function tableName(scope: NameScope, names: NameMap, db: string | undefined, schema: string, table: string, written: string): string {
  const dbl = (db ?? scope.database).toLowerCase();
  const sch = schema.toLowerCase() || 'dbo';
  let store: string;
  if (sch === 'sys' || sch === 'lab') store = storageName(`${sch}.${table}`);
  else if (sch === 'dbo' && dbl === 'msdb') store = storageName(`msdb.dbo.${table}`);
  else store = `nowhere__${dbl}__${sch}__${table}`.toLowerCase();
  if (db !== undefined && !scope.databases.has(dbl)) store = `nowhere__${dbl}__${sch}__${table}`.toLowerCase();
  names.tables.set(store, written);
  return store;
}

/**
 * What the dotted name `parts` (as `written`) becomes: a storage table, a quoted `table.column`,
 * or undefined when it stays as written (e.g. `alias.column`). Four-part names on another server
 * are error 7202.
 */
export function resolveDottedName(
  parts: string[],
  written: string,
  line: number,
  scope: NameScope,
  names: NameMap,
): { replacement: string | undefined; isTable: boolean } {
  const p0 = parts[0].toLowerCase();
  if (parts.length === 2 && SCHEMAS.has(p0)) return { replacement: tableName(scope, names, undefined, parts[0], parts[1], written), isTable: true };
  if (parts.length === 3 && SCHEMAS.has(p0)) return { replacement: `${quoteIdent(parts[1])}.${quoteIdent(parts[2])}`, isTable: false };
  if (parts.length === 3) return { replacement: tableName(scope, names, parts[0], parts[1], parts[2], written), isTable: true };
  if (parts.length === 4 && scope.databases.has(p0)) return { replacement: `${quoteIdent(parts[2])}.${quoteIdent(parts[3])}`, isTable: false };
  if (parts.length >= 4) throw sqlError(7202, `Could not find server '${parts[0]}' in sys.servers. Verify that the correct server name was specified.`, line);
  return { replacement: undefined, isTable: false };
}
