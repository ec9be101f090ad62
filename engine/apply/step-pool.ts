// The pool a step gets from `ctx.sql(side)`: the run's own connection, seen through a proxy that
// journals each batch right before it is sent and, in a change step of a run that holds the link
// lock, makes sure every batch that may change something carries the run's lock check
// (engine/drivers/sql/lock-guard.ts). sqlExec places the check itself (steps/sqlExec.ts,
// sendBatch); a plugin that sends a change through ctx.sql without it gets the check put at the
// head of the batch here, and what cannot carry it is refused before it is sent (attack r5lock:
// a plugin's change batches went out unchecked unless it used ctx.changeGuard).
import type { ChangeGuard, ReplicaSide, RunResources } from '../core/types.js';
import { GuardRefusal, OutcomeUnknown, StepFailure, definitelyNotApplied } from '../core/errors.js';
import { isSingleStatement, readOnlyProblem } from '../drivers/sql/checks.js';
import { mustStartItsBatch } from '../drivers/sql/guarded-batches.js';
import { LOCK_NOT_HELD_ERROR, reservedSqlProblems } from '../drivers/sql/change-sql-rules.js';
import { withoutLockCheck } from '../drivers/sql/lock-guard.js';
import { notSentByDriver } from '../drivers/sql/connect-failure.js';
import { intercept, readOnlyPool, sealedPoolMethod, type Method } from '../drivers/sql/read-only-pool.js';
import { isTrivia, scanSql, unterminatedToken } from '../drivers/sql/scanner.js';

type Pool = Awaited<ReturnType<RunResources['sql']>>;
/** What one step's pools share: the step, where its statements are journaled, whether a change of it went out. */
export interface StepPoolState {
  step: string;
  /** Journals a batch right before it is sent (the run journals each distinct one once). */
  record?(side: ReplicaSide, text: string, params: Record<string, unknown> | undefined): void;
  /** A change batch of this step was sent (so a later refusal is no longer "nothing was done"). */
  changeSent: boolean;
  /**
   * The change requests this step sent over all its attempts (T-SQL batches that are not plain
   * reads, ARM writes), and how many were T-SQL batches of more than one statement: a server's error answers only the request it came on, so it
   * shows the step changed nothing only when that request was its one change and one statement
   * (attack r7fix finding 1: a plugin's `ALTER ...; THROW ...` was "definitely not applied").
   * `mayHaveActed`: those not answered by an error of their own that shows they did not run (one
   * statement the server refused, an ARM 4xx to the write itself): an error met on any other request
   * (a read after the change) says nothing of them (attack r7safe finding 1: an ALTER that succeeded,
   * then a failing read-back, was "Nothing was changed" and sent three times).
   */
  changes: { count: number; multiStatement: number; mayHaveActed: number };
  /**
   * Some batch of this step went out through its pool: whatever its send gate was told, the step
   * is no longer "nothing was sent" (attack r6safety finding 4: a plugin that called notSent()
   * and then sent through ctx.sql was journaled `nothingSent` and retried blindly).
   */
  sentAny: boolean;
  /**
   * Sides where the step's last batch was the lock check alone, with the signal of the lock it
   * checked: the next batch there is the one it covers, if that batch must start its batch and
   * the lock was not heard lost since (attack r6safety finding 2).
   */
  checkedNext: Map<ReplicaSide, AbortSignal | undefined>;
}

/**
 * The only statement a change step may send unchecked besides a plain read: a bare ROLLBACK, which
 * ends the session's own transaction and so can only undo what was not committed (sqlExec rolls
 * back a transaction a script left open, also after the lock was lost).
 */
export function isBareRollback(text: string): boolean {
  const tokens = scanSql(text);
  if (unterminatedToken(tokens)) return false;
  const words = tokens.filter((t) => !isTrivia(t)).map((t) => t.text.toLowerCase());
  if (words.at(-1) === ';') words.pop();
  if (words[0] !== 'rollback') return false;
  return words.length === 1 || (words.length === 2 && ['tran', 'transaction', 'work'].includes(words[1]!));
}

