// A wave's lock sessions: one per server for all the wave's runs (a few for a large wave: see
// SharingLimits), instead of one per link. Each
// link's run still takes its own lock (sp_getapplock on `runbook:link:<dag>`, @LockOwner =
// 'Session') and keeps every check of engine/drivers/sql/lock.ts: it only takes it on the
// server's shared session. A session owns each of its locks separately (MicrosoftDocs/sql-docs,
// sp-getapplock-transact-sql.md: "Locks placed on a resource are associated with either the current
// transaction or the current session"; each resource is its own lock), so one session may hold
// every link's lock and release one (sp_releaseapplock) while keeping the others.
//
// What sharing must not weaken:
//  - A lock is re-entrant for its own session: a second sp_getapplock on the same resource by the
//    same session is granted (its count goes up), where a second session would be refused. So two
//    runs of one wave on the same lock resource (two links whose names the server may call equal)
//    are refused here, before any lock is taken, as a second process would be.
//  - When the shared session ends, every lock on it is gone: every run whose lock was on it hears
//    so at once, and each takes its lock back and compares its link, as a run with a session of its
//    own does (engine/drivers/sql/lock.ts).
//  - One request that has no answer must not hold up every run queued behind it: a request is
//    bounded, and a session that does not answer in time is ended, which is the case above
//    (openLockPool, engine/drivers/sql/lock-sessions.ts).
//  - A run that ends lets go of its lock right away (the session goes on for the other links);
//    a lock whose release fails goes when the wave closes the session at its end.
import type { ConnectionPool } from 'mssql';
import { LockRefused } from './lock.js';
import { holderAppName, waveHolder, type LockHolder } from './lock-holder.js';
import { runSql, serverKey } from './pool.js';
import { openLockPool, type LockPool, type LockSession, type LockSessionRequest, type LockSessions } from './lock-sessions.js';

const RELEASE = `DECLARE @r int;
EXEC @r = sp_releaseapplock @Resource = @resource, @LockOwner = 'Session';
SELECT @r AS result;`;

/** A lock taken more than once by one session (a re-take while the first still held) needs as many releases. */
const MAX_RELEASES = 16;

export interface SharedLockSessions extends LockSessions {
  /** Closes every shared session (the locks still on them go with them). After the wave's runs ended. */
  close(): Promise<void>;
}

/**
 * A session runs one request at a time, so every lock request of the runs on it waits its turn
 * (bench/fleet: a 100-link wave on one session per server was 28x one link's time). Past
 * `linksPerSession` locks a link gets a further session, up to `sessionsPerServer`; after that the
 * least loaded one.
 */
export interface SharingLimits {
  linksPerSession: number;
  sessionsPerServer: number;
}

/**
 * One lock session per server by default: with the wave's step sessions
 * (engine/drivers/sql/server-sessions.ts, 3 per server) a server sees at most 4 of the wave's
 * sessions (issue 13). Its requests are few per link (take, read, confirm before a change,
 * release) and checked without a query of their own, so one session keeps up with 100 links
 * (bench/fleet).
 */
export const DEFAULT_SHARING: SharingLimits = { linksPerSession: 25, sessionsPerServer: 1 };

interface ServerSession {
  pool: Promise<LockPool>;
  /** The runs whose lock lives on this session: resource -> who to tell when it ends. */
  locks: Map<string, { link: string; ended(why?: string): void }>;
}

interface ServerLocks {
  sessions: ServerSession[];
  /** Every lock of the wave on this server, on whichever of its sessions: resource -> link. */
  resources: Map<string, string>;
}

/**
 * `holder` names the wave (its id as `wave:<id>`): the shared sessions' program name, which a second
 * operator refused by one of its locks is shown.
 */
export function sharedLockSessions(holder: LockHolder, limits: SharingLimits = DEFAULT_SHARING): SharedLockSessions {
  const servers = new Map<string, ServerLocks>();
  const appName = holderAppName(holder);
  let closed = false;

  function serverOf(request: LockSessionRequest): ServerLocks {
    const key = serverKey(request.side, request.spec);
    let server = servers.get(key);
    if (!server) servers.set(key, (server = { sessions: [], resources: new Map() }));
    return server;
  }

  function sessionFor(server: ServerLocks, request: LockSessionRequest): ServerSession {
    const least = [...server.sessions].sort((a, b) => a.locks.size - b.locks.size)[0];
    if (least && (least.locks.size < limits.linksPerSession || server.sessions.length >= limits.sessionsPerServer)) return least;
    const locks: ServerSession['locks'] = new Map();
    // Every lock on the session that ended is gone: tell each run that had one there.
    const pool = openLockPool(request.side, request.spec, request.env, appName, (why) => {
      if (!closed) for (const lock of [...locks.values()]) lock.ended(why);
    }, true);
    const session: ServerSession = { pool, locks };
    server.sessions.push(session);
    // A server that could not be reached is tried afresh by the next link that asks.
    pool.catch(() => (server.sessions = server.sessions.filter((s) => s !== session)));
    return session;
  }

  return {
    async open(request): Promise<LockSession> {
      if (closed) throw new Error('the wave\'s lock sessions are closed');
      const server = serverOf(request);
      const other = server.resources.get(request.resource);
      if (other !== undefined) {
        throw new LockRefused(`link ${request.link} is locked by link ${other} of this same wave (lock ${request.resource} on ${request.side}): the server may take their names for one link, and only one run may drive a link at a time. Nothing was changed by this run.`);
      }
      server.resources.set(request.resource, request.link);
      const session = sessionFor(server, request);
      const entry = { link: request.link, ended: (why?: string) => request.ended(why) };
      session.locks.set(request.resource, entry);
      const forget = () => {
        if (session.locks.get(request.resource) === entry) session.locks.delete(request.resource);
        if (server.resources.get(request.resource) === request.link) server.resources.delete(request.resource);
      };
      let pool: ConnectionPool;
      let abandon: LockPool['abandon'];
      try {
        let live: LockPool['live'];
        ({ pool, abandon, live } = await session.pool);
        // The session may have ended since another link opened it (a server gone down): a new
        // login that fails is told as a fresh wave's would be, unreachable or a set-up error.
        await live();
      } catch (error) {
        forget();
        throw error;
      }
      let held = true;
      return {
        pool,
        // One run's session that stops answering stops answering for every run on it: all hear.
        abandon: (why) => abandon(why),
        async release() {
          if (!held) return;
          held = false;
          forget();
          if (closed) return;
          // Every grant this session holds on the resource; "not held" (-999, or error 1223) ends it.
          for (let i = 0; i < MAX_RELEASES; i++) {
            try {
              const row = ((await runSql(pool, RELEASE, { resource: request.resource })).recordset ?? [])[0] as Record<string, unknown> | undefined;
              if (Number(row?.result) < 0) return;
            } catch {
              return;
            }
          }
        },
      };
    },
    async close() {
      closed = true;
      const all = [...servers.values()].flatMap((s) => s.sessions);
      servers.clear();
      await Promise.all(all.map(async (s) => (await s.pool.catch(() => undefined))?.pool.close().catch(() => undefined)));
    },
  };
}

/** A wave's lock sessions, named after the wave (what a second operator refused by one of its locks is shown). */
export function waveLockSessions(waveId: string, who: { user: string; host: string; since: string }): SharedLockSessions {
  return sharedLockSessions(waveHolder(waveId, who));
}
