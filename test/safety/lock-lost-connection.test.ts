// The lock's session ends without a DBA's KILL, while the lab pins a planned failover inside a
// step: the managed instance restarts (the lock cannot be taken back while it is down; it is as
// soon as it answers, still inside the pinned step, and the run goes on); the server forgets the
// session while the client's sockets stay open (a half-open connection: found before the next
// change); the connection ends while the server still shows the session holding the lock (named
// as the run's own earlier session, not as someone else). The KILLs: lock-lost.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChildLab, FAILOVER, FAST, pinnedPlannedFailover as pinnedRun, releasedRun as released, runbook, SYNC_COMMIT, type PinnedRun as Pinned } from '../helpers/child-runs.js';

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
    const second = await lab.applyInProcess(runbook('planned-failover'), FAST);
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
    // Each side's comparison names its own role change; the managed instance's view of the link
    // may also already show SQL Server's (the lab's DAG rows on the MI side follow its partner's
    // role within a moment), so that line may appear on either side, and nothing else may.
    const ownChange = { managedInstance: 'managedInstance is now PRIMARY in link dag1 (was SECONDARY)', sqlServer: 'sqlServer is now SECONDARY in link dag1 (was PRIMARY)' };
    assert.equal(lost.map((x) => [x.side, x.during, x.retaken]).sort(), [['managedInstance', 'failover', true], ['sqlServer', 'failover', true]]);
    for (const x of lost) {
      const changes = x.changes as string[];
      assert.ok(changes.includes(ownChange[x.side as keyof typeof ownChange]), `${x.side} names its own change: ${changes.join('; ')}`);
      assert.ok(changes.every((c) => Object.values(ownChange).includes(c)), `${x.side} names only the two role changes: ${changes.join('; ')}`);
    }
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
    const resumed = await lab.inProcess(['apply', '--resume', runId, '--yes']);
    assert.is(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.is(lab.count(FAILOVER), 1);
  } finally {
    pinned?.pin.release();
    linger.end();
    await lab.stop();
  }
});


test.run();
