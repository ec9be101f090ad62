// What the lab carries out of a request the client cancels (ATTENTION, here by the request
// timeout), and what its statement log says about it: "The client can interrupt and cancel the
// current request by sending an Attention message" and the server delivers "a cancel indication"
// to the layer running it ([MS-TDS] 2.2.1.7, 3.3.5.9), so statements that had not begun are not
// run, and the log marks them `notCarriedOut: 'cancelled'` (a drill's judge counts only what was
// carried out). Statements before the cancel stay logged as carried out, each once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Connection, Request } from 'tedious';
import { startLab, type Lab } from '../../lab/index.js';
import { createReplicaBackend } from '../../lab/backend-sql.js';
import { LabModel } from '../../lab/model/lab-model.js';
import { loadScenario } from '../../lab/scenario.js';
import { createSqlEngine } from '../../lab/sql/engine.js';
import { connect, poll, run } from '../helpers/lab.js';

let lab: Lab;
test.before(async () => {
  lab = await startLab({
    overrides: {
      // Long enough that the client's 300 ms request timeout always comes first.
      longStatements: { backupMs: 5000, failoverMs: 0 },
      faults: [
        { kind: 'slow', replica: 'sqlServer', match: 'lab_cancel_slow', delayMs: 5000 },
        { kind: 'slow', replica: 'sqlServer', match: 'lab_slow_once', delayMs: 50 },
        { kind: 'slow', replica: 'sqlServer', match: 'lab_close_slow', delayMs: 400 },
      ],
    },
  });
});
test.after(async () => {
  await lab.stop();
});

const takeLock = (resource: string) => `SELECT 1 AS before_it;
DECLARE @r int;
EXEC @r = sp_getapplock @Resource = N'${resource}', @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;
SELECT @r AS r`;

/** Sends `batch` with a 300 ms request timeout, expects the timeout, then a query on the same session: the cancelled request has ended by then. */
async function cancelled(batch: string): Promise<void> {
  const pool = await connect(lab, 'sqlServer', { requestTimeout: 300 });
  try {
    const err = await pool.request().query(batch).then(() => undefined, (e: Error & { code?: string }) => e);
    assert.is(err?.code, 'ETIMEOUT');
    await run(pool, 'SELECT 1 AS after_cancel');
    assert.not.ok(lab.model.applocks.rows().some((r) => /lab_cancel/.test(r.resource)), 'no statement after the cancel ran');
  } finally {
    await pool.close();
  }
}

/** The log since `since`, less the connection's own (tedious's `set ...` batch at login, mssql's `SELECT 1` check before lending it) and the query after the cancel. */
const logOf = (since: number) => lab.statements().slice(since).filter((s) => !/after_cancel|^set |^SELECT 1$/.test(s.statement)).map((s) => [s.statement.split('\n')[0]!.slice(0, 40), s.notCarriedOut ?? 'carried out']);

test('a statement the lab answers slowly is logged once, carried out', async () => {
  const since = lab.statements().length;
  const pool = await connect(lab, 'sqlServer');
  try {
    await run(pool, 'SELECT 1 AS lab_slow_once');
  } finally {
    await pool.close();
  }
  assert.equal(logOf(since), [['SELECT 1 AS lab_slow_once', 'carried out']]);
});

test('cancelled while a slow statement waits: the statements before it ran; it and those after it did not', async () => {
  const since = lab.statements().length;
  await cancelled(takeLock('lab_cancel_slow'));
  assert.equal(logOf(since), [
    ['SELECT 1 AS before_it', 'carried out'],
    ['DECLARE @r int', 'carried out'],
    ["EXEC @r = sp_getapplock @Resource = N'la", 'cancelled'],
    ['SELECT @r AS r', 'cancelled'],
  ]);
});

test('cancelled while held before it began (a hold that ATTENTION ends): nothing of the batch ran', async () => {
  const hold = lab.hold({ match: /lab_cancel_held/, side: 'sqlServer' });
  try {
    const since = lab.statements().length;
    await cancelled(takeLock('lab_cancel_held'));
    assert.equal(logOf(since).map(([, how]) => how), ['cancelled', 'cancelled', 'cancelled', 'cancelled']);
  } finally {
    hold.release();
  }
});

test('cancelled during a long BACKUP: no backup, the BACKUP logged as not carried out, the statement before it once', async () => {
  const backups = () => lab.link().backups.filter((b) => b.side === 'sqlServer').length;
  const before = backups();
  const since = lab.statements().length;
  await cancelled(`SELECT 1 AS before_it;
BACKUP LOG [SalesDb] TO DISK = N'/var/opt/mssql/backup/lab_cancel.trn' WITH NORECOVERY`);
  assert.equal(logOf(since), [
    ['SELECT 1 AS before_it', 'carried out'],
    ['BACKUP LOG [SalesDb] TO DISK = N\'/var/op', 'cancelled'],
  ]);
  assert.is(backups(), before);
  assert.not.ok(lab.link().replicas.sqlServer.restoring, 'a tail-log backup WITH NORECOVERY would have left the database restoring');
});

/** SQL Server's availability mode of the link now, and the other one: a durable effect a statement can leave. */
function sqlServerModeAndOther(): { mode: string; other: string } {
  const mode = lab.link().sqlServerModes.sqlServer;
  return { mode, other: mode === 'SYNCHRONOUS_COMMIT' ? 'ASYNCHRONOUS_COMMIT' : 'SYNCHRONOUS_COMMIT' };
}