/** A change request the step sent, as StepPoolState.changes counts it. */
export interface NotedChange {
  /** The server's lock check refused it, so none of it ran: as if it had not been sent. */
  undo(): void;
  /** Its own answer shows it did not run (see StepPoolState.changes.mayHaveActed). */
  notApplied(): void;
}

/** A change request of the step goes out: `batch`, its T-SQL as the step wrote it (none for an ARM write, one request). */
export function noteChange(state: StepPoolState, batch?: string): NotedChange {
  const changedBefore = state.changeSent;
  const multi = batch !== undefined && !isSingleStatement(batch);
  state.sentAny = true;
  state.changeSent = true;
  state.changes.count++;
  state.changes.mayHaveActed++;
  if (multi) state.changes.multiStatement++;
  let acting = true;
  let counted = true;
  const notApplied = () => {
    if (!acting) return;
    acting = false;
    state.changes.mayHaveActed--;
  };
  return {
    undo: () => {
      notApplied();
      if (!counted) return;
      counted = false;
      state.changes.count--;
      if (multi) state.changes.multiStatement--;
      if (state.changes.count === 0) state.changeSent = changedBefore;
    },
    notApplied,
  };
}

/** `sending`, a change batch's send: when it fails with an error that answers it and shows it did not run, the change is no longer counted as one that may have acted. */
function answered(counted: NotedChange, batch: string, sending: unknown): unknown {
  if (!(sending instanceof Promise)) return sending;
  return sending.catch((error: unknown) => {
    if (notSentByDriver(error)) counted.undo();
    else if (isSingleStatement(batch) && definitelyNotApplied(error)) counted.notApplied();
    throw error;
  });
}

/**
 * `send()`, a request of the step; when the driver refused it before writing anything (the run's
 * connection to `side` was closed), said so: not a connection lost during the batch, whose outcome
 * is unknown (attack r7safe finding 6: a batch that never left the process made the run end
 * "outcome unknown", exit 5). Whether the step changed anything depends on what it sent before.
 */
function keptUnsent(state: StepPoolState, side: ReplicaSide, send: () => unknown): unknown {
  const sending = send();
  if (!(sending instanceof Promise)) return sending;
  return sending.catch((error: unknown) => {
    if (!notSentByDriver(error)) throw error;
    const changedBefore = state.changes.mayHaveActed > 0;
    const why = `Step ${state.step}'s request to ${side} was not sent: the run's connection to ${side} is closed (${String((error as Error).message).replace(/\.$/, '')})`;
    throw new StepFailure(
      'notSentConnectionClosed',
      { side },
      changedBefore ? `${why}; a change request of this step had been sent before it, so the step may have acted.` : `${why}; nothing of this step was sent.`,
      { notApplied: !changedBefore, cause: error },
    );
  });
}

/** The run's lock check refused the batch at its head (its THROW, on line 1, outside any procedure): nothing of it ran. */
function refusedByCheck(error: unknown): boolean {
  const e = error as { number?: unknown; lineNumber?: unknown; procName?: unknown; precedingErrors?: unknown[] } | undefined;
  const all = [...((e?.precedingErrors ?? []) as typeof e[]), e];
  return all.some((x) => x?.number === LOCK_NOT_HELD_ERROR && x.lineNumber === 1 && !x.procName);
}

/** Why a change step's batch may go without the check it does not carry: it reads, or it only rolls back. */
function needsNoCheck(text: string): boolean {
  return readOnlyProblem(text) === undefined || isBareRollback(text);
}

/**
 * The pool `ctx.sql(side)` returns. `guard`: the lock check this step's changes to `side` carry
 * (a change step of a run holding the lock); undefined for reads and runs without a lock, whose
 * batches are only journaled.
 */
