// A wave's step sessions: a few sessions per server that every link's run borrows, instead of a
// session per link (issue 13: 50 links on one SQL Server must not cost 50 logins). A single run
// never comes here: it keeps its own session per replica (engine/drivers/run-resources.ts).
//
// What each link having its own session guaranteed, and how sharing keeps it:
//  - What a script sets (USE, SET) carries between its GO batches: a step's batches run in one
//    borrow (inOneSession), on one session, which nobody else uses meanwhile. A poll (every other
//    query) borrows a session for that one query.
//  - Nothing leaks from one borrower to the next: a session handed back is reset before anyone
//    else gets it (tedious's Connection.reset(): the next request goes with the TDS header's
//    RESETCONNECTION flag, which "signals the server to clean up the environment state of the
//    connection back to the default environment setting, effectively simulating a logout and a
//    subsequent login", MS-TDS 2.2.3.1.2, and with it tedious's own SET options again), unless
//    all it ran was one plain SELECT, which leaves nothing behind (the polls: most borrows). The
//    same paragraph of MS-TDS goes on: "Distributed transactions and isolation levels are not
//    reset" (and Microsoft KB 972915: a pooled connection keeps its isolation level "by design").
//    The isolation level is put back all the same: tedious's reset() sends its initial SET batch
//    with the flag, `set transaction isolation level read committed` included. A distributed
//    transaction is not: a step must not begin one (validate warns of BEGIN DISTRIBUTED without
//    its COMMIT, engine/drivers/sql/session-state.ts), nor leave EXECUTE AS or an application
//    role behind, which a reset is not documented to undo either.
//  - A role change ends the sessions whose database is the link's (lab/model/lab-model.ts names
//    the sources): reset puts a session back in the login's database, master, so idle sessions
//    sit there between borrows. One that ended anyway (or whose reset failed) is closed, and the
//    pool opens a new one when next asked: a fresh login, which the lab counts.
//  - A statement with no answer holds only its own session, for at most its request timeout
//    (reads) or its step's timeout (changes); the others keep serving the wave.
// Session-owned app locks would go with a reset: the link locks live on their own sessions
// (engine/drivers/sql/lock-sessions.ts), never borrowed from here.
import type { ConnectionPool } from 'mssql';
import type { ConnectionSpec, ReplicaSide } from '../../core/types.js';
import { UsageError } from '../../core/errors.js';
import { readOnlyProblem } from './checks.js';
import { keepFirstLogin } from './kept-login.js';
import { classifiedConnectError, connectClassified, describeConnectError, poolConfig, runSql, serverKey } from './pool.js';
import { isConnectionLoss } from './connect-failure.js';
import { mssqlPackage } from '../packages.js';

/** How many sessions a wave opens per server for its steps (the link locks have their own). */
export const DEFAULT_SESSIONS_PER_SERVER = 3;

/** A pool's connection as this module uses it (tedious's Connection). */
interface TdsConnection {
  closed?: boolean;
  reset(callback: (error?: Error) => void): void;
  close(): void;
}

type AcquireCallback = (error: Error | null, connection?: TdsConnection, config?: unknown) => void;

/** What mssql's ConnectionPool does for its own Requests (acquire, release), which its type declarations do not show. */
interface Lending {
  config: unknown;
  collation?: unknown;
  acquire(requester: unknown): Promise<TdsConnection>;
  release(connection: TdsConnection): void;
}

/** One server's sessions: mssql's pool of at most `perServer` connections, in master. */
interface ServerPool {
  pool: ConnectionPool;
  /** The same pool, as its Requests use it. */
  lending: Lending;
  /** mssql's Request and ConnectionError, loaded with the pool (validate and plan never load mssql). */
  driver: typeof import('mssql');
  /**
   * A session that could not be opened when asked for, told as the run's own connect failures are
   * ("Cannot connect to sqlServer at host:port: ..."), not in the driver's words (attack r5conn finding 7).
   */
  connectFailure(error: Error): Error;
  /** The same failure classified (unreachable or a set-up error; a login timeout asked of the network), for the live check. */
  classified(error: unknown): Promise<Error>;
}

