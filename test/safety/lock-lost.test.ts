// The lock's session ends in the middle of a run (a DBA's KILL on SQL Server, through the real
// mssql client, while the lab pins the run inside its first LSN wait). The run takes the lock back
// at once, from the connection's end event, not at the next step boundary (the lock-lost record is
// in the journal while the run is still pinned). What it finds decides:
//   - nothing changed: it says so and finishes (exit 0);
//   - the killer kept the lock and demoted SQL Server in the same batch: exit 5 naming the holder
//     and the role change, nothing more sent;
//   - the killer demoted SQL Server and let the lock go before the run came back: exit 5 naming
//     the role change;
//   - the session ended while the run's own FAILOVER had acted (its reply held): the roles
//     changed, and the run cannot tell its step from someone else, so exit 5 too.
// The same before any step ran (the lock being taken). A session that ends without a KILL (a
// restart, a half-open connection): lock-lost-connection.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HoldSpec } from '../../lab/index.js';
import { waitFor } from '../helpers/cli.js';
import { connect, run } from '../helpers/lab.js';
import { ChildLab, FAILOVER, pinnedPlannedFailover as pinnedRun, releasedRun as released, SYNC_COMMIT, type Rec, TAKE_LINK_LOCK as TAKE } from '../helpers/child-runs.js';

const DEMOTE = 'ALTER AVAILABILITY GROUP [dag1] SET (ROLE = SECONDARY);';
const RELEASE = `EXEC sp_releaseapplock @Resource = N'runbook:link:dag1', @LockOwner = 'Session';`;

/**
 * Starts a planned failover, pins it (by default in its first LSN wait), and has a DBA console on SQL Server
 * run `KILL <the run's lock session>` followed by `then` in one batch. Returns once the run has
 * journaled what it found, still pinned; then lets it go and returns how it ended.
 */
async function killLockSession(
  then: string,
  at: HoldSpec = { match: /end_of_log_lsn AS varchar/, side: 'sqlServer' },
): Promise<{ code: number | null; out: string; lost: Rec; lab: ChildLab; pinnedStep: string }> {
  const lab = await ChildLab.start();
  const dba = await connect(lab.lab, 'sqlServer', { appName: 'dba-console' });
  try {
    const pinned = await pinnedRun(lab, at);
    assert.is(lab.lockOf(pinned.runId).database, 'master');
    const [[me]] = await run(dba, 'SELECT @@SPID AS spid');
    const seen = lab.lab.statements().length;
    await lab.killLockSession(dba, pinned.runId, then);
    // The run asks for the lock again at once, while it is still pinned in caught-up (not at the
    // next step boundary), and journals what it found.
    const retried = () => lab.lab.statements().slice(seen).some((s) => s.side === 'sqlServer' && s.sessionId !== me!.spid && /sp_getapplock/.test(s.statement));
    await waitFor(retried, 10_000);
    await lab.waitForRecord((r) => r.kind === 'lock-lost', 10_000);
    const started = lab.records().filter((r) => r.kind === 'step-started').map((r) => r.step);
    const lost = lab.records().find((r) => r.kind === 'lock-lost')!;
    return { ...(await released(pinned)), lost, lab, pinnedStep: started.at(-1) };
  } finally {
    await dba.close().catch(() => undefined);
  }
}

