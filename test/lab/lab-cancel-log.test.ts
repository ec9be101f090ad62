// What the lab carries out of a request the client cancels (ATTENTION, here by the request
// timeout), and what its statement log says about it: "The client can interrupt and cancel the
// current request by sending an Attention message" and the server delivers "a cancel indication"
// to the layer running it ([MS-TDS] 2.2.1.7, 3.3.5.9), so statements that had not begun are not
// run, and the log marks them `notCarriedOut: 'cancelled'` (a drill's judge counts only what was
// carried out). Statements before the cancel stay logged as carried out, each once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startLab, type Lab } from '../../lab/index.js';
import { connect, run } from '../helpers/lab.js';

let lab: Lab;
test.before(async () => {
  lab = await startLab({
    overrides: {
      // Long enough that the client's 300 ms request timeout always comes first.
      longStatements: { backupMs: 5000, failoverMs: 0 },
      faults: [
        { kind: 'slow', replica: 'sqlServer', match: 'lab_cancel_slow', delayMs: 5000 },
        { kind: 'slow', replica: 'sqlServer', match: 'lab_slow_once', delayMs: 50 },
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

test.run();
