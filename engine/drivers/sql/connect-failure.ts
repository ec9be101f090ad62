// How a failure to reach a replica counts and how it is worded: unreachable (never answered) or a
// set-up error, worth a reconnect or not. Pure: no driver, no socket. Apart from pool.ts because
// the step modules decide with it, and validate and plan load the step modules but never connect
// (start-up budget, bench/startup).
import type { ConnectionSpec } from '../../core/types.js';

/** Bad connection settings in the inventory or environment: worded for the operator, no secrets. */
export class ConnectionSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionSetupError';
  }
}

/**
 * Socket errors that mean no TCP connection could be made: refused (a reset while connecting is
 * how a closed port or a host's firewall may answer too), timed out, or no route to the host.
 */
export const NO_TCP_CONNECTION: Record<string, string> = {
  ECONNREFUSED: 'was refused',
  ECONNRESET: 'was reset while connecting',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'found no route to the host',
  ENETUNREACH: 'found the network unreachable',
  EHOSTDOWN: 'found the host down',
  ENETDOWN: 'found the network down',
};

/** How a failure to open a connection counts: only a replica that never answered is unreachable. */
export interface ConnectFailure {
  /**
   * True only when no TCP connection could be made (refused, timed out, no route). A server that
   * answered, with a refused login or a certificate we do not accept, or that accepted the TCP
   * connection and then did not answer the login, is up: a set-up error, never "unreachable".
   */
  unreachable: boolean;
  /** Why, in a few words, e.g. `the TCP connection was refused (ECONNREFUSED)`. */
  reason: string;
}

