// How one replica's connection is opened: the mssql configuration built from the inventory
// (auth, TLS), the operator-facing wording of connection failures, and a cancellable query.
// mssql is only ever imported as a type here; engine/connections.ts loads it lazily.
import { readFileSync } from 'node:fs';
import type { config as MssqlConfig, ConnectionPool, IResult } from 'mssql';
import type { ConnectionSpec, ReplicaSide } from './types.js';
import { stdinPasswordKey } from './secrets.js';
import { registerSecret } from './redact.js';

export const DEFAULT_PORT = 1433;

/** Bad connection settings in the inventory or environment: worded for the operator, no secrets. */
export class ConnectionSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionSetupError';
  }
}

export function endpointOf(spec: ConnectionSpec): string {
  return `${spec.host}:${spec.port ?? DEFAULT_PORT}`;
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
    connectionTimeout: spec.connectTimeoutMs ?? 15_000,
    requestTimeout: spec.requestTimeoutMs ?? 30_000,
    // One connection, kept open: the batches of a script and the steps of a run share one
    // session per replica (USE, SET and app locks hold), as in a DBA's query window.
    pool: { min: 0, max: 1, idleTimeoutMillis: 24 * 3600_000 },
    options,
  };
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

/** What to check, by the kind of failure the driver reports. */
function hintFor(code: string | undefined, text: string, spec: ConnectionSpec): { reason: string; check: string } {
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
  return { reason: 'the connection failed', check: 'check that the server is running and that the host, port and firewall let this machine in' };
}

/** One line an operator can act on; the password is scrubbed even if a driver echoed it. */
export function describeConnectError(
  side: ReplicaSide,
  spec: ConnectionSpec,
  error: unknown,
  password?: string,
): string {
  const e = error as { code?: string; message?: string };
  let text = String(e?.message ?? error);
  if (password) text = text.split(password).join('***');
  const { reason, check } = hintFor(e?.code, text, spec);
  const detail = text.replace(/\.$/, '');
  return `Cannot connect to ${side} at ${endpointOf(spec)}: ${reason} (${detail}); ${check}.`;
}

/** Errors worth another try after reconnecting: the connection went away, not the SQL. */
export function isConnectionLoss(error: unknown): boolean {
  const e = error as { name?: string; code?: string };
  if (e?.code === 'ELOGIN') return false;
  if (e instanceof ConnectionSetupError) return false;
  if (e?.name === 'ConnectionError' || e?.name === 'ConnectionLostError') return true;
  return ['ESOCKET', 'ECONNCLOSED', 'ECONNRESET', 'ENOTOPEN', 'ETIMEOUT', 'ENOCONN'].includes(e?.code ?? '');
}

export type QueryParams = Record<string, string | number | boolean | null>;

/**
 * Runs one statement (sp_executesql when it has parameters, else a plain batch as sqlcmd sends it)
 * and cancels it when `signal` aborts.
 */
export async function runSql(
  pool: ConnectionPool,
  text: string,
  params: QueryParams = {},
  signal?: AbortSignal,
): Promise<IResult<Record<string, unknown>>> {
  signal?.throwIfAborted();
  const request = pool.request();
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