test('lock session killed, nothing else done: taken back at once, nothing changed, the run says so and finishes (exit 0)', async () => {
  const { code, out, lost, lab, pinnedStep } = await killLockSession('');
  try {
    assert.is(pinnedStep, 'caught-up', 'taken back before the next step started');
    assert.is(lost.retaken, true);
    assert.equal(lost.changes, []);
    assert.is(code, 0, out);
    assert.match(out, /the link lock's session on sqlServer ended during step caught-up; it was taken again at once \(lock runbook:link:dag1\) and nothing on the link had changed \(sqlServer PRIMARY, managedInstance SECONDARY\)/);
    assert.is(lab.count(FAILOVER), 1);
    assert.is(lab.roles().managedInstance, 'PRIMARY');
  } finally {
    await lab.stop();
  }
});

test('lock session killed, the killer keeps the lock and demotes SQL Server: exit 5 naming the holder and the role change; no change sent', async () => {
  const { code, out, lost, lab, pinnedStep } = await killLockSession(`${TAKE}\n${DEMOTE}`);
  try {
    assert.is(pinnedStep, 'caught-up');
    assert.is(lost.retaken, false);
    assert.match(String(lost.holder), /program "dba-console"/);
    assert.is(code, 5, out);
    assert.match(out, /before this run could take it back program "dba-console", login runbook, host \S+, session \d+ took it; the link has changed since: sqlServer is now SECONDARY in link dag1 \(was PRIMARY\)/);
    assert.match(out, /Exit 5: outcome unknown/);
    assert.is(lab.count(SYNC_COMMIT), 0, 'no change was sent by the run');
    assert.is(lab.count(FAILOVER), 0);
  } finally {
    await lab.stop();
  }
});

test('lock session killed, roles changed and the lock let go before the run came back: taken again, but exit 5 naming the change', async () => {
  const { code, out, lost, lab } = await killLockSession(`${TAKE}\n${DEMOTE}\n${RELEASE}`);
  try {
    assert.is(lost.retaken, true);
    assert.equal(lost.changes, ['sqlServer is now SECONDARY in link dag1 (was PRIMARY)']);
    assert.is(code, 5, out);
    assert.match(out, /it was taken again at once, but the link had changed: sqlServer is now SECONDARY in link dag1 \(was PRIMARY\)\. Someone else acted on the link while this run did not hold the lock/);
    assert.is(lab.count(SYNC_COMMIT), 0);
    assert.is(lab.count(FAILOVER), 0);
  } finally {
    await lab.stop();
  }
});

test("lock session killed while the run's own FAILOVER had acted: the roles changed and it cannot tell who did it: exit 5 naming the step, FAILOVER sent once", async () => {
  const { code, out, lost, lab, pinnedStep } = await killLockSession('', { match: /\] FAILOVER/, after: true });
  try {
    assert.is(pinnedStep, 'failover');
    assert.is(lost.retaken, true);
    assert.is(lost.during, 'failover');
    assert.is(lost.ownStep, 'failover', 'the journal says its own step was changing the link (a resume repeats that)');
    assert.equal(lost.changes, ['sqlServer is now SECONDARY in link dag1 (was PRIMARY)', 'managedInstance is now PRIMARY in link dag1 (was SECONDARY)']);
    assert.is(code, 5, out);
    assert.match(out, /This run cannot tell whether its step failover, which was changing the link then, or someone else did that/);
    assert.is(lab.count(FAILOVER), 1);
    assert.not.match(out, /\[10\/13\] after/, 'no step after it started');
    // A resume is refused, repeating what the run knew: not that someone else acted.
    const resumed = await lab.inProcess(['apply', '--resume', lab.runIds()[0]!, '--yes']);
    assert.is(resumed.code, 3, resumed.stdout + resumed.stderr);
    assert.match(resumed.stderr, /its link lock was lost and the link changed while its own step failover was running \(sqlServer is now SECONDARY in link dag1 \(was PRIMARY\); managedInstance is now PRIMARY in link dag1 \(was SECONDARY\)\), and it could not tell whether that step or someone else did that/);
    assert.not.match(resumed.stderr, /someone else acted/);
    assert.is(lab.count(FAILOVER), 1, 'nothing sent by the refused resume');
  } finally {
    await lab.stop();
  }
});

// The first read of the link on the lock's session, while the lock is being taken (before any step).
const TAKING = { match: /rs\.role_desc AS link_role, ar\.replica_server_name AS member/, side: 'sqlServer' as const };

test('lock session killed while the lock was being taken, before any step ran: nothing to compare, taken again, the run starts from the link as read then and fails over (exit 0, not 5)', async () => {
  const { code, out, lost, lab } = await killLockSession('', TAKING);
  try {
    assert.is(lost.during, undefined, 'no step had started when the session ended');
    assert.is(code, 0, out);
    assert.is(lost.retaken, true);
    assert.match(out, /the link lock's session on sqlServer ended while the lock was being taken, before any step ran; it was taken again at once \(lock runbook:link:dag1\), and the run starts from the link as read now \(sqlServer PRIMARY, managedInstance SECONDARY\)/);
    assert.is(lab.count(FAILOVER), 1);
  } finally {
    await lab.stop();
  }
});

test('lock session killed while the lock was being taken, and the killer keeps the lock: refused like any locked link (exit 3), nothing sent', async () => {
  const { code, out, lost, lab } = await killLockSession(TAKE, TAKING);
  try {
    assert.is(code, 3, out);
    assert.match(out, /ended while the lock was being taken, before any step ran; before this run could take it back program "dba-console", login runbook, host \S+, session \d+ took it\. Only one run may drive a link at a time\. Nothing was sent by this run\./);
    assert.match(lost.holder as string, /dba-console/);
    assert.is(lab.count(SYNC_COMMIT), 0);
    assert.is(lab.count(FAILOVER), 0);
  } finally {
    await lab.stop();
  }
});

test.run();
