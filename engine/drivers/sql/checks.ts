// What the engine decides from a script's text, read with its one T-SQL scanner (engine/drivers/sql/scanner.ts):
// whether `plan --probe` may send it (a plain read), and whether a batch is one statement (so a
// server error on it means nothing in it took effect). Both err on the safe side: text the
// scanner cannot close (an unterminated string, identifier or comment) is neither.
import { describeToken, isTrivia, scanSql, unterminatedToken, type SqlToken } from './scanner.js';
import { splitBatches } from './batches.js';

/**
 * SQL Server's reserved keywords (MicrosoftDocs/sql-docs, reserved-keywords-transact-sql.md).
 * Outside strings and quoted identifiers such a word is grammar, never a name ("you can do this
 * only by using delimited identifiers"), so a plain read may hold one only where a SELECT puts it.
 */
const RESERVED = new Set([
  'add', 'all', 'alter', 'and', 'any', 'as', 'asc', 'authorization', 'backup', 'begin', 'between', 'break', 'browse',
  'bulk', 'by', 'cascade', 'case', 'check', 'checkpoint', 'close', 'clustered', 'coalesce', 'collate', 'column',
  'commit', 'compute', 'constraint', 'contains', 'containstable', 'continue', 'convert', 'create', 'cross', 'current',
  'current_date', 'current_time', 'current_timestamp', 'current_user', 'cursor', 'database', 'dbcc', 'deallocate',
  'declare', 'default', 'delete', 'deny', 'desc', 'disk', 'distinct', 'distributed', 'double', 'drop', 'dump', 'else',
  'end', 'errlvl', 'escape', 'except', 'exec', 'execute', 'exists', 'exit', 'external', 'fetch', 'file', 'fillfactor',
  'for', 'foreign', 'freetext', 'freetexttable', 'from', 'full', 'function', 'goto', 'grant', 'group', 'having',
  'holdlock', 'identity', 'identity_insert', 'identitycol', 'if', 'in', 'index', 'inner', 'insert', 'intersect', 'into',
  'is', 'join', 'key', 'kill', 'left', 'like', 'lineno', 'load', 'merge', 'national', 'nocheck', 'nonclustered', 'not',
  'null', 'nullif', 'of', 'off', 'offsets', 'on', 'open', 'opendatasource', 'openquery', 'openrowset', 'openxml',
  'option', 'or', 'order', 'outer', 'over', 'percent', 'pivot', 'plan', 'precision', 'primary', 'print', 'proc',
  'procedure', 'public', 'raiserror', 'read', 'readtext', 'reconfigure', 'references', 'replication', 'restore',
  'restrict', 'return', 'revert', 'revoke', 'right', 'rollback', 'rowcount', 'rowguidcol', 'rule', 'save', 'schema',
  'securityaudit', 'select', 'semantickeyphrasetable', 'semanticsimilaritydetailstable', 'semanticsimilaritytable',
  'session_user', 'set', 'setuser', 'shutdown', 'some', 'statistics', 'system_user', 'table', 'tablesample', 'textsize',
  'then', 'to', 'top', 'tran', 'transaction', 'trigger', 'truncate', 'try_convert', 'tsequal', 'union', 'unique',
  'unpivot', 'update', 'updatetext', 'use', 'user', 'values', 'varying', 'view', 'waitfor', 'when', 'where', 'while',
  'with', 'writetext',
]);

/**
 * The reserved words a plain SELECT is built from (SELECT ... FROM ... JOIN ... WHERE ... GROUP BY
 * ... HAVING ... ORDER BY, set operators, CTEs, subqueries, CASE, CAST/CONVERT, window functions,
 * OFFSET ... FETCH, FOR XML/JSON, OPTION hints, table value constructors). Everything else that is
 * reserved (INTO, SET, EXEC, WHILE, IF, GOTO, RAISERROR, OPEN, ADD, BEGIN, ...) is not a read.
 */
