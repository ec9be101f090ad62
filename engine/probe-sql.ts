// Whether a T-SQL script is a plain read that `plan --probe` may send. A runbook author declares
// `impact: read` on sqlExec; the probe does not take that on trust: every batch must be a SELECT
// (or a WITH ... SELECT) with no word that writes, runs code, or changes the session.
import { splitBatches } from './sql-batches.js';

const WRITES = new Set([
  'insert', 'update', 'delete', 'merge', 'alter', 'drop', 'create', 'backup', 'restore', 'exec', 'execute',
  'grant', 'deny', 'revoke', 'truncate', 'into', 'dbcc', 'kill', 'shutdown', 'reconfigure', 'waitfor', 'use',
  'set', 'begin', 'commit', 'rollback', 'save', 'openrowset', 'openquery', 'opendatasource', 'bulk', 'declare',
  'receive', 'send', 'checkpoint', 'readtext', 'writetext', 'updatetext',
]);

/** Comments, string literals and quoted identifiers removed, so their words do not count. */
export function stripNonCode(sql: string): string {
  return sql
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/--[^\n]*/g, ' ')
    .replace(/N?'(?:[^']|'')*'/g, "''")
    .replace(/\[(?:[^\]]|\]\])*\]/g, '[x]')
    .replace(/"(?:[^"]|"")*"/g, '"x"');
}

/** Undefined when every batch is a plain read; otherwise why the probe will not send it. */
export function readOnlyProblem(sql: unknown): string | undefined {
  if (typeof sql !== 'string') return 'the script is not known yet';
  let batches;
  try {
    batches = splitBatches(sql);
  } catch (error) {
    return `the script cannot be split into batches (${(error as Error).message.replace(/\.$/, '')})`;
  }
  for (const batch of batches) {
    const code = stripNonCode(batch.text);
    const words = code.toLowerCase().match(/[a-z_@#][a-z0-9_@#$]*/g) ?? [];
    if (words.length === 0) continue;
    if (words[0] !== 'select' && words[0] !== 'with') return `it does not start with SELECT (${words[0]!.toUpperCase()})`;
    const bad = words.find((w) => WRITES.has(w) || /^(sp|xp)_/.test(w));
    if (bad) return `it contains ${bad.toUpperCase()}, which a plain read does not`;
  }
  return undefined;
}

/** Statements that either take effect whole or not at all. */
const ATOMIC_START = new Set(['alter', 'create', 'drop', 'insert', 'update', 'delete', 'merge', 'truncate', 'grant', 'revoke', 'deny', 'backup', 'restore', 'select']);

/** Words that begin a statement when they start a line (`WITH` is left out: it also continues one). */
const STATEMENT_START = new Set([
  'alter', 'create', 'drop', 'exec', 'execute', 'insert', 'update', 'delete', 'merge', 'backup', 'restore', 'dbcc',
  'kill', 'grant', 'revoke', 'deny', 'truncate', 'set', 'use', 'declare', 'begin', 'commit', 'rollback', 'save',
  'select', 'if', 'else', 'while', 'waitfor', 'print', 'raiserror', 'throw', 'return', 'goto', 'open', 'close',
  'fetch', 'deallocate', 'bulk', 'checkpoint', 'reconfigure', 'shutdown', 'receive', 'send', 'end',
]);

/**
 * Whether a batch holds one statement, so a server error on it means nothing in it took effect.
 * Conservative: a `;` between statements, or a second line starting with a statement word, makes
 * it "more than one" (a statement-level error does not stop the rest of a batch). Procedure calls
 * and control flow (EXEC, IF, BEGIN...) are never "one": the error may come after some work.
 */
export function isSingleStatement(batch: string): boolean {
  const code = stripNonCode(batch).trim().replace(/;\s*$/, '');
  if (code === '' || code.includes(';')) return false;
  const first = /^([A-Za-z_]+)/.exec(code)?.[1]?.toLowerCase();
  if (first === undefined || !ATOMIC_START.has(first)) return false;
  const starts = code.split('\n').filter((line) => {
    const word = /^\s*([A-Za-z_]+)/.exec(line)?.[1]?.toLowerCase();
    return word !== undefined && STATEMENT_START.has(word);
  });
  return starts.length <= 1;
}
