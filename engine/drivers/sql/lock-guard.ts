// The lock check a T-SQL change carries to the server. The run's lock is held by its lock session
// and its changes go out on a step session, so a check made on the lock session before a change
// says nothing about the instant the change runs: a KILL of the lock session in between would let
// it run with no session holding the lock. So each change batch begins with the check, run by the
// server in the same batch: unless this run's lock session still holds the link's app lock, THROW,
// which ends the batch before any of its own statements run ("If a TRY...CATCH construct is not
// available, the statement batch is terminated", MicrosoftDocs/sql-docs, throw-transact-sql.md).
//
// The lock session is named by its session_id and its connection_id together, both read by the
// lock session itself when it took the lock: a session id is given again to a later connection once
// its session ends, a connection_id "identifies each connection uniquely" (sys-dm-exec-connections-
// transact-sql.md). The lock is found in sys.dm_tran_locks (sys-dm-tran-locks-transact-sql.md):
// resource_type APPLICATION in master, owned by the SESSION, mode X, granted, and a
// resource_description of `<DbPrincipalId>:<upto 32 characters>:(<hash_value>)` whose characters are
// the start of the lock's name (the principal is public, 0). Only 32 characters of the name are
// shown and the hash is the server's own, so two lock names alike in their first 32 characters
// cannot be told apart here; the session and connection must match too, and a run's lock session
// holds only its own link's lock (a wave's shared session holds other links' locks, each under its
// own name, and lets go of one only when that link's run ends: engine/drivers/sql/shared-lock-sessions.ts).
// request_status: "Possible values are GRANTED, CONVERT, WAIT, LOW_PRIORITY_CONVERT,
// LOW_PRIORITY_WAIT, or ABORT_BLOCKERS" (sys-dm-tran-locks-transact-sql.md, re-read in round 6). GRANT
// is accepted too: no Microsoft page was found that shows it, but servers are reported to show it
// for a granted request, and no documented status is spelled so that it could mean anything else.
//
// Permissions (re-read in round 6): the pages of both views say "On SQL Server [and SQL Managed
// Instance], requires VIEW SERVER STATE permission" (sys-dm-tran-locks-transact-sql.md,
// sys-dm-exec-connections-transact-sql.md), which the runbooks' LSN reads
// (sys.dm_hadr_database_replica_states) need anyway. Neither page, as stored, has the "SQL Server
// 2022 and later: VIEW SERVER PERFORMANCE STATE" paragraph that other DMV pages have (e.g.
// sys-dm-exec-requests, sys-dm-tran-active-transactions); the messages name that permission as
// what 2022 would most likely ask for by that pattern, next to VIEW SERVER STATE, which covers it
// either way. The lock session reads its identity from sys.dm_exec_connections when it takes the lock;
// a login that may not read it gets no identity, and then no T-SQL change is sent at all (a
// refusal, never a pass). Should the check itself fail when it runs, the count it assigns stays
// NULL and the THROW follows: a check that cannot be made refuses.
//
// Some statements must be the first of their batch (MicrosoftDocs/sql-docs, "Batches": CREATE
// DEFAULT, FUNCTION, PROCEDURE, RULE, SCHEMA, TRIGGER and VIEW "cannot be combined with other
// statements in a batch"; ALTER of a module the same; and a procedure called without EXEC only as
// the first statement). Such a batch gets the check as a batch of its own on the same session right
// before it: a KILL between the two batches is not caught by the server, only by the run's
// end-of-session handling afterwards (README, "One operator per link").
import type { ConnectionPool } from 'mssql';
import type { ChangeGuard, ReplicaSide } from '../../core/types.js';
import { LOCK_NOT_HELD_ERROR, reservedSqlProblems } from './change-sql-rules.js';
import { runSql } from './pool.js';
import { guardedBatches } from './guarded-batches.js';

/** The lock session, as the server names it. */
export interface LockSessionIdentity {
  sessionId: number;
  connectionId: string;
}

// The error number the check THROWs with lives with the rules that reserve it (validate loads those, no driver).
export { LOCK_NOT_HELD_ERROR };
export { guardedBatches, mustStartItsBatch } from './guarded-batches.js';

/** Run by the lock session on itself, right after it took the lock. */
export const IDENTITY_QUERY = `SELECT session_id, connection_id FROM sys.dm_exec_connections WHERE session_id = @@SPID AND parent_connection_id IS NULL;`;

const GUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