const SELECT_WORDS = new Set([
  'select', 'with', 'as', 'from', 'where', 'group', 'by', 'having', 'order', 'asc', 'desc', 'union', 'all', 'except',
  'intersect', 'distinct', 'top', 'percent', 'join', 'inner', 'left', 'right', 'full', 'outer', 'cross', 'on', 'and',
  'or', 'not', 'in', 'is', 'null', 'like', 'escape', 'between', 'exists', 'any', 'some', 'case', 'when', 'then', 'else',
  'end', 'convert', 'try_convert', 'coalesce', 'nullif', 'collate', 'over', 'pivot', 'unpivot', 'tablesample', 'for',
  'of', 'option', 'values', 'current', 'fetch', 'current_timestamp', 'current_date', 'current_time', 'current_user',
  'session_user', 'system_user', 'user',
]);

/**
 * Words that are not reserved but begin statements (THROW; the Service Broker conversation
 * statements MOVE, RECEIVE, SEND, GET; ENABLE/DISABLE TRIGGER; Synapse's COPY and RENAME): in a
 * read they could only be a name or the start of another statement, so they count as the latter.
 */
const STATEMENT_WORDS = new Set(['throw', 'move', 'receive', 'send', 'get', 'enable', 'disable', 'copy', 'rename']);

/** Line breaks other than CR and LF: the documentation does not say whether they end a `--` comment. */
const OTHER_BREAK = /[\u0085\u2028\u2029]/;

const lower = (t: SqlToken) => t.text.toLowerCase();