// Attack r7safe finding 5: the slowed statement and the ALTER after it ran the moment the client went.
test('the connection closes while a slow-fault statement waits (no ATTENTION): it runs after its delay, the change after it never runs (connectionClosed)', async () => {
  const since = lab.statements().length;
  const { mode, other } = sqlServerModeAndOther();
  const connection = await tediousConnection();
  const sent = `SELECT 1 AS before_it;
SELECT 2 AS lab_close_slow;
ALTER AVAILABILITY GROUP [dag1] MODIFY AVAILABILITY GROUP ON N'ag1' WITH (AVAILABILITY_MODE = ${other})`;
  const ended = new Promise<void>((resolve) => connection.execSqlBatch(new Request(sent, () => resolve())));
  await poll(() => logOf(since).length > 0 || undefined);
  connection.close();
  await ended;
  await poll(() => logOf(since).length === 3 || undefined, 5000);
  assert.equal(logOf(since), [
    ['SELECT 1 AS before_it', 'carried out'],
    ['SELECT 2 AS lab_close_slow', 'carried out'],
    ['ALTER AVAILABILITY GROUP [dag1] MODIFY A', 'connectionClosed'],
  ]);
  assert.is(lab.link().sqlServerModes.sqlServer, mode, 'the ALTER after the slowed statement did not run');
});

/** A connection of tedious itself: mssql's pool.close() would wait for the request to end. */
async function tediousConnection(): Promise<Connection> {
  const ep = lab.endpoints.links[0]!.sqlServer;
  const connection = new Connection({
    server: 'localhost',
    authentication: { type: 'default', options: { userName: 'runbook', password: lab.env.LAB_SQL_PASSWORD } },
    options: { port: ep.port, encrypt: true, trustServerCertificate: false, cryptoCredentialsDetails: { ca: lab.ca }, connectTimeout: 3000 },
  } as never);
  await new Promise<void>((resolve, reject) => connection.connect((err) => (err ? reject(err) : resolve())));
  return connection;
}

test('the connection closes during a long BACKUP (no ATTENTION): the BACKUP runs to its end and acts, the statement after it never runs (connectionClosed)', async () => {
  // The scenario's knob is read at each request: a shorter BACKUP for this test only.
  const long = lab.link().scenario.longStatements;
  const saved = long.backupMs;
  long.backupMs = 600;
  try {
    const backups = () => lab.link().backups.filter((b) => b.side === 'sqlServer').length;
    const before = backups();
    const since = lab.statements().length;
    // The statement after it leaves a durable effect (an applock of the session would go with it
    // anyway: attack r7safe finding 5): the availability mode.
    const { mode, other } = sqlServerModeAndOther();
    const connection = await tediousConnection();
    const sent = `SELECT 1 AS before_it;
BACKUP LOG [SalesDb] TO DISK = N'/var/opt/mssql/backup/lab_closed.trn';
ALTER AVAILABILITY GROUP [dag1] MODIFY AVAILABILITY GROUP ON N'ag1' WITH (AVAILABILITY_MODE = ${other})`;
    const ended = new Promise<void>((resolve) => connection.execSqlBatch(new Request(sent, () => resolve())));
    await poll(() => logOf(since).length > 0 || undefined);
    // The socket ends without an ATTENTION: the client is gone, not cancelling.
    connection.close();
    await ended;
    await poll(() => backups() > before || undefined, 5000);
    await poll(() => logOf(since).length === 3 || undefined);
    assert.equal(logOf(since), [
      ['SELECT 1 AS before_it', 'carried out'],
      ["BACKUP LOG [SalesDb] TO DISK = N'/var/op", 'carried out'],
      ['ALTER AVAILABILITY GROUP [dag1] MODIFY A', 'connectionClosed'],
    ]);
    assert.is(backups(), before + 1, 'the BACKUP under way when its client went acted');
    assert.is(lab.link().sqlServerModes.sqlServer, mode, 'the statement after it did not run');
  } finally {
    long.backupMs = saved;
  }
});

test('a request still queued when the ATTENTION came is logged as not carried out (cancelled), each of its statements', () => {
  // The lab's own session, as the protocol layer calls it (lab/tds/session.ts; a real client never
  // queues a second request, so this is its unit).
  const model = new LabModel({ scenario: loadScenario('healthy'), links: 1 });
  const backend = createReplicaBackend({ model, linkIndex: 0, side: 'sqlServer', user: 'runbook', password: 'pw', createEngine: createSqlEngine });
  try {
    const login = backend.login({ user: 'runbook', password: 'pw', database: 'master', appName: 't', hostName: 'h', readOnlyIntent: false, clientAddress: '127.0.0.1' });
    assert.ok('session' in login);
    login.session.cancelledBeforeItBegan!({ kind: 'batch', sql: "SELECT 1 AS a;\nALTER AVAILABILITY GROUP [dag1] FAILOVER", params: [] });
    assert.equal(model.statementLog.all().map((e) => [e.statement, e.notCarriedOut]), [
      ['SELECT 1 AS a', 'cancelled'],
      ['ALTER AVAILABILITY GROUP [dag1] FAILOVER', 'cancelled'],
    ]);
    assert.is(model.link(0).replicas.sqlServer.role, 'PRIMARY', 'nothing of it ran');
  } finally {
    backend.close();
  }
});

test.run();