/** The identity a row of IDENTITY_QUERY gives; undefined when the row is missing or malformed. */
export function identityFrom(row: Record<string, unknown> | undefined): LockSessionIdentity | undefined {
  const sessionId = Number(row?.session_id);
  const connectionId = String(row?.connection_id ?? '');
  if (!Number.isInteger(sessionId) || sessionId <= 0 || !GUID.test(connectionId)) return undefined;
  return { sessionId, connectionId: connectionId.toUpperCase() };
}

/** Run on the lock session right after it took the lock: its identity, or why it could not be read. */
export async function readLockSessionIdentity(pool: ConnectionPool): Promise<LockSessionIdentity | string> {
  try {
    const row = ((await runSql(pool, IDENTITY_QUERY)).recordset ?? [])[0] as Record<string, unknown> | undefined;
    return identityFrom(row) ?? 'sys.dm_exec_connections showed no row for it';
  } catch (error) {
    return `reading sys.dm_exec_connections failed: ${(error as Error).message.replace(/\.$/, '')}`;
  }
}

/** Why no change may go when the lock session's identity could not be read (`why`). */
export const UNNAMED_SESSION = (why: string) =>
  `the server could not name the lock's session for the check a change carries (${why}); it needs VIEW SERVER STATE (SQL Server 2022 and later: VIEW SERVER PERFORMANCE STATE), as the runbook's LSN reads do`;

/**
 * One side's guard for one step. `named`: the lock session the check names now, or why no change
 * may go to `side`; `refusedByServer`: the server's check found the lock not held (the lock is
 * then handled as lost), with the words for why; `lost`: a signal that aborts once the lock on
 * `side` is known lost (what the batches are sent under).
 */
export function changeGuardFor(
  side: ReplicaSide,
  resource: string,
  named: () => LockSessionIdentity | string,
  refusedByServer: (why: string) => void,
  lost?: () => AbortSignal,
): ChangeGuard {
  let checked: LockSessionIdentity | undefined;
  return {
    batches(batch) {
      const identity = named();
      if (typeof identity === 'string') return { refused: identity };
      // What would make the server skip the check (SET NOEXEC ...) or mimic its refusal (THROW 59317), as sqlExec refuses it.
      const reserved = reservedSqlProblems(batch, true)[0];
      if (reserved) return { refused: reserved.message };
      checked = identity;
      return { send: guardedBatches(batch, lockCheckSql(resource, identity)), ...(lost ? { lost: lost() } : {}) };
    },
    check() {
      const identity = named();
      if (typeof identity === 'string') return undefined;
      checked = identity;
      return { text: lockCheckSql(resource, identity), ...(lost ? { lost: lost() } : {}) };
    },
    refused(error) {
      const answer = checked ? lockCheckAnswer(error, resource, checked) : undefined;
      if (!answer) return undefined;
      const session = ` (session ${checked!.sessionId})`;
      // The check could not be made (it needs VIEW SERVER STATE): the lock is not known lost, so
      // it is not handled as lost (a re-take on the same live session would be a re-entrant grant).
      if ('couldNotCheck' in answer) {
        return `the server could not make the lock check on ${side} (${answer.couldNotCheck}); it needs VIEW SERVER STATE (SQL Server 2022 and later: VIEW SERVER PERFORMANCE STATE) on sys.dm_tran_locks and sys.dm_exec_connections, so the server ran none of the batch`;
      }
      // The check named a lock session the run has since replaced (its loss was heard and the lock
      // taken again while the batch was on its way): that loss is handled already, and handling it
      // again would record a second loss and take the lock once more on the new session (a
      // re-entrant grant; attack r5lock finding 7). A check naming the current session is news.
      if (sameSession(named(), checked!)) refusedByServer(`the server's check at the head of a change batch found it not held by the lock session${session}`);
      return `the link lock on ${side} was not held by this run's lock session${session} when the batch reached the server, so the server ran none of it`;
    },
  };
}

function sameSession(now: LockSessionIdentity | string, then: LockSessionIdentity): boolean {
  return typeof now !== 'string' && now.sessionId === then.sessionId && now.connectionId === then.connectionId;
}

/** The message the check THROWs: what tells its refusal from a 59317 of anyone else's. */
function checkMessage(resource: string, identity: LockSessionIdentity): string {
  return `runbook: the link lock ${resource} is not held by this run's lock session (session ${identity.sessionId}, connection ${identity.connectionId}); nothing of this batch was run.`;
}

const nstring = (text: string) => `N'${text.replace(/'/g, "''")}'`;