/** A `--` comment holding a line break whose meaning there is not documented, or undefined. */
function undocumentedCommentEnd(tokens: readonly SqlToken[]): string | undefined {
  const comment = tokens.find((t) => t.kind === 'lineComment' && OTHER_BREAK.test(t.text));
  if (!comment) return undefined;
  const c = comment.text.match(OTHER_BREAK)![0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  return `a -- comment on line ${comment.line} holds U+${c}, and whether SQL Server ends the comment there is not documented`;
}

/** Why a batch is not a plain SELECT, or undefined: the allow-list, read with the scanner. */
function notASelect(tokens: readonly SqlToken[]): string | undefined {
  const code = tokens.filter((t) => !isTrivia(t));
  if (code.length === 0) return undefined;
  // The statement's first token, not its first word: a batch whose first statement names a
  // procedure runs it without EXECUTE, and a bracketed or quoted name (`[dbo].[usp_x] 1`,
  // `"dbo"."p"`) is no word ("Execute a stored procedure": the EXECUTE keyword "isn't required"
  // when the procedure is the first statement in the batch, MicrosoftDocs/sql-docs,
  // execute-a-stored-procedure.md). Only `;` (as in `;WITH`) and `(` may come before SELECT or WITH.
  const head = code.find((t) => t.text !== ';' && t.text !== '(')!;
  if (!head) return 'it has no statement, only punctuation';
  if (head.kind !== 'word') {
    const shown = head.text.length > 40 ? `${head.text.slice(0, 40)}...` : head.text;
    const name = head.kind === 'bracketed' || head.kind === 'quoted';
    return `it does not start with SELECT (${shown}${name ? ': a name first in a batch is a procedure call, which runs without EXEC' : ''})`;
  }
  const first = lower(head);
  if (first !== 'select' && first !== 'with') return `it does not start with SELECT (${first.toUpperCase()})`;
  let caseDepth = 0;
  for (let i = 0; i < code.length; i++) {
    const t = code[i]!;
    // `name:` is a GOTO label: a statement boundary no SELECT has (`::` is a scope, as in geography::Point).
    if (t.text === ':' && code[i - 1]?.text !== ':' && code[i + 1]?.text !== ':') return 'it has a label (name:), which a plain read does not';
    if (t.kind !== 'word') continue;
    const w = lower(t);
    const prev = code[i - 1];
    const shown = w.toUpperCase();
    if (/^(sp|xp)_/.test(w)) return `it contains ${shown}, which a plain read does not`;
    // NEXT VALUE FOR advances a sequence: a write hidden in an expression.
    if (w === 'next' && code[i + 1] && lower(code[i + 1]!) === 'value' && code[i + 2] && lower(code[i + 2]!) === 'for') {
      return 'it contains NEXT VALUE FOR, which advances a sequence';
    }
    if (STATEMENT_WORDS.has(w)) return `it contains ${shown}, which a plain read does not`;
    if (!RESERVED.has(w)) continue; // a name: a column, a table, a function, a type
    if (!SELECT_WORDS.has(w)) return `it contains ${shown}, which a plain read does not`;
    if (w === 'case') caseDepth++;
    else if (w === 'end' || w === 'else') {
      // END CONVERSATION, IF ... ELSE: only a CASE may hold them.
      if (caseDepth === 0) return `it contains ${shown} outside a CASE, which a plain read does not`;
      if (w === 'end') caseDepth--;
    } else if (w === 'fetch') {
      // OFFSET ... ROWS FETCH NEXT ... ROWS ONLY; a FETCH anywhere else reads a cursor.
      const before = prev?.kind === 'word' ? lower(prev) : '';
      if (before !== 'rows' && before !== 'row') return 'it contains FETCH outside OFFSET ... FETCH, which a plain read does not';
    }
  }
  return undefined;
}

/**
 * Undefined when every batch is a plain read; otherwise why the probe will not send it. An
 * allow-list: every statement must be a SELECT (or WITH ... SELECT) made only of the words a
 * SELECT can hold; whatever else a batch may do is not a read. A SELECT can still call a
 * user-defined function, and a CLR function could write: a read step's SQL is the author's.
 */
export function readOnlyProblem(sql: unknown): string | undefined {
  if (typeof sql !== 'string') return 'the script is not known yet';
  let batches;
  try {
    batches = splitBatches(sql);
  } catch (error) {
    return `the script cannot be split into batches (${(error as Error).message.replace(/\.$/, '')})`;
  }
  const all = scanSql(sql);
  const open = unterminatedToken(all);
  if (open) return `it has an unterminated ${describeToken(open)} (line ${open.line}), so where its text ends is not certain`;
  const comment = undocumentedCommentEnd(all);
  if (comment) return comment;
  for (const batch of batches) {
    const problem = notASelect(scanSql(batch.text));
    if (problem) return problem;
  }
  return undefined;
}

/**
 * Statements that either take effect whole or not at all. THROW only raises its error: alone in a
 * batch, an error from it means nothing took effect.
 */
export const ATOMIC_START = new Set(['alter', 'create', 'drop', 'insert', 'update', 'delete', 'merge', 'truncate', 'grant', 'revoke', 'deny', 'backup', 'restore', 'select', 'throw']);

/** Words that can begin a T-SQL statement (`WITH` is left out: it also continues one). */
export const STATEMENT_START = new Set([
  'alter', 'create', 'drop', 'exec', 'execute', 'insert', 'update', 'delete', 'merge', 'backup', 'restore', 'dbcc',
  'kill', 'grant', 'revoke', 'deny', 'truncate', 'set', 'use', 'declare', 'begin', 'commit', 'rollback', 'save',
  'select', 'if', 'else', 'while', 'waitfor', 'print', 'raiserror', 'throw', 'return', 'goto', 'open', 'close',
  'fetch', 'deallocate', 'bulk', 'checkpoint', 'reconfigure', 'shutdown', 'receive', 'send', 'end', 'enable',
  'disable', 'revert', 'setuser', 'readtext', 'writetext', 'updatetext', 'break', 'continue', 'move', 'get', 'add',
  'copy', 'rename',
]);

/** ADD SIGNATURE, ADD COUNTER SIGNATURE, ADD SENSITIVITY CLASSIFICATION: statements of their own, never part of an ALTER. */
const ADD_STATEMENTS = new Set(['signature', 'counter', 'sensitivity']);

const SET_OPERATORS = new Set(['union', 'all', 'except', 'intersect']);

/**
 * Whether a batch holds one statement, so a server error on it means nothing in it took effect.
 * SQL Server needs no `;` between statements (`ALTER ... FAILOVER DROP ...` on one line is two),
 * and a statement-level error does not stop the rest of a batch, so this is conservative: a `;`
 * other than a last one, or any word that can begin a statement where the first statement's own
 * grammar does not put it, makes the batch "more than one". Procedure calls and control flow
 * (EXEC, IF, BEGIN...) are never "one": the error may come after some work.
 */
export function isSingleStatement(batch: string): boolean {
  const all = scanSql(batch);
  if (unterminatedToken(all) || undocumentedCommentEnd(all)) return false;
  const code = all.filter((t) => !isTrivia(t));
  while (code.length > 0 && code.at(-1)!.text === ';') code.pop();
  if (code.length === 0 || code.some((t) => t.text === ';')) return false;
  const first = code[0]!;
  const verb = lower(first);
  if (first.kind !== 'word' || !ATOMIC_START.has(verb)) return false;

  let depth = 0;
  let caseDepth = 0;
  let setSeen = false;
  let addSeen = false;
  let valuesSeen = false;
  let topLevelSelects = verb === 'select' ? 1 : 0;
  /** GRANT/REVOKE/DENY name permissions (SELECT, ALTER, EXECUTE...) until ON or TO. */
  let inPermissions = verb === 'grant' || verb === 'revoke' || verb === 'deny';
  for (let i = 1; i < code.length; i++) {
    const t = code[i]!;
    if (t.text === '(') depth++;
    else if (t.text === ')') depth = Math.max(0, depth - 1);
    if (t.kind !== 'word') continue;
    const w = lower(t);
    const prev = code[i - 1]!;
    const prevWord = prev.kind === 'word' ? lower(prev) : undefined;
    if (w === 'case') caseDepth++;
    if (w === 'values' && depth === 0) valuesSeen = true;
    if (w === 'add' && code[i + 1]?.kind === 'word' && ADD_STATEMENTS.has(lower(code[i + 1]!))) return false;
    if (w === 'add' && verb === 'alter' && !addSeen) {
      // ALTER TABLE t ADD ..., ALTER AVAILABILITY GROUP g ADD DATABASE ...; a second ADD may be ADD SIGNATURE.
      addSeen = true;
      continue;
    }
    if (inPermissions && (w === 'on' || w === 'to')) inPermissions = false;
    if (!STATEMENT_START.has(w) || inPermissions) continue;
    if (w === 'end' && caseDepth > 0) {
      caseDepth--;
      continue;
    }
    if (w === 'else' && caseDepth > 0) continue;
    if (w === 'select') {
      // A subquery, a set operation, or the one SELECT of INSERT ... SELECT.
      if (prev.text === '(' || (prevWord !== undefined && SET_OPERATORS.has(prevWord))) continue;
      if (depth === 0 && verb === 'insert' && topLevelSelects === 0 && !valuesSeen) {
        topLevelSelects++;
        continue;
      }
      return false;
    }
    if (w === 'set') {
      // The one SET of UPDATE t SET, ALTER ... SET (options), ALTER DATABASE name SET option,
      // MERGE ... UPDATE SET; any other SET may be a statement of its own.
      const own =
        (verb === 'update' && !setSeen) ||
        (verb === 'alter' && !setSeen && (code[i + 1]?.text === '(' || (i === 3 && lower(code[1]!) === 'database'))) ||
        (verb === 'merge' && prevWord === 'update');
      if (!own) return false;
      setSeen = true;
      continue;
    }
    if ((w === 'update' || w === 'delete' || w === 'insert') && verb === 'merge' && prevWord === 'then') continue;
    // ON DELETE / ON UPDATE referential actions in CREATE/ALTER TABLE.
    if ((w === 'update' || w === 'delete') && prevWord === 'on' && (verb === 'create' || verb === 'alter')) continue;
    // OFFSET ... ROWS FETCH NEXT ... ROWS ONLY; RESTORE ... WITH MOVE; OPTION (USE HINT (...)).
    if (w === 'fetch' && (prevWord === 'rows' || prevWord === 'row')) continue;
    if (w === 'move' && verb === 'restore') continue;
    if (w === 'use' && (prev.text === '(' || prev.text === ',')) continue;
    return false;
  }
  return true;
}
