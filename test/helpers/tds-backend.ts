// A small SqlBackend for the TDS layer's tests: it answers canned ReplyItems per statement
// text, checks passwords, and records what it saw (never a password). It is the server side
// the real mssql/tedious clients talk to, not a stand-in for the drivers.
import type { LabCertificates } from '../../lab/certs.js';
import { testCertificates } from './certificates.js';
import type {
  FaultAction,
  LoginRequest,
  ReplyItem,
  Session,
  SqlBackend,
  SqlMessage,
  SqlRequest,
} from '../../lab/tds/contract.js';
import { startTdsServer, type TdsServer } from '../../lab/tds/server.js';

export type Answer = (
  req: SqlRequest,
  signal: AbortSignal,
  sessionId: number,
) => ReplyItem[] | FaultAction | Promise<ReplyItem[] | FaultAction>;

export interface RecordedRequest {
  sessionId: number;
  kind: SqlRequest['kind'];
  sql: string;
  params: SqlRequest['params'];
}

export const SERVER_NAME = 'LABSQL01';

export function sqlError(number: number, message: string, extra: Partial<SqlMessage> = {}): ReplyItem {
  return { kind: 'error', error: { number, message, state: 1, class: 16, line: 1, ...extra }, abortsBatch: true };
}

export function intRows(name: string, ...values: number[]): ReplyItem {
  return {
    kind: 'rows',
    columns: [{ name, sqlType: { type: 'int' }, nullable: false }],
    rows: values.map((v) => [v]),
  };
}

export class TestBackend implements SqlBackend {
  accept: 'accept' | 'refuse' | 'hang' = 'accept';
  users: Record<string, string> = { lab: 'S3cret-pass!' };
  readonly requests: RecordedRequest[] = [];
  readonly logins: Array<Omit<LoginRequest, 'password'> & { ok: boolean }> = [];
  readonly closedSessions: number[] = [];
  private readonly canned = new Map<string, Answer>();
  private nextSession = 51;

  /** Answers exactly this statement text (trimmed) with `answer`. */
  on(sql: string, answer: Answer | ReplyItem[] | FaultAction): this {
    this.canned.set(sql.trim(), typeof answer === 'function' ? answer : () => answer);
    return this;
  }

  serverName(): string {
    return SERVER_NAME;
  }

  acceptConnection(): 'accept' | 'refuse' | 'hang' {
    return this.accept;
  }

  login(req: LoginRequest): { session: Session; database: string } | { error: SqlMessage } {
    const { password, ...safe } = req;
    const ok = this.users[req.user] !== undefined && this.users[req.user] === password;
    this.logins.push({ ...safe, ok });
    if (!ok) {
      return { error: { number: 18456, state: 1, class: 14, message: `Login failed for user '${req.user}'.`, line: 1 } };
    }
    const id = this.nextSession++;
    let closed = false;
    const session: Session = {
      execute: async (r, signal) => {
        this.requests.push({ sessionId: id, kind: r.kind, sql: r.sql, params: r.params });
        return this.answer(r, signal, id);
      },
      close: () => {
        if (closed) throw new Error(`session ${id} closed twice`);
        closed = true;
        this.closedSessions.push(id);
      },
    };
    return { session, database: req.database || 'master' };
  }

  private answer(r: SqlRequest, signal: AbortSignal, id: number): ReturnType<Answer> {
    const text = r.sql.trim();
    const canned = this.canned.get(text);
    if (canned) return canned(r, signal, id);
    // tedious' initial SET batch and mssql's pool validation.
    if (/^set\s/i.test(text)) return text.split('\n').map(() => ({ kind: 'done' }) as ReplyItem);
    if (/^select 1;?$/i.test(text)) return [intRows('', 1)];
    const first = text.split(/\s+/)[0] ?? '';
    return [sqlError(102, `Incorrect syntax near '${first}'.`, { class: 15 })];
  }
}

export { testCertificates };

export interface TestTdsServer {
  certs: LabCertificates;
  backend: TestBackend;
  server: TdsServer;
}

/** A lab TDS server on TLS with the test certificate, answering from a fresh TestBackend. */
export async function startTestTdsServer(): Promise<TestTdsServer> {
  const certs = await testCertificates();
  const backend = new TestBackend();
  const server = await startTdsServer({ backend, tls: { key: certs.key, cert: certs.cert } });
  return { certs, backend, server };
}

/** Polls until `check` is true (bounded). */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const TEST_USER = 'lab';
export const TEST_PASSWORD = 'S3cret-pass!';

/** mssql pool config for a lab TDS server; TLS verified against the lab CA by default. */
export function poolConfig(port: number, ca: string, over: Record<string, unknown> = {}) {
  const { options, ...rest } = over as { options?: Record<string, unknown> };
  return {
    server: 'localhost',
    port,
    user: TEST_USER,
    password: TEST_PASSWORD,
    database: 'SalesDb',
    connectionTimeout: 3000,
    requestTimeout: 3000,
    pool: { max: 2, min: 0 },
    ...rest,
    options: { encrypt: true, trustServerCertificate: false, cryptoCredentialsDetails: { ca }, ...options },
  };
}

/** tedious connection config (same defaults as poolConfig). */
export function tediousConfig(port: number, ca: string, options: Record<string, unknown> = {}) {
  return {
    server: 'localhost',
    authentication: { type: 'default' as const, options: { userName: TEST_USER, password: TEST_PASSWORD } },
    options: {
      port,
      database: 'SalesDb',
      encrypt: true,
      trustServerCertificate: false,
      cryptoCredentialsDetails: { ca },
      connectTimeout: 3000,
      requestTimeout: 3000,
      ...options,
    },
  };
}
