// The T-SQL dialect tables the rewriter works from: which words are functions (and what SQLite
// calls them), which end a table reference, which table hints are dropped, how CAST targets map.
import type { CellValue } from './contract.js';
import type { SqlType } from '../tds/contract.js';

export const SCHEMAS = new Set(['sys', 'lab', 'dbo', 'information_schema']);
export const NOT_FUNCTIONS = new Set([
  'IN', 'EXISTS', 'AS', 'OVER', 'ON', 'AND', 'OR', 'NOT', 'WHERE', 'FROM', 'JOIN', 'SELECT', 'VALUES', 'WHEN',
  'THEN', 'ELSE', 'RETURN', 'INTO', 'BY', 'IS', 'LIKE', 'CASE', 'ALL', 'ANY', 'SOME', 'UNION', 'EXCEPT',
  'INTERSECT', 'WITH', 'APPLY', 'HAVING', 'BETWEEN', 'DISTINCT', 'END', 'USING', 'PARTITION', 'SET', 'IF',
]);
/** Words that end a table reference (so the word is not its alias). */
export const RESERVED = new Set([
  ...NOT_FUNCTIONS, 'INNER', 'LEFT', 'RIGHT', 'FULL', 'CROSS', 'OUTER', 'GROUP', 'ORDER', 'OPTION', 'FOR', 'TOP',
  'OFFSET', 'FETCH', 'LIMIT', 'WINDOW', 'PIVOT', 'UNPIVOT', 'TABLESAMPLE',
]);
export const TABLE_HINTS = new Set([
  'NOLOCK', 'READUNCOMMITTED', 'READCOMMITTED', 'REPEATABLEREAD', 'SERIALIZABLE', 'HOLDLOCK', 'UPDLOCK',
  'ROWLOCK', 'PAGLOCK', 'TABLOCK', 'TABLOCKX', 'NOWAIT', 'READPAST', 'XLOCK', 'READCOMMITTEDLOCK', 'INDEX', 'FORCESEEK',
]);
/** Words that start a query hint in `OPTION (...)`: they change the plan, never the answer. */
export const QUERY_HINTS = new Set([
  'RECOMPILE', 'MAXDOP', 'OPTIMIZE', 'FORCE', 'KEEP', 'KEEPFIXED', 'FAST', 'LOOP', 'HASH', 'MERGE', 'CONCAT',
  'ORDER', 'EXPAND', 'ROBUST', 'MAXRECURSION', 'USE', 'NO_PERFORMANCE_SPOOL', 'QUERYTRACEON', 'MAX_GRANT_PERCENT',
  'MIN_GRANT_PERCENT', 'IGNORE_NONCLUSTERED_COLUMNSTORE_INDEX', 'DISABLE', 'LABEL',
]);
/**
 * T-SQL function -> SQLite function (same name when native, TSQL_* for the lab's UDFs).
 * STRING_AGG (SQL Server 2017+): "concatenates the values of string expressions and places
 * separator values between them ... null values are ignored" (string-agg-transact-sql.md);
 * SQLite's string_agg does the same. WITHIN GROUP is not modelled.
 */
export const FUNCTIONS: Record<string, string> = {
  STRING_AGG: 'STRING_AGG',
  COUNT: 'COUNT', COUNT_BIG: 'COUNT', SUM: 'SUM', MIN: 'MIN', MAX: 'MAX', AVG: 'AVG', COALESCE: 'COALESCE',
  NULLIF: 'NULLIF', IIF: 'IIF', ABS: 'ABS', ROUND: 'ROUND', UPPER: 'UPPER', LOWER: 'LOWER', LTRIM: 'LTRIM',
  RTRIM: 'RTRIM', TRIM: 'TRIM', REPLACE: 'REPLACE', SUBSTRING: 'SUBSTRING', CONCAT: 'CONCAT', FLOOR: 'FLOOR',
  CEILING: 'CEIL', SIGN: 'SIGN', POWER: 'POWER', SQRT: 'SQRT', ROW_NUMBER: 'ROW_NUMBER', RANK: 'RANK',
  DENSE_RANK: 'DENSE_RANK', NTILE: 'NTILE', LAG: 'LAG', LEAD: 'LEAD', FIRST_VALUE: 'FIRST_VALUE',
  LAST_VALUE: 'LAST_VALUE', ISNULL: 'IFNULL', CAST: 'CAST',
  LEN: 'TSQL_LEN', LEFT: 'TSQL_LEFT', RIGHT: 'TSQL_RIGHT', CHARINDEX: 'TSQL_CHARINDEX', REPLICATE: 'TSQL_REPLICATE',
  DATALENGTH: 'TSQL_DATALENGTH', ISNUMERIC: 'TSQL_ISNUMERIC', GETDATE: 'TSQL_GETDATE', GETUTCDATE: 'TSQL_GETUTCDATE',
  SYSDATETIME: 'TSQL_GETDATE', SYSUTCDATETIME: 'TSQL_GETUTCDATE', NEWID: 'TSQL_NEWID', DB_NAME: 'TSQL_DB_NAME',
  DB_ID: 'TSQL_DB_ID', SERVERPROPERTY: 'TSQL_SERVERPROPERTY', SUSER_SNAME: 'TSQL_SUSER_SNAME',
  SUSER_NAME: 'TSQL_SUSER_SNAME', ORIGINAL_LOGIN: 'TSQL_SUSER_SNAME', HOST_NAME: 'TSQL_HOST_NAME',
  DATEADD: 'TSQL_DATEADD', DATEDIFF: 'TSQL_DATEDIFF', DATEPART: 'TSQL_DATEPART', NCHAR: 'TSQL_NCHAR',
};
/** Functions whose value is text: a `+` next to a call of one joins strings. */
export const STRING_FUNCTIONS = new Set(['NCHAR']);
export const DATE_UNIT_FUNCTIONS = new Set(['DATEADD', 'DATEDIFF', 'DATEPART']);
/** CAST targets SQLite cannot express with its own CAST: wrapped in a UDF instead. */
export const CAST_UDF: Record<string, string> = { bit: 'TSQL_BIT', datetime: 'TSQL_DATETIME', datetime2: 'TSQL_DATETIME', uniqueidentifier: 'TSQL_GUID' };
/** CONVERT(<character type>, x, 126): x's date and time in ISO8601. */
export const ISO8601_UDF = 'TSQL_ISO8601';

export function sqliteCastType(t: SqlType): string {
  switch (t.type) {
    case 'nvarchar':
      return 'TEXT';
    case 'numeric':
      return t.scale === 0 ? 'INTEGER' : 'REAL';
    case 'float':
      return 'REAL';
    case 'varbinary':
      return 'BLOB';
    default:
      return 'INTEGER';
  }
}

export function literal(v: CellValue): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return `'${v.replace(/'/g, "''")}'`;
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return `'${v.toISOString().replace('T', ' ').replace('Z', '')}'`;
  return `X'${v.toString('hex')}'`;
}

