// The lock check a T-SQL change carries (engine/drivers/sql/lock-guard.ts): the server runs a
// change batch only while the run's lock session still holds the link's lock. The run checks its
// lock on the lock session right before a change (confirm()), and the change goes out on another
// session: a KILL of the lock session in between used to let the change run under no lock, or under
// a second operator's. Here the lab holds the run's first change batch (sync-commit-sql-server) on
// its way, a DBA KILLs the lock session, and the batch is let go: the server must run none of it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { guardedBatches, identityFrom, IDENTITY_QUERY, lockCheckSql, LOCK_NOT_HELD_ERROR, mustStartItsBatch, withoutLockCheck } from '../../engine/drivers/sql/lock-guard.js';
import { lockResource } from '../../engine/drivers/sql/lock-resource.js';
import { connect, errorNumber, linkModes, run } from '../helpers/lab.js';
import type { ConnectionPool } from 'mssql';
import type { StartLabOptions } from '../../lab/index.js';
import { waitFor } from '../helpers/cli.js';
import { ChildLab, FAST, runbook, SYNC_COMMIT, writeNoVerifyRunbook, TAKE_LINK_LOCK as TAKE } from '../helpers/child-runs.js';

/** A planned failover, pinned with its first change batch held on its way to SQL Server. */
const heldAtFirstChange = (lab: ChildLab) => lab.applyHeld(runbook('planned-failover'), FAST, { match: SYNC_COMMIT, side: 'sqlServer' });

/**
 * A planned failover held at its first change, and a DBA console on SQL Server that runs `KILL
 * <the run's lock session>` followed by `then` in one batch; `check` gets how the run ended (the
 * batch is never let go: the run must cancel it) and the console, which then closes with the lab.
 */
async function killAtFirstChange(
  then: string,
  options: StartLabOptions,
  check: (ended: { code: number | null; out: string; lab: ChildLab; dba: ConnectionPool }) => Promise<void>,
): Promise<void> {
  const lab = await ChildLab.start(options);
  const dba = await connect(lab.lab, 'sqlServer', { appName: 'dba-console' });
  try {
    const { run: first, runId } = await heldAtFirstChange(lab);
    await lab.killLockSession(dba, runId, then);
    const r = await first.done;
    await check({ code: r.code, out: r.stdout + r.stderr, lab, dba });
  } finally {
    await dba.close().catch(() => undefined);
    await lab.stop();
  }
}

