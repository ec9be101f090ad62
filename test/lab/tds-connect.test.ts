// Connecting the real mssql/tedious clients to the lab's TDS server: TLS (wrapped and strict),
// plaintext, certificate checks, logins, refused and silent listeners, packet size.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sql from 'mssql';
import { Connection, Request } from 'tedious';
import type { LabCertificates } from '../../lab/certs.js';
import type { TdsServer } from '../../lab/tds/server.js';
import { TEST_PASSWORD, TestBackend, poolConfig, tediousConfig, startTestTdsServer } from '../helpers/tds-backend.js';

let certs: LabCertificates;
let backend: TestBackend;
let server: TdsServer;

test.before(async () => {
  ({ certs, backend, server } = await startTestTdsServer());
});

test.after(async () => {
  await server.close();
});

function tediousConnect(options: Record<string, unknown> = {}): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const c = new Connection(tediousConfig(server.port, certs.ca, options) as never);
    c.connect((err) => (err ? reject(err) : resolve(c)));
  });
}

function close(c: Connection): Promise<void> {
  return new Promise((resolve) => {
    c.on('end', () => resolve());
    c.close();
  });
}

function exec(c: Connection, text: string): Promise<unknown[][]> {
  return new Promise((resolve, reject) => {
    const rows: unknown[][] = [];
    const r = new Request(text, (err) => (err ? reject(err) : resolve(rows)));
    r.on('row', (cols) => rows.push(cols.map((col: { value: unknown }) => col.value)));
    c.execSql(r);
  });
}

type Io = { tlsNegotiationComplete: boolean; securePair?: { cleartext: { getProtocol(): string } } };
const io = (c: Connection) => (c as unknown as { messageIo: Io }).messageIo;

test('mssql with encrypt: true verifies the lab certificate and queries over TLS 1.2', async () => {
  const pool = await new sql.ConnectionPool(poolConfig(server.port, certs.ca)).connect();
  try {
    const r = await pool.request().query('select 1');
    assert.equal(r.recordset, [{ '': 1 }]);
  } finally {
    await pool.close();
  }
  const c = await tediousConnect();
  assert.ok(io(c).tlsNegotiationComplete);
  assert.is(io(c).securePair!.cleartext.getProtocol(), 'TLSv1.2');
  assert.equal(await exec(c, 'select 1'), [[1]]);
  await close(c);
});

test('encrypt: false gets plaintext', async () => {
  const pool = await new sql.ConnectionPool(poolConfig(server.port, certs.ca, { options: { encrypt: false } })).connect();
  try {
    assert.equal((await pool.request().query('select 1')).recordset, [{ '': 1 }]);
  } finally {
    await pool.close();
  }
  const c = await tediousConnect({ encrypt: false });
  assert.not.ok(io(c).tlsNegotiationComplete);
  await close(c);
});

test("encrypt: 'strict' (TDS 8.0) does TLS first and works with the lab CA", async () => {
  const c = await tediousConnect({ encrypt: 'strict' });
  assert.equal(await exec(c, 'select 1'), [[1]]);
  await close(c);
});

test('a CA that did not sign the server certificate fails the connection', async () => {
  const other = await import('../../lab/certs.js').then(async (m) => {
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    return m.createLabCertificates(await mkdtemp(join(tmpdir(), 'tds-other-ca-')));
  });
  const pool = new sql.ConnectionPool(poolConfig(server.port, other.ca));
  try {
    await pool.connect();
    assert.unreachable('connected with an untrusted certificate');
  } catch (err) {
    const e = err as { code?: string; message: string };
    assert.is(e.code, 'ESOCKET');
    assert.match(e.message, /certificate|verify/i);
  }
});

