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
// And a replica restart: the lock cannot be taken back while the replica is down; it is as soon
// as it answers (still inside the pinned step), and the run goes on. And a session whose
// connection ended while the server still shows it holding the lock: named as the run's own
// earlier session, not as someone else.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HoldSpec } from '../../lab/index.js';
import { waitFor } from '../helpers/cli.js';
import { connect, run } from '../helpers/lab.js';
import { ChildLab, FAILOVER, FAST, SYNC_COMMIT, runbook, type Rec, TAKE_LINK_LOCK as TAKE } from '../helpers/child-runs.js';

const DEMOTE = 'ALTER AVAILABILITY GROUP [dag1] SET (ROLE = SECONDARY);';
const RELEASE = `EXEC sp_releaseapplock @Resource = N'runbook:link:dag1', @LockOwner = 'Session';`;

/** Starts a planned failover (short windows, a long LSN timeout) and returns once the lab holds it at `at`. */
const pinnedRun = (lab: ChildLab, at: HoldSpec) =>
  lab.applyHeld(runbook('planned-failover'), ['--set', 'stoppedFor=200ms', '--set', 'stableFor=300ms', '--set', 'pollInterval=50ms', '--set', 'lsnTimeout=30s'], at);

type Pinned = Awaited<ReturnType<typeof pinnedRun>>;

/** Lets a pinned run go; how it ended. */
async function released({ pin, run }: Pinned): Promise<{ code: number | null; out: string }> {
  pin.release();
  const r = await run.done;
  return { code: r.code, out: r.stdout + r.stderr };
}

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
    const resumed = await lab.cli(['apply', '--resume', lab.runIds()[0]!, '--yes']).done;
    assert.is(resumed.code, 3, resumed.stdout + resumed.stderr);
    assert.match(resumed.stderr, /its link lock was lost and the link changed while its own step failover was running \(sqlServer is now SECONDARY in link dag1 \(was PRIMARY\); managedInstance is now PRIMARY in link dag1 \(was SECONDARY\)\), and it could not tell whether that step or someone else did that/);
    assert.not.match(resumed.stderr, /someone else acted/);
    assert.is(lab.count(FAILOVER), 1, 'nothing sent by the refused resume');
  } finally {
    await lab.stop();
  }
});