/**
 * The check, on one line (the batch's line numbers stay those of the script) and ending with `;`:
 * THROWs LOCK_NOT_HELD_ERROR unless `identity` holds `resource` exclusively in master.
 */
export function lockCheckSql(resource: string, identity: LockSessionIdentity): string {
  const message = checkMessage(resource, identity);
  return [
    `DECLARE @runbook_link_lock_held int; SELECT @runbook_link_lock_held = COUNT(*) ${heldBy(resource, identity)};`,
    `IF ISNULL(@runbook_link_lock_held, 0) = 0 THROW ${LOCK_NOT_HELD_ERROR}, ${nstring(message)}, 1;`,
  ].join(' ');
}

/** FROM ... WHERE: the rows that show `identity` holding `resource` exclusively in master. */
function heldBy(resource: string, identity: LockSessionIdentity): string {
  const shown = resource.slice(0, 32);
  const description = `(CHARINDEX(${nstring(`0:[${shown}]:`)}, l.resource_description) = 1 OR CHARINDEX(${nstring(`0:${shown}:(`)}, l.resource_description) = 1)`;
  return [
    'FROM sys.dm_tran_locks AS l JOIN sys.dm_exec_connections AS c ON c.session_id = l.request_session_id',
    `WHERE l.request_session_id = ${identity.sessionId} AND c.connection_id = '${identity.connectionId}' AND l.resource_type = N'APPLICATION'`,
    `AND l.resource_database_id = DB_ID(N'master') AND l.request_owner_type = N'SESSION' AND l.request_mode = N'X'`,
    `AND l.request_status IN (N'GRANTED', N'GRANT') AND ${description}`,
  ].join(' ');
}

/**
 * Whether the server still shows `identity` (an earlier lock session of this run) holding
 * `resource`: a server that has not yet noticed a session end keeps its locks. False when it cannot
 * be told.
 */
export async function stillHolds(pool: ConnectionPool, resource: string, identity: LockSessionIdentity): Promise<boolean> {
  try {
    const row = ((await runSql(pool, `SELECT COUNT(*) AS held ${heldBy(resource, identity)};`)).recordset ?? [])[0] as Record<string, unknown> | undefined;
    return Number(row?.held) > 0;
  } catch {
    return false;
  }
}

/** The check at the head of a batch as lockCheckSql writes it (its closing `, 1;` ends it). */
const CHECK_AT_HEAD = new RegExp(`^DECLARE @runbook_link_lock_held int; [\\s\\S]*? THROW ${LOCK_NOT_HELD_ERROR}, N'(?:[^']|'')*', 1;(?: |$)`);

/**
 * A sent batch without the check at its head: what the runbook wrote, as the journal records it
 * (as it records a parameterized batch without mssql's sp_executesql around it). A batch that was
 * only the check gives ''.
 */
export function withoutLockCheck(sent: string): string {
  return sent.replace(CHECK_AT_HEAD, '');
}

interface ServerError {
  number?: unknown;
  lineNumber?: unknown;
  procName?: unknown;
  message?: unknown;
}

/**
 * What a server's error (mssql's, with the errors it came after) says about the check: undefined
 * when it is not the check's refusal. The check's THROW is told by all of: its number, its exact
 * message (which names this lock session), line 1 of the batch (the check is on line 1), and no
 * procedure (a 59317 from a procedure or trigger the script calls is the script's own error). It
 * must be the first error (`notHeld`), or follow only errors on line 1 outside any procedure: the
 * check's own read failing (e.g. 300, VIEW SERVER STATE denied), so the check `couldNotCheck`.
 * Nothing of the script runs before the check's line ends, so any of the script's own errors comes
 * after it.
 */
export function lockCheckAnswer(error: unknown, resource: string, identity: LockSessionIdentity): { notHeld: true } | { couldNotCheck: string } | undefined {
  const e = error as (ServerError & { precedingErrors?: ServerError[] }) | undefined;
  const all: ServerError[] = [...(e?.precedingErrors ?? []), ...(e ? [e] : [])];
  const onCheckLine = (x: ServerError) => x.lineNumber === 1 && !x.procName;
  const message = checkMessage(resource, identity);
  const at = all.findIndex((x) => x.number === LOCK_NOT_HELD_ERROR && onCheckLine(x) && x.message === message);
  if (at < 0) return undefined;
  const before = all.slice(0, at);
  if (!before.every(onCheckLine)) return undefined;
  if (before.length === 0) return { notHeld: true };
  return { couldNotCheck: before.map((x) => `error ${String(x.number)}: ${String(x.message).replace(/\.$/, '')}`).join('; ') };
}