export function stepPool(pool: Pool, side: ReplicaSide, state: StepPoolState, guard: ChangeGuard | undefined, readOnly = false): Pool {
  if (readOnly) return readOnlyPool(pool, state.step, side, (request) => journaledRequest(request, side, state));
  if (!state.record && !guard) return pool;
  const refuse = (why: string, changedBefore = state.changeSent): Error => {
    const message = `Step ${state.step}'s request to ${side} was refused: it ${why}`;
    // A refusal says nothing of this step was done; after a change batch went out, that is not so.
    return changedBefore
      ? new StepFailure('changeNotGuarded', { side, why }, `${message}; a change batch of this step had already been sent, so it ran only in part.`)
      : new GuardRefusal('changeNotGuarded', { side, why }, `${message}; nothing of this step was sent.`);
  };
  return intercept(pool, (key, method, proxy) => {
    // mssql's pool.query()/batch() make a Request of the pool itself, past this proxy: route them through it.
    if (key === 'query' || key === 'batch') return (...args) => (proxy.request() as unknown as Record<string, Method>)[key]!(...args);
    const sealed = sealedPoolMethod(key, method, proxy, () => refuse('came from a Request, Transaction or PreparedStatement made on the pool itself (new sql.Request(pool)), which the run cannot see; use pool.request()'));
    if (sealed) return sealed;
    if (!guard) return key === 'request' ? (...args) => journaledRequest(method(...args) as object, side, state) : undefined;
    // What the check cannot be put in front of: a procedure called by RPC, a bulk load, a transaction object's own requests.
    if (key === 'transaction') return () => { throw refuse('came from a transaction object, whose requests the run cannot put its lock check in front of (write BEGIN TRANSACTION ... COMMIT in the batch instead)'); };
    if (key !== 'request') return undefined;
    return (...args) => guardedRequest(method(...args) as object, side, state, guard, refuse);
  });
}

type Request = object & { parameters?: Record<string, { value?: unknown }>; cancel(): void };

function paramsOf(request: Request): Record<string, unknown> | undefined {
  const entries = Object.entries(request.parameters ?? {});
  return entries.length ? Object.fromEntries(entries.map(([n, p]) => [n, p?.value ?? null])) : undefined;
}

/** A request whose batches are journaled as the runbook wrote them, without the run's lock check. */
function journaledRequest(request: object, side: ReplicaSide, state: StepPoolState): object {
  return intercept(request as Request, (k, send) => {
    if (k !== 'query' && k !== 'batch') return undefined;
    return (...a) => keptUnsent(state, side, () => {
      const text = withoutLockCheck(String(a[0]));
      if (text !== '') state.record?.(side, text, paramsOf(request as Request));
      state.sentAny = true;
      if (text === '' || readOnlyProblem(text) === undefined) return send(...a);
      return answered(noteChange(state, text), text, send(...a));
    });
  });
}