/** The socket-level errors tedious's connector collected, one per address tried (an AggregateError). */
function connectorErrors(error: unknown): Array<{ code?: string }> | undefined {
  const seen = new Set<unknown>();
  let e = error as { originalError?: unknown; cause?: unknown; errors?: unknown } | undefined;
  while (e && typeof e === 'object' && !seen.has(e)) {
    seen.add(e);
    if (Array.isArray(e.errors) && e.errors.length > 0) return e.errors as Array<{ code?: string }>;
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return undefined;
}

/**
 * Classifies a failure to open a connection (or to get one back, mid-run). Only what provably
 * never reached a server may let a runbook go on with `allowUnreachable`: anything else (a login
 * refused with 18456, a password variable not set, a certificate not trusted, a name that does
 * not resolve, a connection dropped after the server accepted it) is a set-up error.
 */
export function classifyConnectFailure(error: unknown, endpoint?: string): ConnectFailure {
  const e = error as { name?: string; code?: string; message?: string; unreachable?: unknown; reason?: unknown } | undefined;
  // Already classified where the connection was opened (ReplicaConnectError).
  if (typeof e?.unreachable === 'boolean') return { unreachable: e.unreachable, reason: String(e.reason ?? e.message ?? error) };
  if (error instanceof ConnectionSetupError) return { unreachable: false, reason: error.message.replace(/\.$/, '') };
  if (e?.code === 'ELOGIN') return { unreachable: false, reason: 'the login was refused' };
  // tedious's connectTimeout covers the TCP connect and the login after it alike: on its own it
  // cannot tell a host that never answered from a server that accepted the connection and then
  // said nothing (starved, a blocking login trigger, a middlebox). classifyConnectFailureProbed
  // asks the network which; this synchronous answer is for the lock's own connections.
  if (isLoginTimeout(error)) {
    return { unreachable: true, reason: `the server${endpoint ? ` at ${endpoint}` : ''} did not answer in time (ETIMEOUT)` };
  }
  const socket = connectorErrors(error);
  if (socket && socket.every((s) => s.code !== undefined && s.code in NO_TCP_CONNECTION)) {
    const codes = [...new Set(socket.map((s) => s.code!))];
    const what = codes.map((c) => `${NO_TCP_CONNECTION[c]} (${c})`).join(', ');
    return { unreachable: true, reason: `the TCP connection${endpoint ? ` to ${endpoint}` : ''} ${what}` };
  }
  const text = String(e?.message ?? error);
  return { unreachable: false, reason: hintFor(e?.code, text, { host: '' }).reason };
}

/** tedious's connectTimeout (a ConnectionError; a RequestError with ETIMEOUT is a slow query, not this). */
export function isLoginTimeout(error: unknown): boolean {
  const e = error as { name?: string; code?: string; unreachable?: unknown } | undefined;
  return e?.code === 'ETIMEOUT' && e.name === 'ConnectionError' && typeof e.unreachable !== 'boolean';
}

/**
 * The TCP connection was made and then lost before the login completed (tedious: a ConnectionError
 * ESOCKET that is none of the connector's own TCP errors, e.g. "socket hang up" during the TLS
 * handshake or the login). The server answered the connect; whether it is still there is for
 * pool.ts classifyConnectFailureProbed to ask the network, as after a login timeout.
 */
export function isLostDuringLogin(error: unknown): boolean {
  const e = error as { name?: string; code?: string; message?: string; unreachable?: unknown } | undefined;
  if (e?.name !== 'ConnectionError' || e.code !== 'ESOCKET' || typeof e.unreachable === 'boolean' || connectorErrors(error) !== undefined) return false;
  // Only a connection that was there and went away: a certificate refused, a TLS version not agreed,
  // a name that does not resolve are tedious's ESOCKET too, and are not this.
  const message = String(e.message);
  if (/certificate|self.signed|altnames|CERT_|unable to verify|EPROTO|wrong version|ENOTFOUND|EAI_AGAIN|getaddrinfo/i.test(message)) return false;
  return /socket hang up|Connection lost|disconnected|ECONNRESET|EPIPE/i.test(message);
}

/** What to check, by the kind of failure the driver reports. */
export function hintFor(code: string | undefined, text: string, spec: ConnectionSpec): { reason: string; check: string } {
  const auth = spec.auth ?? 'sql';
  if (code === 'ELOGIN') {
    const check =
      auth === 'entra'
        ? 'check that the Entra ID identity found by DefaultAzureCredential has a login on this server'
        : spec.passwordStdin
          ? `check the login '${spec.user}' and the password given on standard input`
          : `check the login '${spec.user}' and the password in environment variable ${spec.passwordEnv}`;
    return { reason: 'the login was refused', check };
  }
  if (/certificate|self.signed|altnames|CERT_|SSL|TLS|unable to verify/i.test(text)) {
    return {
      reason: 'the TLS certificate was not accepted',
      check: spec.caFile
        ? `check that caFile ${spec.caFile} signed the server's certificate and that ${spec.serverName ?? spec.host} is a name in it (serverName)`
        : 'check the certificate chain: set caFile to the CA that signed it, serverName to the name in it, or trustServerCertificate only for a test server',
    };
  }
  if (code === 'EENCRYPT' || /encrypt/i.test(text)) {
    return { reason: 'encryption could not be negotiated', check: 'check the server\'s TLS settings and the inventory\'s encrypt setting' };
  }
  if (code === 'ETIMEOUT') {
    return { reason: 'the server did not answer in time', check: 'check the host and port, firewalls and network security groups, and connectTimeoutMs' };
  }
  if (/ENOTFOUND|EAI_AGAIN|getaddrinfo/.test(text)) {
    return { reason: 'the host name could not be resolved', check: 'check the host in the inventory and DNS (an address with serverName for the certificate works too)' };
  }
  return { reason: 'the connection failed', check: 'check that the server is running and that the host, port and firewall let this machine in' };
}

/**
 * mssql refused the request before taking a connection for it, so nothing of it was written: its
 * pool was closed (ECONNCLOSED, mssql lib/base/request.js, checked before it acquires one) or is
 * not open or closing (ENOTOPEN, lib/base/connection-pool.js _acquire).
 */
export function notSentByDriver(error: unknown): boolean {
  const e = error as { name?: string; code?: string } | undefined;
  return e?.name === 'ConnectionError' && (e.code === 'ECONNCLOSED' || e.code === 'ENOTOPEN');
}

/** Errors worth another try after reconnecting: the connection went away, not the SQL. */
export function isConnectionLoss(error: unknown): boolean {
  const e = error as { name?: string; code?: string; unreachable?: unknown };
  if (e?.code === 'ELOGIN') return false;
  if (e instanceof ConnectionSetupError) return false;
  // A reconnect the server answered and refused (TLS, login) will not get better by trying again.
  if (e?.unreachable === false) return false;
  if (e?.name === 'ConnectionError' || e?.name === 'ConnectionLostError') return true;
  // EPIPE: the server went away while a request was being written (a RequestError, not a
  // ConnectionError); part of it may have arrived, so for a change its outcome is unknown.
  return ['ESOCKET', 'ECONNCLOSED', 'ECONNRESET', 'EPIPE', 'ENOTOPEN', 'ETIMEOUT', 'ENOCONN'].includes(e?.code ?? '');
}