test('a wrong password gives ELOGIN 18456 and the password is recorded nowhere', async () => {
  const wrong = 'Not-The-Password-9';
  const written: string[] = [];
  const origOut = process.stdout.write.bind(process.stdout);
  const origErr = process.stderr.write.bind(process.stderr);
  const capture = (chunk: unknown) => {
    written.push(String(chunk));
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  let error: { code?: string; message: string; originalError?: unknown } | undefined;
  try {
    await new sql.ConnectionPool(poolConfig(server.port, certs.ca, { password: wrong })).connect();
  } catch (err) {
    error = err as typeof error;
  } finally {
    process.stdout.write = origOut;
    process.stderr.write = origErr;
  }
  assert.ok(error, 'login should fail');
  assert.is(error!.code, 'ELOGIN');
  assert.is(error!.message, "Login failed for user 'lab'.");
  const failed = backend.logins.filter((l) => !l.ok);
  assert.ok(failed.length >= 1);
  assert.is(failed[0]!.user, 'lab');
  const everything = JSON.stringify([backend.logins, backend.requests]) + written.join('');
  assert.not.ok(everything.includes(wrong));
  assert.not.ok(everything.includes(TEST_PASSWORD));
});

test('LOGIN7 fields reach the backend: database, app name, host name, read-only intent', async () => {
  const before = backend.logins.length;
  const c = await tediousConnect({ appName: 'runbook-test', workstationId: 'ws-42', readOnlyIntent: true, database: 'Other' });
  await close(c);
  const l = backend.logins[before]!;
  assert.equal(
    { user: l.user, database: l.database, appName: l.appName, hostName: l.hostName, readOnlyIntent: l.readOnlyIntent, ok: l.ok },
    { user: 'lab', database: 'Other', appName: 'runbook-test', hostName: 'ws-42', readOnlyIntent: true, ok: true },
  );
  assert.is(l.clientAddress, '127.0.0.1');
});

test('refuse closes the socket at once: ESOCKET', async () => {
  backend.accept = 'refuse';
  try {
    await new sql.ConnectionPool(poolConfig(server.port, certs.ca)).connect();
    assert.unreachable('connected to a refusing listener');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'ESOCKET');
  } finally {
    backend.accept = 'accept';
  }
});

test('hang accepts and never answers: the client times out connecting', async () => {
  backend.accept = 'hang';
  const started = Date.now();
  try {
    await new sql.ConnectionPool(poolConfig(server.port, certs.ca, { connectionTimeout: 400 })).connect();
    assert.unreachable('connected to a silent listener');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'ETIMEOUT');
    assert.ok(Date.now() - started >= 350);
  } finally {
    backend.accept = 'accept';
  }
});

test('a client speaking nonsense is disconnected; the listener keeps serving', async () => {
  const { connect } = await import('node:net');
  const closed = await new Promise<boolean>((resolve) => {
    const s = connect(server.port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    s.on('error', () => {});
    s.on('close', () => resolve(true));
    s.setTimeout(2000, () => resolve(false));
  });
  assert.ok(closed, 'server closed the connection');
  const c = await tediousConnect();
  assert.equal(await exec(c, 'select 1'), [[1]]);
  await close(c);
});

test('packet size 512 is confirmed and large replies come in packets of at most 512 bytes', async () => {
  const text = 'x'.repeat(300);
  backend.on('select big', [
    {
      kind: 'rows',
      columns: [{ name: 's', sqlType: { type: 'nvarchar', length: 400 }, nullable: false }],
      rows: Array.from({ length: 200 }, () => [text]),
    },
  ]);
  const received: number[] = [];
  const c = await tediousConnect({ packetSize: 512, debug: { packet: true } });
  c.on('debug', (line: string) => {
    const m = /type:0x04.*length:0x([0-9A-F]{4})/.exec(line);
    if (m) received.push(parseInt(m[1]!, 16));
  });
  const rows = await exec(c, 'select big');
  await close(c);
  assert.is(rows.length, 200);
  assert.ok(rows.every((r) => r[0] === text));
  assert.ok(received.length > 200, `expected many packets, got ${received.length}`);
  assert.is(Math.max(...received), 512);
});

test.run();
