// apply --resume after the world changed: the journal is a record of what the run did and saw,
// not of the link now. A resume verifies the last change the journal shows done, compares the
// link (roles, availability modes, the link on each side) with the state the journal recorded
// after that change, and verifies a change before it sends it; a run that stopped because someone
// else acted (a lock-lost record naming them) is not resumed at all. Each test here is an attack
// that, before these checks, made a resume change the link on stale facts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HoldSpec } from '../../lab/index.js';
import { waitFor } from '../helpers/cli.js';
import { connect, run } from '../helpers/lab.js';
import { ChildLab, FAILOVER, FAST, FAST_OTHERS, kinds, runbook, waitExit } from '../helpers/child-runs.js';

const SYNC_VERIFIED = /SELECT ar\.replica_server_name, ar\.availability_mode_desc/;
const LSN_READ = /end_of_log_lsn AS varchar/;
/** What a resume may send without changing anything: reads, the lock, its session context. */
const CHANGES = /^\s*(ALTER|DROP|BACKUP|CREATE|RESTORE)\b/i;

/**
 * Starts `file` and pins it at each request of `pins` in turn (each pin is set before the one
 * before it lets go, so the run cannot slip past); returns the run id once the last pin holds it,
 * with a way to let it go.
 */
async function pinned(lab: ChildLab, file: string, sets: string[], pins: HoldSpec[]): Promise<{ runId: string; first: ReturnType<ChildLab['apply']>; release(): void }> {
  let hold = lab.lab.hold(pins[0]!);
  const first = lab.apply(file, sets);
  const ended = first.done.then((r) => Promise.reject(new Error(`the run ended before it was pinned: exit ${r.code}\n${r.stdout}${r.stderr}`)));
  ended.catch(() => undefined);
  await Promise.race([hold.reached, ended]);
  for (const spec of pins.slice(1)) {
    const before = hold;
    hold = lab.lab.hold(spec);
    before.release();
    await Promise.race([hold.reached, ended]);
  }
  const last = hold;
  return { runId: lab.runIds()[0]!, first, release: () => last.release() };
}

async function killed(lab: ChildLab, file: string, sets: string[], pins: HoldSpec[]): Promise<{ runId: string; release(): void }> {
  const { runId, first, release } = await pinned(lab, file, sets, pins);
  first.child.kill('SIGKILL');
  await waitExit(first.child);
  return { runId, release };
}

const SLOWER = ['--set', 'stableFor=300ms', '--set', 'pollInterval=50ms', '--set', 'lsnTimeout=30s'];

test('F2: planned failover killed in its second LSN wait, a second operator fails the link over, --resume: refused naming the change (exit 4), nothing sent, the MI stays primary', async () => {
  const lab = await ChildLab.start();
  let release = () => undefined as void;
  try {
    const a = await killed(lab, runbook('planned-failover'), SLOWER, [{ match: SYNC_VERIFIED }, { match: LSN_READ, side: 'sqlServer' }]);
    release = a.release;
    const k = kinds(lab.records(a.runId));
    assert.ok(k.includes('step-finished:sync-commit-sql-server'), k.join(' '));
    assert.is(k.filter((x) => x.startsWith('step-')).at(-1), 'step-started:still-caught-up');

    const second = await lab.applyInProcess(runbook('planned-failover'), FAST);
    assert.is(second.code, 0, second.stdout + second.stderr);
    assert.equal(lab.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });

    const sent = lab.lab.statements().length;
    const r = await lab.inProcess(['apply', '--resume', a.runId, '--yes']);
    assert.equal(lab.lab.statements().slice(sent).filter((s) => CHANGES.test(s.statement)).map((s) => s.statement), [], 'the resume sent no change');
    assert.is(lab.count(FAILOVER), 1, "only the second operator's FAILOVER");
    assert.equal(lab.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
    assert.is(r.code, 4, r.stdout + r.stderr);
    assert.match(
      r.stdout + r.stderr,
      new RegExp(`the link changed since run ${a.runId} stopped: sqlServer is now SECONDARY in link dag1 \\(was PRIMARY\\); managedInstance is now PRIMARY in link dag1 \\(was SECONDARY\\)`),
    );
    const again = await lab.inProcess(['apply', '--resume', a.runId, '--yes']);
    assert.is(again.code, 4, 'refused again: ' + again.stdout + again.stderr);
    assert.is(lab.count(FAILOVER), 1);
  } finally {
    release();
    await lab.stop();
  }
});

