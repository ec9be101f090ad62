// How one replica's connection is opened: the mssql configuration built from the inventory
// (auth, TLS), the operator-facing line for a failed connection (how it counts: connect-failure.ts),
// and a cancellable query.
// mssql is only ever imported as a type here; engine/drivers/run-resources.ts loads it lazily.
import { readFileSync } from 'node:fs';
import type { config as MssqlConfig, ConnectionPool, IResult } from 'mssql';
import type { ConnectionSpec, ReplicaSide } from '../../core/types.js';
import { stdinPasswordKey } from '../../core/secrets.js';
import { registerSecret } from '../../core/redact.js';
import { DEFAULT_PORT, endpointOf } from './endpoint.js';
import { classifyConnectFailure, ConnectionSetupError, hintFor, isLoginTimeout, isLostDuringLogin, NO_TCP_CONNECTION, type ConnectFailure } from './connect-failure.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;

/**
 * One key per server and per way of connecting to it: every setting of the connection is part of
 * it, so two inventory entries that reach one host with different TLS, credentials or timeouts
 * never share a session opened with the other's settings.
 */
export function serverKey(side: ReplicaSide, spec: ConnectionSpec): string {
  const settings = Object.entries({ ...spec, host: spec.host.toLowerCase(), port: spec.port ?? DEFAULT_PORT })
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${side}\u0000${JSON.stringify(settings)}`;
}

/** The password this connection needs, or undefined for Entra ID; never logged. */
export function passwordFor(side: ReplicaSide, spec: ConnectionSpec, env: NodeJS.ProcessEnv): string | undefined {
  const auth = spec.auth ?? 'sql';
  if (auth === 'entra') return undefined;
  if (spec.passwordStdin) {
    const fromStdin = env[stdinPasswordKey(side)];
    if (fromStdin === undefined || fromStdin === '') {
      throw new ConnectionSetupError(`The ${side} connection sets passwordStdin but no password was read from standard input.`);
    }
    registerSecret(fromStdin);
    return fromStdin;
  }
  if (!spec.passwordEnv) {
    throw new ConnectionSetupError(
      `The ${side} connection uses ${auth} authentication but names no passwordEnv; add the name of the environment variable that holds the password (or passwordStdin: true).`,
    );
  }
  const password = env[spec.passwordEnv];
  if (password === undefined || password === '') {
    throw new ConnectionSetupError(
      `Environment variable ${spec.passwordEnv} is not set; it holds the password for the ${side} connection (${endpointOf(spec)}).`,
    );
  }
  registerSecret(password);
  return password;
}

/** The mssql configuration for one replica. One session per replica: see createRunResources. */
export function poolConfig(side: ReplicaSide, spec: ConnectionSpec, env: NodeJS.ProcessEnv): MssqlConfig {
  const auth = spec.auth ?? 'sql';
  const options: NonNullable<MssqlConfig['options']> & Record<string, unknown> = {
    encrypt: spec.encrypt ?? true,
    trustServerCertificate: spec.trustServerCertificate ?? false,
    appName: 'runbook',
  };
  // The certificate is checked against serverName when the inventory gives an address as host.
  if (spec.serverName) options.serverName = spec.serverName;
  if (spec.caFile) {
    let ca: string;
    try {
      ca = readFileSync(spec.caFile, 'utf8');
    } catch (error) {
      throw new ConnectionSetupError(
        `Cannot read caFile ${spec.caFile} of the ${side} connection: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}.`,
      );
    }
    options.cryptoCredentialsDetails = { ca };
  }
  const config: MssqlConfig = {
    server: spec.host,
    port: spec.port ?? DEFAULT_PORT,
    database: 'master',
    connectionTimeout: spec.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    requestTimeout: spec.requestTimeoutMs ?? 30_000,
    // One connection, kept open: the batches of a script and the steps of a run share one
    // session per replica (USE, SET and app locks hold), as in a DBA's query window.
    pool: { min: 0, max: 1, idleTimeoutMillis: 24 * 3600_000 },
    options,
  };
  // A pooled connection is checked before each request without a query of its own: logged in,
  // socket open (a session the server ended is replaced as before). mssql's default sends
  // `SELECT 1` first, a round trip before every request (53 of a planned failover's 176
  // statements), and on a lock session, whose requests have no driver timer, one that could wait
  // for ever on a half-open connection (engine/drivers/sql/lock-sessions.ts bounds the requests).
  (config as { validateConnection?: boolean | 'socket' }).validateConnection = 'socket';
  if (auth === 'entra') {
    config.authentication = { type: 'azure-active-directory-default', options: {} } as MssqlConfig['authentication'];
  } else {
    if (!spec.user) {
      throw new ConnectionSetupError(`The ${side} connection uses ${auth} authentication but names no user.`);
    }
    config.user = spec.user;
    config.password = passwordFor(side, spec, env);
    if (auth === 'ntlm') {
      if (!spec.domain) throw new ConnectionSetupError(`The ${side} connection uses NTLM but names no domain.`);
      config.domain = spec.domain;
    }
  }
  return config;
}

export type TcpProbe = { connected: true } | { connected: false; code: string };

/**
 * Whether a plain TCP connection to host:port can be made now: connected, or the socket error
 * (ETIMEDOUT after `timeoutMs`). Nothing is sent; the socket is closed at once.
 */
export async function probeTcp(host: string, port: number, timeoutMs: number): Promise<TcpProbe> {
  // node:net is loaded here, not with the module: validate and plan import this file through the
  // step modules and never open a socket (start-up budget, bench/startup).
  const { connect: tcpConnect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const done = (result: TcpProbe) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ connected: false, code: 'ETIMEDOUT' }), timeoutMs);
    socket.once('connect', () => done({ connected: true }));
    socket.once('error', (error: NodeJS.ErrnoException) => done({ connected: false, code: error.code ?? 'ECONNRESET' }));
  });
}

/**
 * classifyConnectFailure, with the question a login timeout or a connection lost during the login
 * leaves open answered by a plain TCP connect to the same endpoint: if it connects, the server is
 * there and did not complete the login (a set-up error, never "unreachable": a replica that listens
 * is never taken for down, which `allowUnreachable` would act on); only a connect refused, timed
 * out or without a route makes the replica unreachable (it went down, e.g. during the login).
 * Used wherever the run opens its connections (engine/drivers/run-resources.ts), so the preflight
 * and `allowUnreachable` see this answer.
 */
export async function classifyConnectFailureProbed(error: unknown, spec: ConnectionSpec): Promise<ConnectFailure> {
  const endpoint = endpointOf(spec);
  const lost = isLostDuringLogin(error);
  if (!isLoginTimeout(error) && !lost) return classifyConnectFailure(error, endpoint);
  const timeoutMs = spec.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const tcp = await probeTcp(spec.host, spec.port ?? DEFAULT_PORT, timeoutMs);
  const what = lost ? 'the connection was lost during the login (ESOCKET)' : `the login timed out after ${timeoutMs} ms (ETIMEOUT)`;
  if (tcp.connected) {
    return {
      unreachable: false,
      reason: lost
        ? `the server at ${endpoint} accepted the TCP connection and then closed it during the login (ESOCKET), and it accepts TCP connections still: it is up, not unreachable`
        : `the server at ${endpoint} accepted the TCP connection but did not answer the login within ${timeoutMs} ms (ETIMEOUT): it is up, not unreachable`,
    };
  }
  const why = NO_TCP_CONNECTION[tcp.code];
  if (!why) return { unreachable: false, reason: `${what} and a TCP connect to ${endpoint} then failed with ${tcp.code}` };
  return { unreachable: true, reason: lost ? `${what} and a new TCP connection to ${endpoint} then ${why} (${tcp.code}): the replica went down` : `the TCP connection to ${endpoint} ${why} (${tcp.code})` };
}

/** One line an operator can act on; the password is scrubbed even if a driver echoed it. */
export function describeConnectError(
  side: ReplicaSide,
  spec: ConnectionSpec,
  error: unknown,
  password?: string,
  /** What classifyConnectFailureProbed found, when it was asked. */
  probed?: ConnectFailure,
): string {
  const e = error as { code?: string; message?: string };
  let text = String(e?.message ?? error);
  if (password) text = text.split(password).join('***');
  const hint = hintFor(e?.code, text, spec);
  const failure = classifyConnectFailure(error);
  // After a login timeout the probe knows better: the TCP connect failed, or it connected and heard nothing.
  const timedOut = probed !== undefined && (isLoginTimeout(error) || isLostDuringLogin(error));
  // A connect that never got a TCP connection says so ("refused", "unreachable") rather than "failed".
  const reason = timedOut ? probed.reason : failure.unreachable ? failure.reason : hint.reason;
  const check = !timedOut || probed.unreachable
    ? hint.check
    : isLostDuringLogin(error)
      ? "check the server's error log and that nothing between (a proxy, a TLS-inspecting firewall) closes the connection"
      : 'check that the server is not starved of worker threads or held by a login trigger, and that nothing between intercepts the connection (or raise connectTimeoutMs)';
  const detail = text.replace(/\.$/, '');
  return `Cannot connect to ${side} at ${endpointOf(spec)}: ${reason} (${detail}); ${check}.`;
}

/**
 * Connects `pool` (the lock's and a wave's shared sessions); a failure closes it and throws one line
 * for the operator that carries its classification: only a replica that never answered may count
 * as unreachable (a server that takes the TCP connection and then says nothing is up, asked of the
 * network as the preflight asks).
 */
export async function connectClassified(pool: ConnectionPool, side: ReplicaSide, spec: ConnectionSpec, password: string | undefined): Promise<void> {
  try {
    await pool.connect();
  } catch (error) {
    await pool.close().catch(() => undefined);
    throw await classifiedConnectError(side, spec, error, password);
  }
}

/**
 * A failed login as one line for the operator that carries its classification (`unreachable`,
 * `reason`; a login timeout asked again of the network), as the run's own connections report one.
 */
export async function classifiedConnectError(side: ReplicaSide, spec: ConnectionSpec, error: unknown, password: string | undefined): Promise<Error> {
  const probed = await classifyConnectFailureProbed(error, spec);
  return Object.assign(new Error(describeConnectError(side, spec, error, password, probed)), probed);
}

export type QueryParams = Record<string, string | number | boolean | null>;

/**
 * How long a request may run before the driver cancels it (ATTENTION), in ms: 0 sets no timer,
 * so only `signal` (the run's interrupt, the step's own timeout, the outcome deadline) cancels it;
 * absent, the connection's requestTimeoutMs (default 30 s) applies.
 */
export interface RunSqlOptions {
  requestTimeoutMs?: number;
}

/**
 * Runs one statement (sp_executesql when it has parameters, else a plain batch as sqlcmd sends it)
 * and cancels it when `signal` aborts.
 */
export async function runSql(
  pool: ConnectionPool,
  text: string,
  params: QueryParams = {},
  signal?: AbortSignal,
  options: RunSqlOptions = {},
): Promise<IResult<Record<string, unknown>>> {
  signal?.throwIfAborted();
  // mssql 12 takes per-request overrides (ConnectionPool.request({ requestTimeout }), 0 = no
  // timer in tedious); its type declarations do not show the argument.
  const request =
    options.requestTimeoutMs === undefined
      ? pool.request()
      : (pool.request as (this: ConnectionPool, conf: { requestTimeout: number }) => ReturnType<ConnectionPool['request']>).call(pool, {
          requestTimeout: options.requestTimeoutMs,
        });
  for (const [name, value] of Object.entries(params)) request.input(name, value);
  const onAbort = () => request.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const hasParams = Object.keys(params).length > 0;
    return hasParams ? await request.query(text) : await request.batch(text);
  } catch (error) {
    if (signal?.aborted) throw signal.reason ?? error;
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