/** The driver's error behind each connectFailure, for the live check to classify. */
const failedLogins = new WeakMap<Error, unknown>();

/** A server's sessions, as the wave's runs ask for them. */
export interface ServerSessions {
  /**
   * A pool-like handle on the server's shared sessions (opened on first use): each query borrows
   * a session, inOneSession keeps one for a whole script. Throws as a failed connect does, classified.
   */
  borrower(side: ReplicaSide, spec: ConnectionSpec, env: NodeJS.ProcessEnv): Promise<ConnectionPool>;
  /**
   * Asks the server for a live session now, as a single run's connect preflight does by logging in
   * (attack r5conn finding 8: a borrower alone connects nothing once the server's pool is open):
   * one is borrowed (a new login when none is live any more) and answers a plain SELECT. A failed
   * login throws classified, as a failed connect does (unreachable or a set-up error).
   */
  live(side: ReplicaSide, spec: ConnectionSpec, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<void>;
  /** Closes every server's sessions. After the wave's runs ended. */
  close(): Promise<void>;
}

/** What inOneSession asks of a pool: a pool of one connection has no such method and needs none. */
interface SessionHolder {
  holdSession(signal?: AbortSignal): Promise<() => void>;
}

/**
 * Runs `work` with every request it sends on `pool` going to one session that nobody else uses
 * meanwhile (USE and SET carry from one batch to the next, as in a DBA's query window). A run's
 * own pool has one connection, so that holds already; a wave's borrower keeps one of the server's
 * sessions until `work` ends, then resets it and hands it back.
 */
export async function inOneSession<T>(pool: ConnectionPool, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const hold = (pool as unknown as Partial<SessionHolder>).holdSession;
  if (typeof hold !== 'function') return work();
  const release = await hold.call(pool, signal);
  try {
    return await work();
  } finally {
    release();
  }
}

/**
 * Hands a session back to the server's pool, reset first unless `clean` (it ran only plain reads);
 * one that ended or cannot be reset is closed (the pool replaces it).
 */
function handBack(server: ServerPool, connection: TdsConnection, clean = false): void {
  if (connection.closed || clean) {
    server.lending.release(connection);
    return;
  }
  connection.reset((error) => {
    if (error) connection.close();
    server.lending.release(connection);
  });
}

/** Plain reads already judged (the polls send the same few texts again and again). */
const plainReads = new Map<string, boolean>();

/**
 * A plain SELECT (engine/drivers/sql/checks.ts readOnlyProblem: an allow-list with no USE, SET,
 * INTO, EXEC, DECLARE or BEGIN) leaves nothing in the session for the next borrower, so its
 * session goes back without a reset (a reset is a round trip, and tedious's SET batch after it).
 */
function leavesNoSessionState(text: string): boolean {
  let known = plainReads.get(text);
  if (known === undefined) {
    known = readOnlyProblem(text) === undefined;
    if (plainReads.size >= 256) plainReads.clear();
    plainReads.set(text, known);
  }
  return known;
}

interface Held {
  connection: TdsConnection;
  busy: boolean;
  waiting: AcquireCallback[];
  ending: boolean;
}

/**
 * What mssql's Request needs of its parent (acquire, release, config), over a server's shared
 * sessions, so that steps and runSql use it as they use a ConnectionPool. Not shared between
 * callers: each `sql(side)` of a run gets its own, so one step's held session is that step's alone.
 */
class SessionBorrower implements SessionHolder {
  readonly connected = true;
  private held: Held | undefined;
  private readonly holding = new Map<TdsConnection, Held>();
  /** The text each of this borrower's requests sends, and whether the session it borrowed ran only that plain read. */
  private readonly texts = new WeakMap<object, string>();
  private readonly lentForRead = new WeakMap<TdsConnection, boolean>();

  constructor(private readonly server: ServerPool) {}

  get config(): unknown {
    return this.server.lending.config;
  }

  get collation(): unknown {
    return this.server.lending.collation;
  }

