// What the engine decides from a script's text, read with its one T-SQL scanner (engine/drivers/sql/scanner.ts):
// whether `plan --probe` may send it (a plain read), and whether a batch is one statement (so a
// server error on it means nothing in it took effect). Both err on the safe side: text the
// scanner cannot close (an unterminated string, identifier or comment) is neither.
import { describeToken, isTrivia, scanSql, unterminatedToken, type SqlToken } from './scanner.js';
import { splitBatches } from './batches.js';

/** Words that write, run code, or change the session: never in a plain read. */
const WRITES = new Set([
  'insert', 'update', 'delete', 'merge', 'alter', 'drop', 'create', 'backup', 'restore', 'exec', 'execute',
  'grant', 'deny', 'revoke', 'truncate', 'into', 'dbcc', 'kill', 'shutdown', 'reconfigure', 'waitfor', 'use',
  'set', 'begin', 'commit', 'rollback', 'save', 'openrowset', 'openquery', 'opendatasource', 'bulk', 'declare',
  'receive', 'send', 'checkpoint', 'readtext', 'writetext', 'updatetext', 'enable', 'disable', 'revert', 'setuser',
]);

const lower = (t: SqlToken) => t.text.toLowerCase();

/** Undefined when every batch is a plain read; otherwise why the probe will not send it. */
export function readOnlyProblem(sql: unknown): string | undefined {
  if (typeof sql !== 'string') return 'the script is not known yet';
  let batches;
  try {
    batches = splitBatches(sql);
  } catch (error) {
    return `the script cannot be split into batches (${(error as Error).message.replace(/\.$/, '')})`;
  }
  const open = unterminatedToken(scanSql(sql));
  if (open) return `it has an unterminated ${describeToken(open)} (line ${open.line}), so where its text ends is not certain`;
  for (const batch of batches) {
    const words = scanSql(batch.text).filter((t) => t.kind === 'word').map(lower);
    if (words.length === 0) continue;
    if (words[0] !== 'select' && words[0] !== 'with') return `it does not start with SELECT (${words[0]!.toUpperCase()})`;
    const bad = words.find((w) => WRITES.has(w) || /^(sp|xp)_/.test(w));
    if (bad) return `it contains ${bad.toUpperCase()}, which a plain read does not`;
    // NEXT VALUE FOR advances a sequence: a write hidden in an expression.
    const next = words.findIndex((w, i) => w === 'next' && words[i + 1] === 'value' && words[i + 2] === 'for');
    if (next >= 0) return 'it contains NEXT VALUE FOR, which advances a sequence';
  }
  return undefined;
}

/** Statements that either take effect whole or not at all. */
const ATOMIC_START = new Set(['alter', 'create', 'drop', 'insert', 'update', 'delete', 'merge', 'truncate', 'grant', 'revoke', 'deny', 'backup', 'restore', 'select']);

/** Words that can begin a T-SQL statement (`WITH` is left out: it also continues one). */
const STATEMENT_START = new Set([
  'alter', 'create', 'drop', 'exec', 'execute', 'insert', 'update', 'delete', 'merge', 'backup', 'restore', 'dbcc',
  'kill', 'grant', 'revoke', 'deny', 'truncate', 'set', 'use', 'declare', 'begin', 'commit', 'rollback', 'save',
  'select', 'if', 'else', 'while', 'waitfor', 'print', 'raiserror', 'throw', 'return', 'goto', 'open', 'close',
  'fetch', 'deallocate', 'bulk', 'checkpoint', 'reconfigure', 'shutdown', 'receive', 'send', 'end', 'enable',
  'disable', 'revert', 'setuser', 'readtext', 'writetext', 'updatetext', 'break', 'continue', 'move', 'get', 'add',
]);

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
  if (unterminatedToken(all)) return false;
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
