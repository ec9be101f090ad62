// One operator per link: a session-owned application lock (sp_getapplock, @LockOwner = 'Session',
// @LockTimeout = 0) on every reachable replica, held on a dedicated connection per replica that
// lives for the whole run (a wave's runs share one per server: engine/drivers/sql/
// shared-lock-sessions.ts). The server releases it when the session ends, so a crashed or killed
// run never leaves a stuck lock. The holder is told by the connection's program name
// (`runbook <run-id> <user>@<host> since <iso>`), which a refused run reads back from
// sys.dm_tran_locks (real servers) or lab.applocks (the lab).
//
// The lock's connection stays in master and never sends USE: a role change ends the connections
// to the availability database, not those in master (the sources are cited in lab/model/
// lab-model.ts), so a FAILOVER does not take the lock away. Its one-connection mssql pool has
// no idle timeout (engine/drivers/sql/lock-sessions.ts): a pool that closes an idle connection
// would silently drop the lock.
//
// A lock session can still end (network, replica restart, a DBA's KILL). Then it is taken again
// at once, on the connection's end event (a replica that cannot be reached is tried again every
// second until it answers), and the link is read again: its role and availability
// modes on each replica are compared with what they were when this run last knew them (at the
// start, and after each of its own change steps). Nothing changed: the run goes on and says so.
// Someone else took the lock, or the link changed: the run stops (exit 5) and names it. A lock
// lost while one of this run's change steps was running cannot tell that step's doing from
// someone else's, so any change found then stops the run too. ensure() is called before every
// step, so no step starts a change while a re-take is in flight or after one found trouble.
//
// A session can also end without the client hearing of it: the server drops it (its locks go)
// while the client's socket stays open (a half-open connection behind a gateway or a stateful
// firewall; keepalives take minutes to tell). So right before each change, confirm() asks each
// replica on the lock's own connection whether this session still holds the lock (APPLOCK_MODE);
// one that does not is handled as a lost lock, as above.
//
// And the server checks it too, where it matters most: every T-SQL change batch begins with a check
// that this run's lock session (named by its session_id and connection_id, read when it took the
// lock) still holds the lock, and THROWs before anything of the batch runs if not
// (engine/drivers/sql/lock-guard.ts; changeGuard below). ARM changes have no such hook: confirm()
// is the last word for them.
//
// The link's state as the lock reads it is engine/drivers/sql/link-state.ts; who holds a lock, in
// words, lock-holder.ts; the lock's name on the server, lock-resource.ts; a lost lock's wording and
// what taking it back found, judged, lock-lost.ts.
import type { ConnectionPool } from 'mssql';
import { ExitError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import { saidIfSlow } from './lock-slow-read.js';
import { runSql } from './pool.js';
import { classifyConnectFailure } from './connect-failure.js';
import { LOCK_DATABASE, ownLockSessions, type LockSession, type LockSessions } from './lock-sessions.js';
import type { Inventory, ReplicaSide } from '../../core/types.js';
import { readSide, SIDES, type LinkState } from './link-state.js';
import { holderAppName, whoHolds } from './lock-holder.js';
import type { AcquireOptions, LinkLock } from './lock-contract.js';
import { lockResource } from './lock-resource.js';
import { changeGuardFor, readLockSessionIdentity, stillHolds, UNNAMED_SESSION, type LockSessionIdentity } from './lock-guard.js';
import {
  HELD_NOWHERE,
  judgeRetake,
  judgeRetakeBeforeSteps,
  LockLost,
  notHeldLoss,
  RETAKE_FAILED,
  sessionEndedLoss,
  UNREACHABLE,
  type LockLossEvent,
  type LostLock,
} from './lock-lost.js';

// The lock's parts, for those who know them by the lock.
export { compareLinkStates, type LinkState, type SideState } from './link-state.js';
export { describeHolder, holderAppName, parseHolderAppName, type LockHolder } from './lock-holder.js';
export { lockResource } from './lock-resource.js';
export { LockLost, type LockLossEvent } from './lock-lost.js';
export type { AcquireOptions, LinkLock } from './lock-contract.js';

export class LockRefused extends ExitError {
  constructor(message: string) {
    super(ExitCode.refused, message);
    this.name = 'LockRefused';
  }
}

export { LOCK_DATABASE } from './lock-sessions.js';

const TAKE = `EXEC sp_set_session_context @key = N'description', @value = @holder;
DECLARE @r int;
EXEC @r = sp_getapplock @Resource = @resource, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;
SELECT @r AS result, DB_NAME() AS db;`;

/** Whether this run's session holds the lock: APPLOCK_MODE answers the mode it holds, or NoLock. */
const MODE_QUERY = `SELECT APPLOCK_MODE('public', @resource, 'Session') AS mode;`;

export async function acquireLinkLock(inventory: Inventory, opts: AcquireOptions): Promise<LinkLock> {
  const linkName = inventory.link.name;
  const resource = lockResource(linkName);
  const appName = holderAppName(opts.holder);
  const pools = new Map<ReplicaSide, ConnectionPool>();
  /** Sides whose lock is lost and not taken again yet (engine/drivers/sql/lock-lost.ts). */
  const lost = new Map<ReplicaSide, LostLock>();
  /**
   * Each side's lock session as the server names it, read when it took the lock (or why it could
   * not be read): what a T-SQL change's check names.
   */
  const identities = new Map<ReplicaSide, LockSessionIdentity | string>();
  const retaking = new Map<ReplicaSide, Promise<void>>();
  /** Aborted when the side's lock is known lost: a change request in flight there is cancelled. */
  const lossSignals = new Map<ReplicaSide, AbortController>();
  const lossSignal = (side: ReplicaSide): AbortSignal => {
    let controller = lossSignals.get(side);
    if (!controller) lossSignals.set(side, (controller = new AbortController()));
    return controller.signal;
  };
  const lostNow = (side: ReplicaSide, how: string): void => {
    lossSignals.get(side)?.abort(new Error(how));
    lossSignals.delete(side);
  };
  const unreachable: Array<{ side: ReplicaSide; error: string }> = [];
  let baseline: LinkState = {};
  let changingStep: string | undefined;
  /**
   * Set once the run relies on the link as it read it: the first step is about to start (ensure()),
   * or a resume accepted the link as its journal left it (observe()), after which its restored steps
   * call no ensure(). A loss before that is judged as part of taking the lock; after it, the link
   * is compared with what the run last knew.
   */
  let stepsBegun = false;
  let failure: LockLost | undefined;
  let closing = false;
  const sessions = opts.sessions ?? ownLockSessions;
  /** Each locked replica's session, to let go of at the end. */
  const lockSessions = new Map<ReplicaSide, LockSession>();

  async function open(side: ReplicaSide): Promise<ConnectionPool> {
    const spec = side === 'sqlServer' ? inventory.link.sqlServer.connection : inventory.link.managedInstance.connection;
    // When this session ends (it had logged in), take the lock again at once.
    const session = await sessions.open({ side, spec, env: opts.env, link: linkName, appName, resource, ended: (why) => sessionEnded(side, why) });
    lockSessions.set(side, session);
    return session.pool;
  }

  /** sp_getapplock on this side's connection: undefined when granted, else who holds it. */
  async function take(side: ReplicaSide, pool: ConnectionPool): Promise<{ described: string; wave: boolean } | undefined> {
    const rows = (await runSql(pool, TAKE, { holder: appName, resource })).recordset ?? [];
    const row = rows[0] as Record<string, unknown> | undefined;
    const code = Number(row?.result);
    if (String(row?.db ?? '').toLowerCase() !== LOCK_DATABASE) {
      throw new LockRefused(`the lock's connection on ${side} is in database ${String(row?.db)}, not ${LOCK_DATABASE}, where a role change could end it; refusing to use it. Nothing was changed by this run.`);
    }
    if (code === 0 || code === 1) {
      identities.set(side, await readLockSessionIdentity(pool));
      return undefined;
    }
    if (code === -1 || code === -2) return whoHolds(pool, resource);
    throw new LockRefused(`could not lock link ${linkName} on ${side}: sp_getapplock returned ${Number.isNaN(code) ? 'nothing' : code}. Nothing was changed.`);
  }

  /** What a read of the link on `side`'s lock session says when it is slow (engine/drivers/sql/lock-slow-read.ts). */
  const slowRead = (side: ReplicaSide) => ({
    ...(opts.waiting ? { waiting: opts.waiting } : {}), ...(opts.waitNoticeMs !== undefined ? { afterMs: opts.waitNoticeMs } : {}),
    what: `${side} to answer the read of link ${linkName} on the lock's session`,
    requestTimeoutMs: (side === 'sqlServer' ? inventory.link.sqlServer : inventory.link.managedInstance).connection.requestTimeoutMs,
  });

  /** Reads the link on each locked replica (and on `also`); a side whose lock is lost and not back is skipped (it may be down). */
  async function readState(also?: ReplicaSide): Promise<LinkState> {
    const state: LinkState = {};
    const sides = [...pools].filter(([side]) => side === also || !lost.has(side));
    await Promise.all(sides.map(async ([side, pool]) => void (state[side] = await saidIfSlow(readSide(pool, linkName), slowRead(side)))));
    return state;
  }

  /** `why`: when this process ended the session itself (it stopped answering). */
  function sessionEnded(side: ReplicaSide, why?: string): void {
    if (closing || !pools.has(side)) return;
    if (!lost.has(side)) lost.set(side, sessionEndedLoss(side, why, changingStep ?? opts.currentStep?.(), changingStep));
    lostNow(side, lost.get(side)!.how);
    retakeSoon(side);
  }

  /** The server says this run's session does not hold the lock (or cannot say): lost, as if the session had ended. */
  function notHeld(side: ReplicaSide, why: string, when: (step: string) => string): void {
    if (closing || !pools.has(side) || lost.has(side)) return;
    lost.set(side, notHeldLoss(side, why, changingStep ?? opts.currentStep?.(), when, changingStep));
    lostNow(side, lost.get(side)!.how);
    retakeSoon(side);
  }

  function retakeSoon(side: ReplicaSide): void {
    // After mssql has seen an end too, so the pool opens a new connection for the re-take.
    if (!retaking.has(side)) track(side, new Promise<void>((resolve) => setImmediate(resolve)).then(() => retake(side)));
  }

  /**
   * APPLOCK_MODE on each locked replica's lock connection; a side not holding it exclusively is lost.
   * A question with no answer says nothing about the lock: its session ended (a request that has no
   * answer in time ends it, engine/drivers/sql/lock-sessions.ts), or, when the server answered with
   * an error, it is ended here. Either way the lock is gone for certain, and taken back on a fresh
   * session as after a KILL; never granted again on the same session (a re-entrant grant would say
   * nothing about whether it had been lost).
   */
  async function askServers(): Promise<void> {
    const sides = [...pools].filter(([side]) => !lost.has(side));
    await Promise.all(
      sides.map(async ([side, pool]) => {
        try {
          const row = ((await runSql(pool, MODE_QUERY, { resource })).recordset ?? [])[0] as Record<string, unknown> | undefined;
          const mode = String(row?.mode ?? 'nothing');
          if (mode !== 'Exclusive') notHeld(side, `APPLOCK_MODE says ${mode}`, (step) => `when step ${step} was about to start`);
        } catch (error) {
          const why = `asking it whether it still held the lock failed: ${(error as Error).message.replace(/\.$/, '')}`;
          if (typeof (error as { number?: unknown }).number === 'number') lockSessions.get(side)?.abandon(`runbook ended it: ${why}`);
          sessionEnded(side, why);
        }
      }),
    );
  }

  /** A re-take in flight: ensure() and the end of the run wait for it; it never rejects. */
  function track(side: ReplicaSide, attempt: Promise<void>): void {
    const p = attempt.catch((error: unknown) => {
      failure ??= new LockLost(RETAKE_FAILED(side, error));
    });
    retaking.set(side, p);
    void p.finally(() => retaking.get(side) === p && retaking.delete(side));
  }

  function stop(event: Omit<LockLossEvent, 'message'>, message: string, exitCode?: number): void {
    opts.onLoss?.({ ...event, message });
    failure ??= new LockLost(message, exitCode);
  }

  async function retake(side: ReplicaSide): Promise<void> {
    const pool = pools.get(side);
    const loss = lost.get(side);
    if (!pool || !loss || closing) return;
    const during = loss.during ? { during: loss.during } : {};
    let otherHolder: string | undefined;
    let ownOldSession: LockSessionIdentity | undefined;
    const before = identities.get(side);
    try {
      otherHolder = (await take(side, pool))?.described;
      // The holder may be this run's own ended session, which the server has not yet seen end.
      if (otherHolder && typeof before === 'object' && (await stillHolds(pool, resource, before))) ownOldSession = before;
    } catch (error) {
      if (closing) return;
      if (error instanceof LockRefused) {
        stop({ side, ...during, retaken: false, changes: [] }, `${loss.how} and could not be taken again: ${error.message}`);
        return;
      }
      // Tried again in the background until the replica answers (and by ensure() before each step); said once.
      const again = setTimeout(() => !closing && !retaking.has(side) && lost.has(side) && track(side, retake(side)), opts.retryMs ?? 1000);
      again.unref();
      if (loss.warned) return;
      loss.warned = true;
      const message = UNREACHABLE(loss, side, error);
      opts.onLoss?.({ side, ...during, retaken: false, changes: [], message });
      opts.warn?.(message);
      return;
    }
    if (closing) return;
    const now = await readState(side);
    // A side whose own lock is lost and not back (down) is compared when it is back.
    const known: LinkState = Object.fromEntries(Object.entries(baseline).filter(([s]) => s === side || !lost.has(s as ReplicaSide)));
    const retaken = { linkName, resource, side, loss, ...(otherHolder ? { otherHolder } : {}), ...(ownOldSession ? { ownOldSession } : {}), known, now };
    const verdict = stepsBegun ? judgeRetake(retaken) : judgeRetakeBeforeSteps(retaken, opts.resuming === true);
    if (verdict.event.retaken) lost.delete(side);
    if (!stepsBegun && verdict.event.retaken) keep(now);
    if (verdict.stop) {
      stop(verdict.event, verdict.message, verdict.exitCode);
      return;
    }
    opts.onLoss?.({ ...verdict.event, message: verdict.message });
    opts.info?.(verdict.message);
  }

  /** Why no T-SQL change may go to `side` now, or the lock session its check names. */
  function guardIdentity(side: ReplicaSide): LockSessionIdentity | string {
    if (!pools.has(side)) {
      const down = unreachable.find((u) => u.side === side);
      return `this run holds no lock on ${side}${down ? ` (it could not be reached when the run began: ${down.error.replace(/\.$/, '')})` : ''}`;
    }
    const loss = lost.get(side);
    if (loss) return `${loss.how}, and it is not taken back yet`;
    if (failure) return failure.message;
    const identity = identities.get(side);
    return typeof identity === 'object' ? identity : UNNAMED_SESSION(identity ?? 'not read');
  }

  async function settle(): Promise<void> {
    while (retaking.size) await Promise.all([...retaking.values()]);
  }

  const closeAll = async () => {
    closing = true;
    const all = [...lockSessions.values()];
    pools.clear();
    lockSessions.clear();
    await Promise.all(all.map((s) => s.release().catch(() => undefined)));
  };

  let refusal: unknown;
  await Promise.all(
    SIDES.map(async (side) => {
      let pool: ConnectionPool;
      try {
        pool = await open(side);
      } catch (error) {
        // Anything but a replica that never answered refuses the lock (and lets go of the other side's).
        if (!classifyConnectFailure(error).unreachable) {
          refusal ??= error;
          return;
        }
        unreachable.push({ side, error: (error as Error).message });
        return;
      }
      pools.set(side, pool);
      try {
        const other = await take(side, pool);
        if (other) {
          // A wave's lock on a link goes when the wave's run of that link ends, not its process.
          const wait = other.wave
            ? `Wait for the wave's run of link ${linkName} to end (its lock goes when that run ends; the wave's process may go on for its other links): see the wave's record or \`runbook runs\` on its host.`
            : `Wait for that run to end (the lock goes when its process ends), or see \`runbook runs\` on its host.`;
          throw new LockRefused(`link ${linkName} is locked by ${other.described} (lock ${resource} on ${side}). Only one run may drive a link at a time; nothing was changed by this run. ${wait}`);
        }
      } catch (error) {
        refusal ??= error;
      }
    }),
  );
  if (refusal) {
    await closeAll();
    throw refusal;
  }
  baseline = await readState();

  /**
   * The link now, for the record of what this run's change did: a replica that says RESOLVING is
   * between roles (it says so briefly after a role change), so it is read again until it settles
   * or `settleMs` passes.
   */
  async function readSettled(): Promise<LinkState> {
    const deadline = Date.now() + (opts.settleMs ?? 10_000);
    for (;;) {
      const state = await readState();
      const resolving = SIDES.some((side) => {
        const st = state[side];
        return st?.readable === true && st.role.split('+').includes('RESOLVING');
      });
      if (!resolving || Date.now() >= deadline) return state;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  function keep(now: LinkState): void {
    // A side that cannot be read now keeps what it said before: the step could not reach it either.
    for (const side of SIDES) if (now[side]?.readable) baseline[side] = now[side];
  }

  async function ensure(): Promise<void> {
    await settle();
    if (failure) throw failure;
    // A lost lock whose replica could not be reached: try again before anything else happens.
    for (const side of [...lost.keys()]) if (!retaking.has(side)) track(side, retake(side));
    await settle();
    if (failure) throw failure;
    if (pools.size && [...pools.keys()].every((s) => lost.has(s))) {
      throw new LockLost(HELD_NOWHERE([...lost.keys()]));
    }
    stepsBegun = true;
  }

  return {
    resource,
    held: SIDES.filter((s) => pools.has(s)),
    unreachable,
    ensure,
    changeGuard: (side) => changeGuardFor(side, resource, () => guardIdentity(side), (why) => notHeld(side, why, (step) => `while step ${step} was sending it`), () => lossSignal(side)),
    async confirm() {
      await ensure();
      await askServers();
      await ensure();
    },
    changing(stepId) {
      changingStep = stepId;
    },
    async changed() {
      await settle();
      let now: LinkState | undefined;
      if (!failure) {
        now = await readSettled();
        keep(now);
      }
      changingStep = undefined;
      return now;
    },
    async observe() {
      await settle();
      const now = await readSettled();
      keep(now);
      stepsBegun = true;
      return now;
    },
    lastKnown: () => ({ ...baseline }),
    async verdict() {
      await settle();
      return failure;
    },
    release: closeAll,
  };
}
