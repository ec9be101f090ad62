// mssql's ConnectionPool.connect() logs in once to check the settings, closes that session, and
// only then starts its pool (tarn), whose first request logs in again
// (node_modules/mssql/lib/base/connection-pool.js `_connect`: "create one test connection to check
// if everything is ok", then `_poolDestroy(connection)`). Every pool thus costs one login more than
// the sessions it keeps: a wave's lock pool and step pool made 6 logins per server for 4 sessions
// (issue 13: "at most 4 logins per server"). A login is a TLS handshake and an authentication on
// the server; the checked session is as fresh as any the pool would open next, so it is kept and
// becomes the pool's first session instead.
//
// What the pool guarantees is unchanged: the kept session is a connection of the pool like any
// other (tarn lends it, validates it before lending, destroys it), it has run nothing (a fresh
// login, in the configured database), and `beforeConnect` saw it open as it sees the others. A
// kept session that ended before anyone asked for it is not lent: the pool opens another.
import type { ConnectionPool } from 'mssql';

/** tedious's Connection, as far as keeping one goes. */
interface TdsConnection {
  closed?: boolean;
  hasError?: boolean;
}

/** The parts of mssql's ConnectionPool that open and close its connections (not in its type declarations). */
interface PoolInternals {
  readonly connecting: boolean;
  _poolCreate(): Promise<TdsConnection>;
  _poolDestroy(connection: TdsConnection): Promise<void>;
  _close(callback: (error?: Error | null) => void): void;
}

/** `pool`, whose connect() keeps its checking login as the first pooled session instead of closing it. */
export function keepFirstLogin<P extends ConnectionPool>(pool: P): P {
  const internals = pool as unknown as PoolInternals;
  const create = internals._poolCreate.bind(pool);
  const destroy = internals._poolDestroy.bind(pool);
  const close = internals._close.bind(pool);
  let kept: TdsConnection | undefined;

  // connect() destroys its checking connection while it is still connecting; tarn destroys its own later.
  internals._poolDestroy = (connection) => {
    if (internals.connecting && kept === undefined && !connection.closed && !connection.hasError) {
      kept = connection;
      return Promise.resolve();
    }
    return destroy(connection);
  };
  internals._poolCreate = () => {
    const first = kept;
    kept = undefined;
    if (first && !first.closed && !first.hasError) return Promise.resolve(first);
    if (first) void destroy(first).catch(() => undefined);
    return create();
  };
  // A pool closed before its first request still closes the kept session.
  internals._close = (callback) => {
    const first = kept;
    kept = undefined;
    if (!first) return close(callback);
    destroy(first).then(
      () => close(callback),
      () => close(callback),
    );
  };
  return pool;
}