test('the lock session is KILLed while the first change is on its way: the run hears the session end, cancels the change in flight (its outcome unknown), verifies it did not take effect, takes its lock back: exit 1, nothing changed', () =>
  killAtFirstChange('', { reuseSessionIds: true }, async ({ code, out, lab, dba }) => {
    assert.is(code, 1, out);
    assert.match(out, /The link lock on sqlServer was lost while batch 1 of 1 was running there \(the link lock's session on sqlServer ended during step sync-commit-sql-server\); the batch was cancelled, so how much of it ran is unknown/);
    assert.match(out, /verified that it did NOT take effect/);
    assert.match(out, /it was taken again at once \(lock runbook:link:dag1\) and nothing on the link had changed/);
    assert.ok((await linkModes(dba)).every((m) => m === 'ASYNCHRONOUS_COMMIT'), 'the change never ran');
    assert.is(lab.roles().sqlServer, 'PRIMARY');
  }));

test('a second operator KILLs the lock session and takes the lock in one batch while the first change is on its way: the run cancels it, so none of it runs under their lock; the run names them: exit 5', () =>
  killAtFirstChange(TAKE, {}, async ({ code, out, dba }) => {
    assert.is(code, 5, out);
    assert.match(out, /before this run could take it back program "dba-console", login runbook, host \S+, session \d+ took it/);
    assert.match(out, /The link lock on sqlServer was lost while batch 1 of 1 was running there .*; the batch was cancelled/);
    assert.ok((await linkModes(dba)).every((m) => m === 'ASYNCHRONOUS_COMMIT'), 'nothing ran under the other operator\'s lock');
  }));

test('the server lets go of the run\'s lock without the run hearing of it (a half-open session), a second operator takes it, and the first change reaches the server: the server\'s check runs none of it; the run names them: exit 5', async () => {
  const lab = await ChildLab.start();
  const dba = await connect(lab.lab, 'sqlServer', { appName: 'dba-console' });
  try {
    const { pin, run: first, runId } = await heldAtFirstChange(lab);
    const lockSession = lab.lockOf(runId).holder.sessionId;
    // Only the server forgets the lock: the client's lock session sees no end, so nothing is cancelled.
    lab.lab.model.applocks.releaseSession('sql01', lockSession);
    await run(dba, TAKE);
    pin.release();
    const r = await first.done;
    const out = r.stdout + r.stderr;
    assert.is(r.code, 5, out);
    assert.match(out, /Batch 1 of 1 on sqlServer did not run, and nothing of the script ran: the link lock on sqlServer was not held by this run's lock session \(session \d+\) when the batch reached the server, so the server ran none of it/);
    assert.match(out, /program "dba-console"/);
    assert.is(lab.count(SYNC_COMMIT), 0, 'nothing ran under the other operator\'s lock');
    assert.ok(lab.lab.statements().some((s) => s.errorNumber === LOCK_NOT_HELD_ERROR && s.side === 'sqlServer'), 'the server refused it with the check\'s error');
  } finally {
    await dba.close().catch(() => undefined);
    await lab.stop();
  }
});

test('a login that may not read the lock views (no VIEW SERVER STATE): no T-SQL change is sent unchecked; the step is refused: exit 3, nothing changed', async () => {
  const lab = await ChildLab.start();
  const denied = lab.lab.model.denyViews(0, 'sqlServer', ['sys.dm_exec_connections', 'sys.dm_tran_locks']);
  try {
    const r = await lab.applyInProcess(writeNoVerifyRunbook(lab.dir));
    const out = r.stdout + r.stderr;
    assert.is(r.code, 3, out);
    assert.match(out, /Batch 1 of 1 on sqlServer did not run, and nothing of the script ran: the server could not name the lock's session for the check a change carries \(reading sys\.dm_exec_connections failed: VIEW SERVER STATE permission was denied on object 'server', database 'master'\); it needs VIEW SERVER STATE \(SQL Server 2022 and later: VIEW SERVER PERFORMANCE STATE\), as the runbook's LSN reads do\./);
    assert.is(lab.count(SYNC_COMMIT), 0, 'nothing was sent');
  } finally {
    denied.allow();
    await lab.stop();
  }
});

test('the check on the lab: a batch runs behind it while the named session holds the lock, and not at all once that session is gone or another connection holds it', async () => {
  const lab = await ChildLab.start({ reuseSessionIds: true });
  const holder = await connect(lab.lab, 'sqlServer', { appName: 'holder' });
  const other = await connect(lab.lab, 'sqlServer', { appName: 'other' });
  const dba = await connect(lab.lab, 'sqlServer', { appName: 'dba' });
  try {
    await run(holder, TAKE);
    const [[row]] = await run(holder, IDENTITY_QUERY);
    const identity = identityFrom(row);
    assert.ok(identity, 'the session reads its own id and connection');
    const check = lockCheckSql(lockResource('dag1'), identity!);
    const [[ran]] = await run(other, `${check} SELECT 1 AS ran`);
    assert.is(ran!.ran, 1, 'held: the batch runs');
    await run(dba, `KILL ${identity!.sessionId}`);
    assert.is(await errorNumber(other, `${check} SELECT 1 AS ran`), LOCK_NOT_HELD_ERROR, 'the session is gone: the check refuses');
    // A new connection gets the same session id (once the killed one's connection is gone) and takes
    // the lock: still not the named connection.
    await waitFor(() => lab.lab.model.isSessionIdFree(0, 'sqlServer', identity!.sessionId), 5000);
    const again = await connect(lab.lab, 'sqlServer', { appName: 'again' });
    try {
      await run(again, TAKE);
      const [[row2]] = await run(again, IDENTITY_QUERY);
      assert.is(identityFrom(row2)?.sessionId, identity!.sessionId);
      assert.is(await errorNumber(other, `${check} SELECT 1 AS ran`), LOCK_NOT_HELD_ERROR, 'the same session id on another connection does not pass');
    } finally {
      await again.close().catch(() => undefined);
    }
    // The log shows no SELECT 1 after the first: THROW ended the batch before it.
    assert.is(lab.lab.statements().filter((s) => /^SELECT 1 AS ran/.test(s.statement)).length, 1);
  } finally {
    for (const p of [holder, other, dba]) await p.close().catch(() => undefined);
    await lab.stop();
  }
});

test('a batch that must start its batch gets the check as a batch of its own right before it; any other batch gets it on its first line', () => {
  for (const text of ['CREATE PROCEDURE dbo.p AS SELECT 1', 'create or alter view v as select 1 as x', '/* c */ ALTER TRIGGER t ON DATABASE FOR CREATE_TABLE AS SELECT 1', 'CREATE SCHEMA s', 'sp_configure \'show advanced options\', 1', "[dbo].[p] 1"]) {
    assert.ok(mustStartItsBatch(text), text);
    assert.equal(guardedBatches(text, 'CHECK;'), ['CHECK;', text], text);
  }
  for (const text of ['ALTER AVAILABILITY GROUP [dag1] FAILOVER;', 'CREATE TABLE t (a int)', 'EXEC sp_configure', 'x:\nALTER AVAILABILITY GROUP [dag1] FAILOVER', 'WITH x AS (SELECT 1 AS a) SELECT a FROM x', "DECLARE @s nvarchar(10) = N'CREATE VIEW'", 'SELECT 1']) {
    assert.not.ok(mustStartItsBatch(text), text);
    const [one, ...rest] = guardedBatches(text, 'CHECK;');
    assert.is(one, `CHECK; ${text}`);
    assert.is(rest.length, 0);
  }
  // The check is one line, so the server's line numbers in the batch stay the script's.
  assert.not.match(lockCheckSql("runbook:link:o'brien", { sessionId: 57, connectionId: '6F9619FF-8B86-D011-B42D-00C04FC964FF' }), /\n/);
  assert.match(lockCheckSql("runbook:link:o'brien", { sessionId: 57, connectionId: '6F9619FF-8B86-D011-B42D-00C04FC964FF' }), /N'0:\[runbook:link:o''brien\]:'/);
  assert.is(identityFrom({ session_id: 57, connection_id: "x'; DROP" }), undefined, 'only a GUID is ever put into the check');
  // The journal lists what the runbook wrote: the check comes off, whatever the lock's name holds.
  const check = lockCheckSql("runbook:link:o'brien THROW 59317, N'x', 1;", { sessionId: 57, connectionId: '6F9619FF-8B86-D011-B42D-00C04FC964FF' });
  assert.is(withoutLockCheck(`${check} ALTER AVAILABILITY GROUP [dag1] FAILOVER;`), 'ALTER AVAILABILITY GROUP [dag1] FAILOVER;');
  assert.is(withoutLockCheck(check), '');
  assert.is(withoutLockCheck('DECLARE @x int; SELECT 1'), 'DECLARE @x int; SELECT 1');
});

test.run();
