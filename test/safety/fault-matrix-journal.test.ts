// Fault matrix, the journal itself: a damaged line refuses the resume (a torn last line, left by a
// crash mid-write, is the only one dropped), and two resumes of one run at once never both write.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../helpers/cli.js';
import { readJournal } from '../../engine/journal-read.js';
import { ChildLab, FAILOVER, FAST, kinds, runbook, SYNC_COMMIT, waitExit } from './child-runs.js';

/** planned-failover killed right after its switch to synchronous commit finished; returns the run id and journal path. */
async function killedAfterSyncCommit(lab: ChildLab): Promise<{ runId: string; path: string }> {
  const first = lab.apply(runbook('planned-failover'), FAST);
  await lab.waitForRecord((r) => r.kind === 'step-finished' && r.step === 'sync-commit');
  first.child.kill('SIGKILL');
  await waitExit(first.child);
  const runId = lab.runIds().at(-1)!;
  return { runId, path: join(lab.journalDir, `${runId}.jsonl`) };
}

test('a damaged middle line of the journal: resume refused (exit 3) naming the line, nothing sent; runs lists the run as damaged', async () => {
  const lab = await ChildLab.start();
  try {
    const { runId, path } = await killedAfterSyncCommit(lab);
    const lines = readFileSync(path, 'utf8').split('\n');
    // The record that says the change started (its end follows it), cut short in place.
    const n = lines.findIndex((l) => l.includes('"step-started"') && l.includes('"sync-commit"'));
    assert.ok(n > 0 && lines[n + 1]!.includes('"step-finished"'), 'the record is in the middle of the journal');
    lines[n] = lines[n]!.slice(0, 40);
    writeFileSync(path, lines.join('\n'));
    const before = readFileSync(path);
    const sent = lab.lab.statements().length;
    const armSent = lab.lab.armRequests().length;

    const r = await lab.cli(['apply', '--resume', runId, '--yes']).done;
    assert.is(r.code, 3, r.stdout + r.stderr);
    assert.is(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    assert.ok(r.stderr.startsWith(`runbook: ${path}:${n + 1}: not a JSON record. Refusing to resume run ${runId}`), r.stderr);
    assert.is(lab.lab.statements().length, sent, 'nothing was sent to the replicas');
    assert.is(lab.lab.armRequests().length, armSent, 'nothing was sent to ARM');
    assert.ok(readFileSync(path).equals(before), 'the journal was not touched');
    assert.not.ok(existsSync(`${path.replace(/\.jsonl$/, '')}.lock`), 'the refused resume released its lock');

    const listed = await lab.cli(['runs', '--format', 'json']).done;
    const run = (JSON.parse(listed.stdout) as Array<Record<string, any>>).find((x) => x.runId === runId)!;
    assert.is(run.state, 'damaged');
    assert.is(run.damage, `${path}:${n + 1}: not a JSON record`);
    assert.is(run.runbook, 'planned-failover');
    const table = await lab.cli(['runs']).done;
    assert.match(table.stdout, new RegExp(`${runId}\\s+planned-failover\\s+dag1\\s+\\S+\\s+damaged\\s+${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${n + 1}: not a JSON record`));
  } finally {
    await lab.stop();
  }
});

test('a journal naming a step the runbook does not have: resume refused (exit 3) naming the line, nothing sent', async () => {
  const lab = await ChildLab.start();
  try {
    const { runId, path } = await killedAfterSyncCommit(lab);
    const text = readFileSync(path, 'utf8');
    const lines = text.trimEnd().split('\n');
    const n = lines.findIndex((l) => l.includes('"step-started"') && l.includes('"sync-commit"'));
    lines[n] = lines[n]!.replace('"sync-commit"', '"sync-commmit"');
    // Its end record too, so that the order stays one the writer could produce.
    const m = lines.findIndex((l) => l.includes('"step-finished"') && l.includes('"sync-commit"'));
    lines[m] = lines[m]!.replace('"sync-commit"', '"sync-commmit"');
    writeFileSync(path, lines.join('\n') + '\n');
    const sent = lab.lab.statements().length;

    const r = await lab.cli(['apply', '--resume', runId, '--yes']).done;
    assert.is(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`^runbook: .*${runId}\\.jsonl:${n + 1}: step-started names step sync-commmit, which runbook planned-failover does not have\\. Refusing to resume`));
    assert.is(lab.lab.statements().length, sent, 'nothing was sent to the replicas');
    assert.is(lab.count(SYNC_COMMIT), 1);
  } finally {
    await lab.stop();
  }
});

test('a torn last line (a crash mid-write) is dropped: the resume completes and the journal reads whole afterwards', async () => {
  const lab = await ChildLab.start();
  try {
    const { runId, path } = await killedAfterSyncCommit(lab);
    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean).length;
    appendFileSync(path, '{"at":"2026-12-06T12:00:00.000Z","kind":"step-started","step":"sync-ver');

    const r = await lab.cli(['apply', '--resume', runId, '--yes']).done;
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.is(lab.count(SYNC_COMMIT), 1, 'the finished change was not sent again');
    assert.is(lab.count(FAILOVER), 1);
    const after = readJournal(path, runId);
    assert.is(after.tornLastLine, undefined, 'the fragment is gone');
    const resumed = after.records.find((x) => x.kind === 'run-resumed') as Record<string, unknown>;
    assert.is(resumed.tornLastLine, lines + 1, 'the resume says which line it dropped');
    assert.is(after.entries.find((e) => e.record.kind === 'run-resumed')!.line, lines + 1);
  } finally {
    await lab.stop();
  }
});

test('two resumes of the same run at once: one runs, the other is refused (exit 3) naming it and writes nothing', async () => {
  // FAILOVER answers late, so whichever resume wins is still running when the other one starts.
  const lab = await ChildLab.start({ overrides: { faults: [{ kind: 'slow', match: 'FAILOVER', delayMs: 2000, count: 1 }] } });
  try {
    const { runId, path } = await killedAfterSyncCommit(lab);
    assert.ok(existsSync(join(lab.journalDir, `${runId}.lock`)), 'the killed run left its lock behind (taken over below)');
    const a = lab.cli(['apply', '--resume', runId, '--yes']);
    const b = lab.cli(['apply', '--resume', runId, '--yes']);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    const results = [{ pid: a.child.pid, r: ra }, { pid: b.child.pid, r: rb }].sort((x, y) => (x.r.code ?? -1) - (y.r.code ?? -1));
    const [winner, loser] = results as [typeof results[0], typeof results[0]];
    assert.is(winner.r.code, 0, winner.r.stdout + winner.r.stderr);
    assert.is(loser.r.code, 3, loser.r.stdout + loser.r.stderr);
    assert.match(loser.r.stderr, new RegExp(`refusing to resume run ${runId}: its journal is locked by pid ${winner.pid} on host `));
    assert.is(loser.r.stdout, '', 'the refused resume started nothing');

    const recs = lab.records(runId);
    const resumes = recs.filter((x) => x.kind === 'run-resumed');
    assert.is(resumes.length, 1, 'one resume wrote into the journal');
    assert.is(resumes[0]!.pid, winner.pid);
    assert.not.ok(recs.some((x) => x.pid === loser.pid), 'nothing from the refused resume');
    assert.is(kinds(recs).filter((k) => k === 'step-started:failover').length, 1);
    assert.is(lab.count(FAILOVER), 1, 'FAILOVER sent once');
    assert.equal(lab.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
    readJournal(path, runId);
    await waitFor(() => !existsSync(join(lab.journalDir, `${runId}.lock`)), 2000);
  } finally {
    await lab.stop();
  }
});

test.run();
