// What a script may leave in its session for a later step to rely on. A wave's steps borrow shared
// sessions, reset between borrows (engine/drivers/sql/server-sessions.ts: RESETCONNECTION puts the
// session back to its login's defaults: database, SET options, open transactions, session-owned
// app locks), so none of it reaches the next step or the step's verify there, while a single run's
// one session keeps it: the same runbook would act differently (attack r5conn finding 4). Pure:
// validate reports these as warnings. A scanner's reading, so deliberately broad: a name in a
// string or a comment is no match, a statement word is, wherever it is.
import { isTrivia, scanSql, type SqlToken } from './scanner.js';

/** SET options a later statement behaves by. NOCOUNT is left out: it changes no result a step reads. */
export const SESSION_OPTIONS = new Set([
  'ansi_defaults', 'ansi_null_dflt_off', 'ansi_null_dflt_on', 'ansi_nulls', 'ansi_padding', 'ansi_warnings', 'arithabort', 'arithignore',
  'concat_null_yields_null', 'context_info', 'cursor_close_on_commit', 'datefirst', 'dateformat', 'deadlock_priority', 'fmtonly',
  'forceplan', 'identity_insert', 'implicit_transactions', 'language', 'lock_timeout', 'numeric_roundabort', 'query_governor_cost_limit',
  'quoted_identifier', 'remote_proc_transactions', 'rowcount', 'textsize', 'transaction', 'xact_abort',
]);

const lower = (t: SqlToken | undefined) => (t?.kind === 'word' ? t.text.toLowerCase() : '');

/** What the script leaves in its session that a later step could rely on, each named for the operator; empty when nothing. */
export function sessionStateLeft(sql: string): string[] {
  const code = scanSql(sql).filter((t) => !isTrivia(t));
  const found = new Set<string>();
  let begun = 0;
  let ended = 0;
  let impersonated = false;
  let reverted = false;
  for (let i = 0; i < code.length; i++) {
    const w = lower(code[i]);
    const next = lower(code[i + 1]);
    if (w === 'use') found.add('USE (the database)');
    else if (w === 'set' && SESSION_OPTIONS.has(next) && code[i + 2]?.text !== '=') found.add(`SET ${next.toUpperCase()}`);
    else if (w === 'begin' && (next === 'tran' || next === 'transaction' || next === 'distributed')) begun++;
    else if (w === 'commit' || w === 'rollback') ended++;
    else if ((w === 'exec' || w === 'execute') && next === 'as') impersonated = true;
    else if (w === 'revert') reverted = true;
    else if (w === 'sp_getapplock' && code.some((t) => t.kind === 'string' && /^N?'session'$/i.test(t.text))) found.add("sp_getapplock with @LockOwner = 'Session' (the app lock)");
    else if (w === 'sp_set_session_context') found.add('sp_set_session_context');
    else if (w === 'sp_setapprole') found.add('sp_setapprole (an application role)');
  }
  if (begun > ended) found.add('BEGIN TRAN without its COMMIT (an open transaction)');
  if (impersonated && !reverted) found.add('EXECUTE AS without REVERT');
  return [...found];
}
