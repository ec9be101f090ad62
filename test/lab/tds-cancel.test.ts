// Cancel, timeouts and faults through the real clients: ATTENTION aborts the backend's work and
// is acknowledged; drop/hang faults; dropSessions makes the pool reconnect.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sql from 'mssql';
import { Connection, Request } from 'tedious';
import type { LabCertificates } from '../../lab/certs.js';
import type { ReplyItem } from '../../lab/tds/contract.js';
import type { TdsServer } from '../../lab/tds/server.js';
import { TestBackend, intRows, poolConfig, tediousConfig, startTestTdsServer, waitFor } from '../helpers/tds-backend.js';

let certs: LabCertificates;
let backend: TestBackend;
let server: TdsServer;

test.before(async () => {
  ({ certs, backend, server } = await startTestTdsServer());
});

test.after(async () => {
  await server.close();
});

/** Answers only when aborted (then with rows nobody should see); records the abort. */
const aborted: string[] = [];
function waitForAbort(label: string) {
  return (_r: unknown, signal: AbortSignal) =>
    new Promise<ReplyItem[]>((resolve) => {
      signal.addEventListener('abort', () => {
        aborted.push(label);
        resolve([intRows('late', 1)]);
      });
    });
}

async function onePool(over: Record<string, unknown> = {}): Promise<sql.ConnectionPool> {
  return new sql.ConnectionPool(poolConfig(server.port, certs.ca, { pool: { max: 1, min: 0 }, ...over })).connect();
}

test('requestTimeout sends ATTENTION: ETIMEOUT, the backend is aborted, the connection stays usable', async () => {
  backend.on('slow', waitForAbort('slow'));
  const pool = await onePool({ requestTimeout: 300 });
  try {
    await pool.request().query('select 1');
    const session = backend.requests[backend.requests.length - 1]!.sessionId;
    const started = Date.now();
    await pool.request().query('slow').then(
      () => assert.unreachable('slow query should time out'),
      (e: sql.RequestError) => {
        assert.is(e.code, 'ETIMEOUT');
        assert.match(e.message, /Timeout: Request failed to complete in 300ms/);
      },
    );
    assert.ok(Date.now() - started < 2000, 'acknowledged promptly, not after cancelTimeout');
    assert.ok(aborted.includes('slow'));
    assert.equal((await pool.request().query('select 1')).recordset, [{ '': 1 }]);
    assert.is(backend.requests[backend.requests.length - 1]!.sessionId, session, 'same connection reused');
    assert.not.ok(backend.closedSessions.includes(session));
  } finally {
    await pool.close();
  }
});

test('request.cancel() gives ECANCEL and the next query works', async () => {
  backend.on('cancel me', waitForAbort('cancel me'));
  const pool = await onePool();
  try {
    const req = pool.request();
    const pending = req.query('cancel me');
    await waitFor(() => backend.requests.some((r) => r.sql === 'cancel me'), 'the request to reach the backend');
    req.cancel();
    await pending.then(
      () => assert.unreachable('cancelled query should fail'),
      (e: sql.RequestError) => assert.is(e.code, 'ECANCEL'),
    );
    assert.ok(aborted.includes('cancel me'));
    assert.equal((await pool.request().query('select 1')).recordset, [{ '': 1 }]);
  } finally {
    await pool.close();
  }
});

test('a hang fault is released by ATTENTION (raw tedious: timeout, then the connection answers)', async () => {
  backend.on('hang here', { kind: 'hang' });
  const c = await new Promise<Connection>((resolve, reject) => {
    const conn = new Connection(tediousConfig(server.port, certs.ca, { requestTimeout: 200, cancelTimeout: 2000 }) as never);
    conn.connect((err) => (err ? reject(err) : resolve(conn)));
  });
  const run = (text: string) =>
    new Promise<unknown[]>((resolve, reject) => {
      const rows: unknown[] = [];
      const r = new Request(text, (err) => (err ? reject(err) : resolve(rows)));
      r.on('row', (cols) => rows.push(cols[0].value));
      c.execSql(r);
    });
  await run('hang here').then(
    () => assert.unreachable('hang should time out'),
    (e: { code?: string }) => assert.is(e.code, 'ETIMEOUT'),
  );
  assert.equal(await run('select 1'), [1]);
  await new Promise<void>((resolve) => {
    c.on('end', () => resolve());
    c.close();
  });
});

test('a drop fault destroys the connection: the client sees a connection error', async () => {
  backend.on('drop me', { kind: 'drop' });
  const pool = await onePool();
  // tedious 19 also emits a stray "No event 'socketError' in state 'Final'" through the pool
  // when the socket dies mid-request; an application has to listen for pool errors anyway.
  const poolErrors: string[] = [];
  pool.on('error', (e: Error) => poolErrors.push(e.message));
  try {
    await pool.request().query('drop me').then(
      () => assert.unreachable('dropped query should fail'),
      (e: { code?: string; name?: string }) => assert.ok(['ESOCKET', 'ECONNCLOSED', 'ECONNRESET'].includes(e.code ?? ''), `code ${e.code}`),
    );
    // The pool replaces the dead connection.
    assert.equal((await pool.request().query('select 1')).recordset, [{ '': 1 }]);
  } finally {
    await pool.close();
  }
});

test('dropSessions() ends every session once; the pool reconnects on the next query', async () => {
  const pool = await onePool();
  try {
    await pool.request().query('select 1');
    const session = backend.requests[backend.requests.length - 1]!.sessionId;
    server.dropSessions();
    await waitFor(() => backend.closedSessions.includes(session), 'the session to close');
    // The first query may meet the dead connection (ESOCKET) or a fresh one: mssql validates on acquire.
    const r = await pool.request().query('select 1');
    assert.equal(r.recordset, [{ '': 1 }]);
    const now = backend.requests[backend.requests.length - 1]!.sessionId;
    assert.is.not(now, session);
    assert.is(backend.closedSessions.filter((s) => s === session).length, 1);
  } finally {
    await pool.close();
  }
});

test('every session is closed exactly once when its client goes away', async () => {
  const pool = await onePool();
  await pool.request().query('select 1');
  const session = backend.requests[backend.requests.length - 1]!.sessionId;
  await pool.close();
  await waitFor(() => backend.closedSessions.includes(session), 'close() for the session');
  assert.is(backend.closedSessions.filter((s) => s === session).length, 1);
});

test.run();