/** A change step's request: each batch carries the lock check, is a plain read or a bare ROLLBACK, or is refused unsent. */
function guardedRequest(request: object, side: ReplicaSide, state: StepPoolState, guard: ChangeGuard, refuse: (why: string, changedBefore?: boolean) => Error): object {
  const r = request as Request;
  return intercept(r, (k, send) => {
    if (k === 'execute') return () => { throw refuse('called a procedure by RPC (request.execute), which cannot carry the run\'s lock check (send EXEC ... as T-SQL instead)'); };
    if (k === 'bulk') return () => { throw refuse('was a bulk load, which cannot carry the run\'s lock check'); };
    if (k !== 'query' && k !== 'batch') return undefined;
    return (...a) => keptUnsent(state, side, () => {
      if (typeof a[0] !== 'string' || a.length > 1) throw refuse('was not one string of T-SQL answered by a promise (a tagged template or a callback), so the run cannot put its lock check in front of it');
      // In stream mode mssql tells a server error as an 'error' event and resolves the promise
      // anyway: the lock check's refusal would go unseen (attack r7fix finding 11).
      if ((r as { stream?: unknown }).stream) throw refuse('was a streaming request (request.stream, toReadableStream, pipe), whose errors the run cannot read, so the lock check\'s refusal would go unseen; read the answer of the promise instead');
      (r as { stream?: unknown }).stream = false;
      const text = a[0];
      state.sentAny = true;
      // Only the check exactly as the guard writes it now counts as the run's check: a batch that
      // merely looks like it (its DECLARE, a THROW 59317 further on) is the step's own text.
      const check = guard.check();
      const coveredBy = state.checkedNext.get(side);
      const afterCheck = state.checkedNext.delete(side);
      // The check alone (sqlExec, before a batch that must start its batch): the next batch on this side is the one it covers.
      if (check && text === check.text) {
        return (send(text) as Promise<unknown>).then((result) => (state.checkedNext.set(side, check.lost), result));
      }
      const placed = check !== undefined && text.startsWith(`${check.text} `);
      const own = placed ? text.slice(check.text.length + 1) : text;
      // SET NOEXEC/FMTONLY/PARSEONLY would have the server skip later batches' checks; THROW 59317 would mimic one (attack r6safety finding 8).
      const reserved = reservedSqlProblems(own, true)[0];
      if (reserved) throw refuse(`was not sent: ${reserved.message}`);
      state.record?.(side, own, paramsOf(r));
      // The step placed the check itself, as sqlExec does: sent as given.
      if (placed) {
        const counted = noteChange(state, own);
        return (answered(counted, own, send(text)) as Promise<unknown>).catch((error: unknown) => {
          if (refusedByCheck(error)) counted.undo();
          throw error;
        });
      }
      if (needsNoCheck(text)) return send(text);
      // Covered by the check sent alone right before it: only a batch that cannot carry it, and
      // only while the lock it checked was not heard lost since.
      if (afterCheck && mustStartItsBatch(text)) {
        if (coveredBy?.aborted) throw refuse('was to go after the lock check sent alone before it, but the link lock was lost since, so the check does not cover it');
        return answered(noteChange(state, text), text, send(text));
      }
      return sendWithCheck(r, send, text, side, state, guard, refuse);
    });
  });
}

/** A change batch the step sent without the check: sent with the check at its head, and the answer read as sqlExec reads it. */
async function sendWithCheck(request: Request, send: Method, text: string, side: ReplicaSide, state: StepPoolState, guard: ChangeGuard, refuse: (why: string, changedBefore?: boolean) => Error): Promise<unknown> {
  if (mustStartItsBatch(text)) {
    throw refuse('must start its batch (CREATE/ALTER of a procedure, function, view or trigger, or a procedure called without EXEC), so the run\'s lock check cannot go at its head; send the check as a batch of its own on the same session first, as ctx.changeGuard(side).batches(sql) gives it (README, "Writing a step type")');
  }
  const plan = guard.batches(text);
  if ('refused' in plan) throw refuse(`was not sent: ${plan.refused}`);
  state.record?.(side, text, paramsOf(request));
  const changedBefore = state.changeSent;
  const counted = noteChange(state, text);
  // The check covers the batch's statements as they start: once the lock is known lost, the rest is cancelled.
  const onLost = () => request.cancel();
  plan.lost?.addEventListener('abort', onLost, { once: true });
  try {
    return await (send(plan.send[0]!) as Promise<unknown>);
  } catch (error) {
    const notHeld = guard.refused(error);
    if (notHeld) {
      counted.undo();
      // The server ran none of this batch: whether the step changed anything depends on what it sent before.
      throw refuse(`did not run: ${notHeld.replace(/\.$/, '')}`, changedBefore);
    }
    if (plan.lost?.aborted) {
      throw new OutcomeUnknown(`The link lock was lost while a batch of step ${state.step} was running; the batch was cancelled, so how much of it ran is unknown; check the replica before going on.`, { cause: error });
    }
    if (notSentByDriver(error)) counted.undo();
    else if (isSingleStatement(text) && definitelyNotApplied(error)) counted.notApplied();
    throw error;
  } finally {
    plan.lost?.removeEventListener('abort', onLost);
  }
}
