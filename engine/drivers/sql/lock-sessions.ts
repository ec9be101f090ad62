// Where a link lock's session comes from. A single run opens its own: one connection per replica,
// in master, for the whole run (engine/drivers/sql/lock.ts says why). A wave's runs share one per
// server (engine/drivers/sql/shared-lock-sessions.ts). Either way the lock code sees the same
// thing: a pool of exactly one connection to take, ask and read on, and a call when that
// connection's session ends, which takes every lock held on it.
import type { ConnectionPool } from 'mssql';
import type { ConnectionSpec, ReplicaSide } from '../../core/types.js';
import { classifyConnectFailureProbed, describeConnectError, poolConfig } from './pool.js';

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
  /** Called each time a session that held (or was about to take) this lock ends. */
  ended(): void;
}

export interface LockSession {
  /** A pool of one connection: every request of this lock goes to the same session. */
  pool: ConnectionPool;
  /** Lets the lock go (a session of its own is closed; a shared one lets go of this resource). */
  release(): Promise<void>;
}

export interface LockSessions {
  /** Opens (or joins) the lock's session on a replica; throws as a failed connect does (classified). */
  open(request: LockSessionRequest): Promise<LockSession>;
}

/**
 * One replica's lock connection: mssql's pool of one, with no idle timeout (a pool that closes an
 * idle connection would silently drop the lock), in master. `onEnd` hears of every session that
 * had logged in and ended, except the test connection mssql's connect() opens and closes first.
 */
export async function openLockPool(
  side: ReplicaSide,
  spec: ConnectionSpec,
  env: NodeJS.ProcessEnv,
  appName: string,
  onEnd: () => void,
  /** Many runs' requests queue for the one connection (a wave): see sharedLockSessions. */
  queued = false,
): Promise<ConnectionPool> {
  const mssql = (await import('mssql')).default;
  const config = poolConfig(side, spec, env);
  config.database = LOCK_DATABASE;
  config.options = { ...config.options, appName };
  config.pool = { min: 0, max: 1, idleTimeoutMillis: 2 ** 31 - 1 };
  if (queued) {
    // A request waits its turn however long the queue is (each one's own requestTimeout still
    // bounds it once sent), and the connection is checked without a query of its own before each
    // (mssql's default sends SELECT 1 first, doubling every request): a dead one ends, and its end
    // event tells every run.
    config.pool.acquireTimeoutMillis = 2 ** 31 - 1;
    (config as { validateConnection?: boolean | 'socket' }).validateConnection = 'socket';
  }
  let connected = false;
  // The lock lives and dies with this one connection: a session that had logged in and ends takes
  // the lock with it (a connection that never logged in held nothing).
  (config as { beforeConnect?: (c: { on(e: string, f: (error?: unknown) => void): void }) => void }).beforeConnect = (conn) => {
    let loggedIn = false;
    const probe = !connected;
    conn.on('connect', (error) => void (loggedIn = !error));
    conn.on('end', () => loggedIn && !probe && onEnd());
  };
  const pool = new mssql.ConnectionPool(config);
  // Errors outside a request end the connection; its end event does the work.
  pool.on('error', () => undefined);
  try {
    await pool.connect();
  } catch (error) {
    await pool.close().catch(() => undefined);
    // Carries the classification: only a replica that never answered may go unlocked (a server
    // that takes the TCP connection and then says nothing is up, asked of the network as the preflight asks).
    throw Object.assign(new Error(describeConnectError(side, spec, error, config.password)), await classifyConnectFailureProbed(error, spec));
  }
  connected = true;
  return pool;
}

/** A single run's lock sessions: its own connection per replica, closed when the run lets go. */
export const ownLockSessions: LockSessions = {
  async open(request) {
    let open = true;
    const pool = await openLockPool(request.side, request.spec, request.env, request.appName, () => open && request.ended());
    return {
      pool,
      async release() {
        open = false;
        await pool.close().catch(() => undefined);
      },
    };
  },
};