  request(overrides?: { requestTimeout?: number }): unknown {
    const Request = this.server.driver.Request as unknown as new (parent: unknown, overrides?: unknown) => unknown;
    const request = new Request(this, overrides) as { query(text: string, ...rest: unknown[]): unknown; batch(text: string, ...rest: unknown[]): unknown };
    for (const send of ['query', 'batch'] as const) {
      const original = request[send];
      request[send] = (text: string, ...rest: unknown[]) => {
        this.texts.set(request, text);
        return original.call(request, text, ...rest);
      };
    }
    return request;
  }

  acquire(requester: unknown, callback: AcquireCallback): this {
    const config = this.server.lending.config;
    const held = this.held;
    if (!held) {
      const text = typeof requester === 'object' && requester !== null ? this.texts.get(requester) : undefined;
      this.server.lending.acquire(this).then(
        (connection) => {
          this.lentForRead.set(connection, text !== undefined && leavesNoSessionState(text));
          process.nextTick(callback, null, connection, config);
        },
        (error: Error) => process.nextTick(callback, this.server.connectFailure(error)),
      );
      return this;
    }
    if (held.connection.closed) {
      // Another session would not have what the script set: the script's session is lost, as a lost connection is.
      process.nextTick(callback, new this.server.driver.ConnectionError("The script's session ended.", 'ECONNCLOSED'));
    } else if (held.busy) held.waiting.push(callback);
    else {
      held.busy = true;
      process.nextTick(callback, null, held.connection, config);
    }
    return this;
  }

  release(connection: TdsConnection): this {
    const held = this.holding.get(connection);
    if (!held) {
      handBack(this.server, connection, this.lentForRead.get(connection) === true);
      return this;
    }
    held.busy = false;
    const next = held.waiting.shift();
    if (next) this.acquire(undefined, next);
    else if (held.ending) this.endHold(held);
    return this;
  }