test('the managed instance restarts while the run is pinned: the lock cannot be taken back while it is down; it is, without waiting for a step boundary, once it answers; nothing changed: exit 0', async () => {
  const lab = await ChildLab.start();
  let pinned: Pinned | undefined;
  try {
    pinned = await pinnedRun(lab, { match: /end_of_log_lsn AS varchar/, side: 'sqlServer' });
    lab.lab.setDown('managedInstance', true);
    await lab.waitForRecord((r) => r.kind === 'lock-lost' && r.retaken === false, 10_000);
    assert.not.ok(lab.lab.model.applocks.rows().some((r) => r.replica === 'sqlmi1'), 'not locked on the MI while it is down');
    lab.lab.setDown('managedInstance', false);
    await lab.waitForRecord((r) => r.kind === 'lock-lost' && r.retaken === true, 10_000);
    const started = lab.records().filter((r) => r.kind === 'step-started').map((r) => r.step);
    assert.is(started.at(-1), 'caught-up', 'taken back while the run was still pinned in caught-up');
    assert.ok(lab.lab.model.applocks.rows().some((r) => r.replica === 'sqlmi1' && r.database === 'master'));
    const { code, out } = await released(pinned);
    assert.is(code, 0, out);
    assert.match(out, /the link lock's session on managedInstance ended during step caught-up and managedInstance cannot be reached to take it again/);
    assert.match(out, /the link lock's session on managedInstance ended during step caught-up; it was taken again as soon as managedInstance answered \(lock runbook:link:dag1\) and nothing on the link had changed/);
    assert.is(lab.count(FAILOVER), 1);
  } finally {
    await lab.stop();
  }
});

test("the server forgets the run's lock without closing its sockets (a half-open connection): before its next change the run asks the server, finds the lock not held, takes it back, sees the link changed: exit 5, its FAILOVER never sent", async () => {
  const lab = await ChildLab.start();
  let pinned: Pinned | undefined;
  try {
    // Pinned at sync-verified, after its switch to synchronous commit and before its FAILOVER.
    pinned = await pinnedRun(lab, { match: /SELECT ar\.replica_server_name, ar\.availability_mode_desc/ });
    const runId = pinned.runId;
    // What a server does with a session whose client went silent: it ends it, and its locks go.
    // The client's sockets stay open (no FIN, no RST reaches it), so it sees no end event.
    const mine = lab.lab.model.applocks.rows().filter((r) => r.holder.programName.startsWith(`runbook ${runId} `));
    assert.is(mine.length, 2);
    for (const r of mine) lab.lab.model.applocks.releaseSession(r.replica, r.holder.sessionId);
    const second = await lab.apply(runbook('planned-failover'), FAST).done;
    assert.is(second.code, 0, 'the second run took the free lock and failed over: ' + second.stdout + second.stderr);
    assert.is(lab.count(FAILOVER), 1);
    const { code, out } = await released(pinned);
    assert.is(code, 5, out);
    // Both sides are found lost at once; the first to be taken back and compared speaks for the run.
    assert.match(
      out,
      /the link lock on (sqlServer|managedInstance) was no longer held by this run's session \(APPLOCK_MODE says NoLock\) when step failover was about to start; it was taken again at once, but the link had changed: (sqlServer is now SECONDARY in link dag1 \(was PRIMARY\)|managedInstance is now PRIMARY in link dag1 \(was SECONDARY\))\. Someone else acted on the link while this run did not hold the lock/,
    );
    assert.is(lab.count(FAILOVER), 1, 'the first run sent no FAILOVER');
    const lost = lab.records(runId).filter((x) => x.kind === 'lock-lost');
    assert.equal(
      lost.map((x) => [x.side, x.during, x.retaken, x.changes]).sort(),
      [
        ['managedInstance', 'failover', true, ['managedInstance is now PRIMARY in link dag1 (was SECONDARY)']],
        ['sqlServer', 'failover', true, ['sqlServer is now SECONDARY in link dag1 (was PRIMARY)']],
      ],
    );
    assert.not.ok(lab.records(runId).some((x) => x.kind === 'step-started' && x.step === 'failover'), 'the failover step never started');
  } finally {
    pinned?.pin.release();
    await lab.stop();
  }
});

test("the lock session's connection ends but the server has not noticed (its locks stay): the re-take finds the lock held by this run's own earlier session and says so, not 'someone else': exit 5, no change sent", async () => {
  const lab = await ChildLab.start();
  const linger = lab.lab.model.lingerSessions(0, 'sqlServer');
  let pinned: Pinned | undefined;
  try {
    pinned = await pinnedRun(lab, { match: /end_of_log_lsn AS varchar/, side: 'sqlServer' });
    const runId = pinned.runId;
    const mine = lab.lockOf(runId);
    // The connection goes (the client hears its end); the server keeps the session and its lock.
    lab.lab.model.dropSessions(0, 'sqlServer', (id) => id === mine.holder.sessionId);
    await lab.waitForRecord((r) => r.kind === 'lock-lost', 10_000);
    assert.ok(lab.lab.model.applocks.rows().some((r) => r.replica === 'sql01' && r.holder.sessionId === mine.holder.sessionId), 'the server still shows the old session holding it');
    const { code, out } = await released(pinned);
    assert.is(code, 5, out);
    assert.match(
      out,
      new RegExp(`the link lock's session on sqlServer ended during step caught-up, and the server still shows this run's earlier lock session \\(session ${mine.holder.sessionId}, connection [0-9A-F-]{36}\\) holding it: the server has not yet noticed that session end, so this run cannot take the lock back now`),
    );
    assert.not.match(out, /Someone else is driving|took it/);
    const lost = lab.records(runId).find((x) => x.kind === 'lock-lost')!;
    assert.is(lost.holder, undefined, 'nobody else holds it');
    assert.is(lab.count(SYNC_COMMIT), 0);
    assert.is(lab.count(FAILOVER), 0);
    // Once the server lets the old session go, the run can be resumed: nobody else acted.
    linger.end();
    const resumed = await lab.cli(['apply', '--resume', runId, '--yes']).done;
    assert.is(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.is(lab.count(FAILOVER), 1);
  } finally {
    pinned?.pin.release();
    linger.end();
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
