// Waves on a mixed lab fleet: each link its own run of planned-failover (own run id, lock, journal),
// the wave recorded under RUNBOOK_JOURNAL_DIR/waves, the worst link's exit code.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fleetLab, fleetRoles } from '../../helpers/fleet-run.js';
import { FAST_PLANNED as FAST, runbookFile } from '../../helpers/lab-run.js';
import { connect, run } from '../../helpers/lab.js';

const planned = runbookFile('planned-failover');
const sets = FAST.flatMap((s) => ['--set', s]);

function waveRecord(journalDir: string): { waveId: string; links: Array<{ name: string; state: string; exitCode?: number; runId?: string }>; finished?: { exitCode: number; stoppedBy?: string } } {
  const dir = join(journalDir, 'waves');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.is(files.length, 1, 'one wave record');
  return JSON.parse(readFileSync(join(dir, files[0]!), 'utf8'));
}

test('mixed fleet: the split-brain link is refused, the healthy and lagging ones fail over, exit 3 says so', async () => {
  const f = await fleetLab({ links: 4, linkScenarios: { 2: 'lagging', 3: 'split-brain' }, overrides: { replication: { catchUpAfterMs: 400 } } });
  try {
    const r = await f.run(['apply', planned, '-i', f.fleetFile, '--all', '--parallel', '4', '--yes', ...sets]);
    assert.is(r.code, 3, r.stdout + r.stderr);
    assert.equal(fleetRoles(f.lab), { dag1: 'SP', dag2: 'SP', dag3: 'PP', dag4: 'SP' });
    const record = waveRecord(f.journalDir);
    assert.equal(record.links.map((l) => `${l.name}:${l.state}:${l.exitCode}`), ['dag1:done:0', 'dag2:done:0', 'dag3:failed:3', 'dag4:done:0']);
    // Each link its own run: four run ids, four journals.
    const runIds = new Set(record.links.map((l) => l.runId));
    assert.is(runIds.size, 4);
    for (const id of runIds) assert.ok(existsSync(join(f.journalDir, `${id}.jsonl`)), `journal of ${id}`);
    assert.match(r.stdout, /^\[dag3\] .*split-brain/im);
    assert.match(r.stdout, /Totals: 4 links, 3 done, 1 failed, 0 not started/);
    assert.match(r.stdout, /Exit 3: refused/);
    assert.equal(record.finished, { exitCode: 3 });
    // The wave's sessions, not one per link: 3 for the steps and 1 for the locks at most (server-sessions.ts).
    assert.ok(Object.values(f.lab.peakSessions()).every((n) => n <= 4), `sessions at once: ${JSON.stringify(f.lab.peakSessions())}`);
    // And no more logins over the whole wave than that (issue 13): mssql's connect() login is kept
    // as each pool's first session (engine/drivers/sql/kept-login.ts), not closed and made again.
    assert.ok(Object.values(f.lab.logins()).every((n) => n <= 4), `logins over the wave: ${JSON.stringify(f.lab.logins())}`);
  } finally {
    await f.stop();
  }
});

test('--canary 1: a failing canary stops the wave before any other link starts', async () => {
  const f = await fleetLab({ links: 3, linkScenarios: { 1: 'split-brain' } });
  try {
    const r = await f.run(['apply', planned, '-i', f.fleetFile, '--all', '--canary', '1', '--parallel', '3', '--yes', ...sets]);
    assert.is(r.code, 3, r.stdout + r.stderr);
    assert.equal(waveRecord(f.journalDir).links.map((l) => `${l.name}:${l.state}`), ['dag1:failed', 'dag2:not started', 'dag3:not started']);
    assert.equal(fleetRoles(f.lab), { dag1: 'PP', dag2: 'PS', dag3: 'PS' });
    assert.match(r.stdout, 'a canary link failed');
    // F5: the hint's command goes on (a plain resume would run the failing canary first again, for ever).
    const { waveId } = waveRecord(f.journalDir);
    assert.ok(r.stdout.includes(`runbook apply --resume ${waveId} --canary 0 starts the links not started`), r.stdout);
    const resumed = await f.run(['apply', '--resume', waveId, '--canary', '0', '--parallel', '3', '--yes', ...sets]);
    assert.is(resumed.code, 3, resumed.stdout + resumed.stderr);
    assert.equal(waveRecord(f.journalDir).links.map((l) => `${l.name}:${l.state}`), ['dag1:failed', 'dag2:done', 'dag3:done']);
  } finally {
    await f.stop();
  }
});

