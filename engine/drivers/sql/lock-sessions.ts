// Where a link lock's session comes from. A single run opens its own: one connection per replica,
// in master, for the whole run (engine/drivers/sql/lock.ts says why). A wave's runs share one per
// server (engine/drivers/sql/shared-lock-sessions.ts). Either way the lock code sees the same
// thing: a pool of exactly one connection to take, ask and read on, and a call when that
// connection's session ends, which takes every lock held on it.
import type { ConnectionPool } from 'mssql';
import type { ConnectionSpec, ReplicaSide } from '../../core/types.js';
import { classifiedConnectError, connectClassified, poolConfig } from './pool.js';
import { keepFirstLogin } from './kept-login.js';
import { mssqlPackage } from '../packages.js';

/** The database the lock lives in; see engine/drivers/sql/lock.ts for why. */
export const LOCK_DATABASE = 'master';

export interface LockSessionRequest {
  side: ReplicaSide;
  spec: ConnectionSpec;
  env: NodeJS.ProcessEnv;
  /** The link the lock is for, as its inventory names it (for messages). */
  link: string;
  /** The program name the session shows (who holds the lock, engine/drivers/sql/lock-holder.ts). */
  appName: string;
  /** The lock this session is asked for. */
  resource: string;
  /**
   * Called each time a session that held (or was about to take) this lock ends; `why` when this
   * process ended it itself (a session that stopped answering: openLockPool).
   */
  ended(why?: string): void;
}

export interface LockSession {
  /** A pool of one connection: every request of this lock goes to the same session. */
  pool: ConnectionPool;
  /**
   * Ends the session now, for one that did not answer as it should (`why`): every lock on it goes,
   * and every run that had one there hears so (ended) and takes it back on a fresh session.
   */
  abandon(why: string): void;
  /** Lets the lock go (a session of its own is closed; a shared one lets go of this resource). */
  release(): Promise<void>;
}

export interface LockSessions {
  /** Opens (or joins) the lock's session on a replica; throws as a failed connect does (classified). */
  open(request: LockSessionRequest): Promise<LockSession>;
}

/** A lock session's pool, and the way to end its session when it stops answering. */
export interface LockPool {
  pool: ConnectionPool;
  /** Ends the connection in use now (its session, and every lock on it, go); `onEnd` hears `why`. */
  abandon(why: string): void;
  /**
   * Waits for the session to be free and live: the one open now, or a new login when it ended. A
   * failed login throws classified, as a failed connect does (a shared session opened before a
   * server went down is asked so before a run takes its lock there: attack r5conn finding 8).
   */
  live(): Promise<void>;
}

/** The parts of tedious's Connection (mssql's pooled connection) that ending one takes. */
interface PooledConnection {
  on(event: string, listener: (error?: unknown) => void): void;
  close(): void;
}

/** The parts of mssql's pool of connections (tarn) that tell when a request has one and lets it go. */
interface ConnectionQueue {
  on(event: 'acquireSuccess', listener: (eventId: number, connection: PooledConnection) => void): void;
  on(event: 'release', listener: (connection: PooledConnection) => void): void;
}

/**
 * One replica's lock connection: mssql's pool of one, with no idle timeout (a pool that closes an
 * idle connection would silently drop the lock), in master. `onEnd` hears of every session that
 * had logged in and ended.
 *
 * Every request on it is bounded by the connection's requestTimeoutMs, counted from when it has
 * the connection (not while it waits its turn): one that has no answer by then ends the session
 * (its locks with it), instead of being cancelled. A cancelled request leaves a session that did
 * not answer in use, and on a shared one every run waits behind it (a half-open connection, or a
 * request the server does not get to); and whether the lock is still held there cannot be told.
 * Ended, the loss is certain and handled as any other (engine/drivers/sql/lock.ts): every run on
 * the session hears so and takes its lock back on a fresh one.
 */
export async function openLockPool(
  side: ReplicaSide,
  spec: ConnectionSpec,
  env: NodeJS.ProcessEnv,
  appName: string,
  onEnd: (why?: string) => void,
  /** Many runs' requests queue for the one connection (a wave): see sharedLockSessions. */
  queued = false,
): Promise<LockPool> {
  const mssql = mssqlPackage();
  const config = poolConfig(side, spec, env);
  config.database = LOCK_DATABASE;
  config.options = { ...config.options, appName };
  config.pool = { min: 0, max: 1, idleTimeoutMillis: 2 ** 31 - 1 };
  const boundMs = config.requestTimeout ?? 30_000;
  // No cancel timer of tedious's own: the bound below ends the session instead.
  config.requestTimeout = 0;
  // The connection is checked without a query of its own before each request (poolConfig): a
  // dead one ends, and its end event tells every run that had a lock on it.
  if (queued) {
    // A request waits its turn however long the queue is (each one ahead of it is bounded once sent).
    config.pool.acquireTimeoutMillis = 2 ** 31 - 1;
  }
  /** Why this process ended a connection, when it did. */
  const endedBecause = new WeakMap<PooledConnection, string>();
  let current: PooledConnection | undefined;
  const abandon = (connection: PooledConnection | undefined, why: string) => {
    if (!connection || endedBecause.has(connection)) return;
    endedBecause.set(connection, why);
    connection.close();
  };
  // The lock lives and dies with this one connection: a session that had logged in and ends takes
  // the lock with it (a connection that never logged in held nothing). The login connect() checks
  // the settings with is kept as the pool's connection (kept-login.ts), so it is the lock's too.
  (config as { beforeConnect?: (c: PooledConnection) => void }).beforeConnect = (conn) => {
    let loggedIn = false;
    current = conn;
    conn.on('connect', (error) => void (loggedIn = !error));
    conn.on('end', () => loggedIn && onEnd(endedBecause.get(conn)));
  };
  const pool = keepFirstLogin(new mssql.ConnectionPool(config));
  // Errors outside a request end the connection; its end event does the work.
  pool.on('error', () => undefined);
  // A failure carries its classification: only a replica that never answered may go unlocked.
  await connectClassified(pool, side, spec, config.password);
  const requests = (pool as unknown as { pool: ConnectionQueue }).pool;
  const deadlines = new Map<PooledConnection, NodeJS.Timeout>();
  requests.on('acquireSuccess', (_eventId, connection) => {
    const timer = setTimeout(() => abandon(connection, `runbook ended it: a request on it had no answer within ${boundMs} ms`), boundMs);
    timer.unref();
    deadlines.set(connection, timer);
  });
  requests.on('release', (connection) => {
    clearTimeout(deadlines.get(connection));
    deadlines.delete(connection);
  });
  const lending = pool as unknown as { acquire(requester: unknown): Promise<PooledConnection>; release(connection: PooledConnection): void };
  const live = async () => {
    let connection: PooledConnection;
    try {
      connection = await lending.acquire(pool);
    } catch (error) {
      throw await classifiedConnectError(side, spec, error, config.password);
    }
    lending.release(connection);
  };
  return { pool, abandon: (why) => abandon(current, why), live };
}

/** A single run's lock sessions: its own connection per replica, closed when the run lets go. */
export const ownLockSessions: LockSessions = {
  async open(request) {
    let open = true;
    const { pool, abandon } = await openLockPool(request.side, request.spec, request.env, request.appName, (why) => open && request.ended(why));
    return {
      pool,
      abandon,
      async release() {
        open = false;
        await pool.close().catch(() => undefined);
      },
    };
  },
};