test('F3: split-brain keep=managedInstance killed after its tail-log backup, a second operator keeps SQL Server, --resume: refused (exit 4), SQL Server stays the one primary', async () => {
  const lab = await ChildLab.start({ scenario: 'split-brain' });
  let release = () => undefined as void;
  try {
    const a = await killed(lab, runbook('split-brain'), ['--set', 'keep=managedInstance', '--set', `backupLocation=${join(lab.dir, 'tail.trn')}`, ...FAST_OTHERS], [
      { match: /ORDER BY bs.backup_start_date DESC/, side: 'sqlServer' },
    ]);
    release = a.release;
    assert.ok(kinds(lab.records(a.runId)).includes('step-finished:tail-log-backup'));

    const second = await lab.applyInProcess(runbook('split-brain'), ['--set', 'keep=sqlServer', '--set', 'skipBackup=true', ...FAST_OTHERS]);
    assert.is(second.code, 0, second.stdout + second.stderr);
    assert.equal(lab.roles(), { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' });

    const sent = lab.lab.statements().length;
    const armSent = lab.lab.armRequests().filter((x) => x.method !== 'GET').length;
    const r = await lab.inProcess(['apply', '--resume', a.runId, '--yes']);
    assert.equal(lab.lab.statements().slice(sent).filter((s) => CHANGES.test(s.statement)).map((s) => s.statement), [], 'SQL Server was not demoted');
    assert.is(lab.lab.armRequests().filter((x) => x.method !== 'GET').length, armSent, 'nothing sent to ARM');
    assert.equal(lab.roles(), { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' }, 'one primary, not none');
    assert.is(r.code, 4, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, new RegExp(`the link changed since run ${a.runId} stopped: managedInstance is now SECONDARY in link dag1 \\(was PRIMARY\\)`));
  } finally {
    release();
    await lab.stop();
  }
});

test('F4: a run that stopped (exit 5) because its lock was lost and someone else failed the link over cannot be resumed: exit 3 before anything is sent', async () => {
  const lab = await ChildLab.start();
  const dbas = await Promise.all((['sqlServer', 'managedInstance'] as const).map((side) => connect(lab.lab, side, { appName: 'dba-console' })));
  let release = () => undefined as void;
  try {
    const a = await pinned(lab, runbook('planned-failover'), SLOWER, [{ match: SYNC_VERIFIED }, { match: LSN_READ, side: 'sqlServer' }]);
    release = a.release;
    // The run's re-takes are held while a DBA ends its lock sessions and a second operator fails over.
    const retakes = (['sqlServer', 'managedInstance'] as const).map((side) => lab.lab.hold({ match: /sp_getapplock/, side }));
    for (const [i, side] of (['sqlServer', 'managedInstance'] as const).entries()) {
      const mine = lab.lab.model.applocks.rows().find((x) => x.replica === (side === 'sqlServer' ? 'sql01' : 'sqlmi1') && x.holder.programName.startsWith(`runbook ${a.runId} `));
      assert.ok(mine, `the run holds the lock on ${side}`);
      await run(dbas[i]!, `KILL ${mine!.holder.sessionId}`);
    }
    await Promise.all(retakes.map((h) => h.reached));
    const second = await lab.applyInProcess(runbook('planned-failover'), FAST);
    assert.is(second.code, 0, second.stdout + second.stderr);
    for (const h of retakes) h.release();
    a.release();
    const first = await a.first.done;
    assert.is(first.code, 5, first.stdout + first.stderr);
    const lost = lab.records(a.runId).filter((x) => x.kind === 'lock-lost');
    assert.ok(lost.some((x) => x.changes.length > 0), JSON.stringify(lost));

    const sent = lab.lab.statements().length;
    const r = await lab.inProcess(['apply', '--resume', a.runId, '--yes']);
    assert.is(lab.count(FAILOVER), 1, 'the resume did not fail the link back');
    assert.is(lab.lab.statements().length, sent, 'nothing was sent: refused before connecting');
    assert.is(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`refusing to resume run ${a.runId}: it stopped because its link lock was lost and someone else acted on the link \\(`));
    assert.match(r.stderr, /sqlServer is now SECONDARY in link dag1 \(was PRIMARY\)/);
    assert.match(r.stderr, /start a new run/);
    assert.equal(lab.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
  } finally {
    release();
    for (const d of dbas) await d.close().catch(() => undefined);
    await lab.stop();
  }
});

test('F7: a forged step-finished for break-link\'s link removal (valid JSON, valid order): the resume verifies it, finds the link still there, refuses (exit 3); no DROP sent', async () => {
  const lab = await ChildLab.start();
  try {
    // Killed while its ARM DELETE is held before it acts: nothing was deleted.
    const a = await killed(lab, runbook('break-link'), SLOWER, [{ arm: true, match: /^DELETE / }]);
    const path = join(lab.journalDir, `${a.runId}.jsonl`);
    appendFileSync(path, JSON.stringify({ at: new Date().toISOString(), kind: 'step-finished', step: 'remove-link', outputs: { deleted: true, alreadyGone: false }, durationMs: 1200, attempts: 1 }) + '\n');

    const sent = lab.lab.statements().length;
    const r = await lab.inProcess(['apply', '--resume', a.runId, '--yes']);
    assert.equal(lab.lab.statements().slice(sent).filter((s) => CHANGES.test(s.statement)).map((s) => s.statement), [], 'no DROP AVAILABILITY GROUP');
    assert.is(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /the journal shows step remove-link \(armDeleteLink\) done, but checked now it is not in effect/);
    assert.equal(lab.lab.armRequests().filter((x) => x.method === 'DELETE' && x.status !== undefined && x.status < 300), [], 'no DELETE carried out');
    const link = lab.lab.link();
    assert.ok(link.replicas.sqlServer.dagPresent && link.replicas.managedInstance.dagPresent, 'the link is still there on both sides');
  } finally {
    await lab.stop();
  }
});

test('F8: a journal cut at a record boundary after the second LSN wait, of a run that completed: --resume refused (exit 4), FAILOVER not sent again', async () => {
  const lab = await ChildLab.start();
  try {
    // A child: with its journal cut before its end, the resume asks whether its process still runs.
    const done = await lab.apply(runbook('planned-failover'), FAST).done;
    assert.is(done.code, 0, done.stdout + done.stderr);
    const runId = lab.runIds()[0]!;
    const path = join(lab.journalDir, `${runId}.jsonl`);
    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
    const cut = lines.findIndex((l) => l.includes('"step-finished"') && l.includes('"still-caught-up"'));
    assert.ok(cut > 0);
    writeFileSync(path, lines.slice(0, cut + 1).join('\n') + '\n');

    const sent = lab.lab.statements().length;
    const r = await lab.inProcess(['apply', '--resume', runId, '--yes']);
    assert.equal(lab.lab.statements().slice(sent).filter((s) => CHANGES.test(s.statement)).map((s) => s.statement), []);
    assert.is(lab.count(FAILOVER), 1, 'FAILOVER was sent once, by the run itself');
    assert.is(r.code, 4, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, new RegExp(`the link changed since run ${runId} stopped: sqlServer is now SECONDARY in link dag1 \\(was PRIMARY\\)`));
    // The refusal holds: a second resume finds the same journal and the same link (the refused
    // FAILOVER step, whose check now says done, does not count as having done it).
    const again = await lab.inProcess(['apply', '--resume', runId, '--yes']);
    assert.is(again.code, 4, again.stdout + again.stderr);
    assert.match(again.stdout + again.stderr, /the link changed since run \S+ stopped: sqlServer is now SECONDARY in link dag1 \(was PRIMARY\)/);
    assert.not.match(again.stdout, /verified on resume/);
    assert.equal(lab.lab.statements().slice(sent).filter((s) => CHANGES.test(s.statement)).map((s) => s.statement), []);
    assert.equal(lab.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
  } finally {
    await lab.stop();
  }
});

test('a resume after a crash with nothing else changed still completes: killed in the second LSN wait, resumed: one FAILOVER, exit 0', async () => {
  const lab = await ChildLab.start();
  let release = () => undefined as void;
  try {
    const a = await killed(lab, runbook('planned-failover'), SLOWER, [{ match: SYNC_VERIFIED }, { match: LSN_READ, side: 'sqlServer' }]);
    release = a.release;
    await waitFor(() => lab.lab.model.applocks.rows().length === 0, 5000);
    const r = await lab.inProcess(['apply', '--resume', a.runId, '--yes']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.is(lab.count(FAILOVER), 1);
    assert.equal(lab.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
    const recs = lab.records(a.runId);
    assert.ok(recs.some((x) => x.kind === 'step-verified' && x.step === 'sync-commit-managed-instance' && x.why === 'resume' && x.result === 'done'), 'the last done change was verified');
  } finally {
    release();
    await lab.stop();
  }
});

test.run();