  /** `signal` gives up the wait for a session (the step's timeout, an interrupt); one that comes later goes straight back. */
  async holdSession(signal?: AbortSignal): Promise<() => void> {
    if (this.held) throw new Error('a session is already held by this borrower');
    signal?.throwIfAborted();
    const acquiring = this.server.lending.acquire(this).catch((error: Error) => Promise.reject(this.server.connectFailure(error)));
    let connection: TdsConnection;
    if (!signal) connection = await acquiring;
    else {
      let onAbort!: () => void;
      const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', (onAbort = () => reject(signal.reason)), { once: true }));
      try {
        connection = await Promise.race([acquiring, aborted]);
      } catch (error) {
        acquiring.then((late) => handBack(this.server, late, true), () => undefined);
        throw error;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    }
    const held: Held = { connection, busy: false, waiting: [], ending: false };
    this.held = held;
    this.holding.set(connection, held);
    return () => {
      if (this.held === held) this.held = undefined;
      held.ending = true;
      // A request still in flight (cancelled, waiting for its answer) hands the session back when it ends.
      if (!held.busy) this.endHold(held);
    };
  }

  private endHold(held: Held): void {
    if (this.holding.get(held.connection) !== held) return;
    this.holding.delete(held.connection);
    handBack(this.server, held.connection);
  }

  /** The run is done with its handle; the server's sessions stay for the wave's other runs. */
  async close(): Promise<void> {}
}

/** A wave's step sessions: at most `perServer` per server, shared by every link's run. */
export function serverSessions(perServer: number = DEFAULT_SESSIONS_PER_SERVER): ServerSessions {
  const servers = new Map<string, Promise<ServerPool>>();
  let closed = false;

  async function open(side: ReplicaSide, spec: ConnectionSpec, env: NodeJS.ProcessEnv): Promise<ServerPool> {
    const driver = mssqlPackage();
    const config = poolConfig(side, spec, env);
    // A borrower waits its turn however long the queue is: each holder is bounded by its own
    // request or step timeout. A session is checked without a query before it is lent (poolConfig:
    // a closed one is replaced), and kept however long it is idle (no login storm between waves of polls).
    config.pool = { min: 0, max: perServer, idleTimeoutMillis: 2 ** 31 - 1, acquireTimeoutMillis: 2 ** 31 - 1 };
    const pool = keepFirstLogin(new driver.ConnectionPool(config));
    // Errors outside a request end that connection; the pool replaces it when next asked.
    pool.on('error', () => undefined);
    await connectClassified(pool, side, spec, config.password);
    const connectFailure = (error: Error) => {
      const code = (error as { code?: string }).code as ConstructorParameters<typeof driver.ConnectionError>[1];
      const failure = Object.assign(new driver.ConnectionError(describeConnectError(side, spec, error, config.password), code), { cause: error });
      failedLogins.set(failure, error);
      return failure;
    };
    const classified = (error: unknown) => classifiedConnectError(side, spec, error, config.password);
    return { pool, lending: pool as unknown as Lending, driver, connectFailure, classified };
  }

  async function serverPool(side: ReplicaSide, spec: ConnectionSpec, env: NodeJS.ProcessEnv): Promise<ServerPool> {
    if (closed) throw new Error("the wave's sessions are closed");
    const key = serverKey(side, spec);
    let server = servers.get(key);
    if (!server) {
      server = open(side, spec, env);
      servers.set(key, server);
      // A server that could not be reached is tried afresh by the next run that asks.
      const opening = server;
      opening.catch(() => servers.get(key) === opening && servers.delete(key));
    }
    return server;
  }

  return {
    async borrower(side, spec, env) {
      return new SessionBorrower(await serverPool(side, spec, env)) as unknown as ConnectionPool;
    },
    async live(side, spec, env, signal) {
      signal?.throwIfAborted();
      const server = await serverPool(side, spec, env);
      const pool = new SessionBorrower(server) as unknown as ConnectionPool;
      // A session lost under the check (a KILL at that instant, a socket the pool had not yet
      // seen close) is not the server refusing us: the check asks once more, on a live one.
      for (let attempt = 1; ; attempt++) {
        try {
          await untilAborted(runSql(pool, 'SELECT 1 AS live;'), signal);
          return;
        } catch (error) {
          const login = failedLogins.get(error as Error);
          if (login !== undefined) throw await server.classified(login);
          // A SELECT 1 with no answer in its request timeout is a server that does not answer, not a lost session.
          if (attempt < 2 && isConnectionLoss(error) && (error as { code?: string }).code !== 'ETIMEOUT') continue;
          throw error;
        }
      }
    },
    async close() {
      closed = true;
      const all = [...servers.values()];
      servers.clear();
      await Promise.all(all.map(async (s) => (await s.catch(() => undefined))?.pool.close().catch(() => undefined)));
    },
  };
}

/**
 * `work`, or the signal's reason as soon as it aborts (an interrupt while the live check waits for
 * one of the server's sessions ends the wait at once; the check, a plain read, still runs when a
 * session comes free, and that session goes straight back).
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  work.catch(() => undefined);
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** The most RUNBOOK_SESSIONS_PER_SERVER may ask: a few per server is the point; more is surely a typo. */
export const MAX_SESSIONS_PER_SERVER = 100;

/**
 * RUNBOOK_SESSIONS_PER_SERVER, for a server that allows more (or a test that pins more runs in
 * their queries than the default lets run at once); the default when it is not set. A value that
 * is not a whole number from 1 to MAX_SESSIONS_PER_SERVER is a usage error (exit 2), not the
 * default in silence: an operator who set it to spare a struggling server must know it did not take.
 */
export function sessionsPerServer(env: NodeJS.ProcessEnv): number {
  const raw = env.RUNBOOK_SESSIONS_PER_SERVER;
  if (raw === undefined || raw.trim() === '') return DEFAULT_SESSIONS_PER_SERVER;
  const n = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || n < 1 || n > MAX_SESSIONS_PER_SERVER) {
    throw new UsageError(`RUNBOOK_SESSIONS_PER_SERVER must be a whole number from 1 to ${MAX_SESSIONS_PER_SERVER}, not "${raw}"`);
  }
  return n;
}