test('--max-failures 1 with --parallel 1: after the first failure no new link starts; resume runs the rest', async () => {
  const f = await fleetLab({ links: 3, linkScenarios: { 1: 'split-brain' } });
  try {
    const r = await f.run(['apply', planned, '-i', f.fleetFile, '--links', 'dag1,dag2,dag3', '--max-failures', '1', '--yes', ...sets]);
    assert.is(r.code, 3, r.stdout + r.stderr);
    const record = waveRecord(f.journalDir);
    assert.equal(record.links.map((l) => `${l.name}:${l.state}`), ['dag1:failed', 'dag2:not started', 'dag3:not started']);
    assert.equal(record.finished?.stoppedBy, 'max-failures');
    // F5: the hint names the threshold that gets past the failure a resume meets again first.
    assert.ok(r.stdout.includes(`runbook apply --resume ${record.waveId} --max-failures 2 allows them and 1 more`), r.stdout);
    // The split-brain link is still refused on resume; the two never started now fail over.
    const resumed = await f.run(['apply', '--resume', record.waveId, '--yes', '--max-failures', '2', ...sets]);
    assert.is(resumed.code, 3, resumed.stdout + resumed.stderr);
    assert.equal(waveRecord(f.journalDir).links.map((l) => `${l.name}:${l.state}`), ['dag1:failed', 'dag2:done', 'dag3:done']);
    assert.equal(fleetRoles(f.lab), { dag1: 'PP', dag2: 'SP', dag3: 'SP' });
    // A done link is not run again: a second resume runs only dag1.
    const again = await f.run(['apply', '--resume', record.waveId, '--yes', '--format', 'json', ...sets]);
    const events = again.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const started = events.filter((e) => e.event === 'link-started').map((e) => e.link);
    assert.equal(started, ['dag1']);
    // attack r4wave: the links done by the earlier resume keep what they said to act on (and what they changed) in this summary, from the record.
    const finished = events.find((e) => e.event === 'wave-finished').links.find((l: { link: string }) => l.link === 'dag2');
    assert.ok(finished.attention?.some((l: string) => /^downtime: The application had to stay stopped/.test(l)), JSON.stringify(finished));
    assert.ok(finished.changed?.length > 0, JSON.stringify(finished));
  } finally {
    await f.stop();
  }
});

test('F14: what each link says to act on (repoint, downtime) is in the summary per link and in wave-finished', async () => {
  const f = await fleetLab({ links: 2 });
  try {
    const json = await f.run(['apply', planned, '-i', f.fleetFile, '--links', 'dag1', '--yes', '--format', 'json', ...sets]);
    assert.is(json.code, 0, json.stdout + json.stderr);
    const finished = json.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.event === 'wave-finished');
    const attention: string[] = finished.links[0].attention;
    assert.ok(attention.some((l) => /^repoint-applications: .*sqlmi1/.test(l)), attention.join('\n'));
    assert.ok(attention.some((l) => /^downtime: The application had to stay stopped/.test(l)), attention.join('\n'));
    const text = await f.run(['apply', planned, '-i', f.fleetFile, '--links', 'dag2', '--yes', ...sets]);
    assert.is(text.code, 0, text.stdout + text.stderr);
    const table = text.stdout.slice(text.stdout.indexOf('Summary of wave'));
    assert.match(table, /^  dag2\s+done, ATTENTION\s+0 /m);
    assert.match(table, /^Attention:\n  \[dag2\] downtime: The application had to stay stopped/m);
    assert.match(table, /^  \[dag2\] repoint-applications: /m);
  } finally {
    await f.stop();
  }
});

test('attack r4wave: a link refused because someone else holds its lock changed nothing, so resuming the wave runs it (once the lock is free)', async () => {
  const f = await fleetLab({ links: 2 });
  const dba = await connect(f.lab, 'sqlServer', { appName: 'dba-console' });
  try {
    await run(dba, "DECLARE @r int; EXEC @r = sp_getapplock @Resource = N'runbook:link:dag2', @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0; IF @r < 0 THROW 50000, 'not granted', 1;");
    const first = await f.run(['apply', planned, '-i', f.fleetFile, '--all', '--yes', ...sets]);
    assert.is(first.code, 3, first.stdout + first.stderr);
    assert.match(first.stdout + first.stderr, /link dag2 is locked by/);
    const record = waveRecord(f.journalDir);
    assert.equal(record.links.map((l) => `${l.name}:${l.state}:${l.exitCode}`), ['dag1:done:0', 'dag2:failed:3']);
    assert.equal(fleetRoles(f.lab), { dag1: 'SP', dag2: 'PS' });
    // Still held: the resume is refused the same way, and says so; nothing changes.
    const held = await f.run(['apply', '--resume', record.waveId, '--yes', ...sets]);
    assert.is(held.code, 3, held.stdout + held.stderr);
    assert.match(held.stdout + held.stderr, /link dag2 is locked by/);
    assert.equal(fleetRoles(f.lab), { dag1: 'SP', dag2: 'PS' });
    await run(dba, "EXEC sp_releaseapplock @Resource = N'runbook:link:dag2', @LockOwner = 'Session';");
    const resumed = await f.run(['apply', '--resume', record.waveId, '--yes', ...sets]);
    assert.is(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.equal(waveRecord(f.journalDir).links.map((l) => `${l.name}:${l.state}:${l.exitCode}`), ['dag1:done:0', 'dag2:done:0']);
    assert.equal(fleetRoles(f.lab), { dag1: 'SP', dag2: 'SP' });
  } finally {
    await dba.close();
    await f.stop();
  }
});

test('one confirmation for the wave: without a terminal and without --yes nothing runs (exit 3), nothing recorded', async () => {
  const f = await fleetLab({ links: 2 });
  try {
    const r = await f.run(['apply', planned, '-i', f.fleetFile, '--all', ...sets]);
    assert.is(r.code, 3);
    assert.match(r.stderr, 'refusing the wave: 2 link(s) need confirmation (dag1, dag2) and there is no terminal');
    assert.not.ok(existsSync(join(f.journalDir, 'waves')) && readdirSync(join(f.journalDir, 'waves')).some((n) => n.endsWith('.json')));
    assert.equal(fleetRoles(f.lab), { dag1: 'PS', dag2: 'PS' });
  } finally {
    await f.stop();
  }
});

test.run();
