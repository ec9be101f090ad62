// One process drives a wave at a time: its record has a lock (`<wave-id>.lock` beside it, naming
// pid, host, user, since). A second resume is refused up front, exit 3, naming the holder; a lock
// left by a crashed process on this host is taken over, one from another host is not. A resume
// takes the runbook and the inventory from the record, never from arguments it would ignore.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { fleetLab, fleetRoles, type FleetLab } from '../../helpers/fleet-run.js';
import { FAST_PLANNED as FAST, runbookFile } from '../../helpers/lab-run.js';

const sets = FAST.flatMap((s) => ['--set', s]);

function record(journalDir: string): { waveId: string; links: Array<{ name: string; state: string }> } {
  const dir = join(journalDir, 'waves');
  const file = readdirSync(dir).find((f) => f.endsWith('.json'))!;
  return JSON.parse(readFileSync(join(dir, file), 'utf8'));
}
/**
 * A fleet lab whose link 1 is split-brain, after a wave with --canary 1 stopped there: every link
 * after it is not started, so the wave has something to resume.
 */
async function withStoppedWave(links: number, body: (f: FleetLab, waveId: string) => Promise<void>): Promise<void> {
  const f = await fleetLab({ links, linkScenarios: { 1: 'split-brain' } });
  try {
    const first = await f.run(['apply', runbookFile('planned-failover'), '-i', f.fleetFile, '--all', '--canary', '1', '--yes', ...sets]);
    assert.is(first.code, 3, first.stdout + first.stderr);
    await body(f, record(f.journalDir).waveId);
  } finally {
    await f.stop();
  }
}

const started = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((e) => e.event === 'link-started').map((e) => e.link);

test('F6: two resumes of one wave at once: the second is refused (exit 3, the holder named, nothing run); the record ends right', async () => {
  await withStoppedWave(3, async (f, waveId) => {
    const resume = () => f.run(['apply', '--resume', waveId, '--canary', '0', '--parallel', '2', '--yes', '--format', 'json', ...sets]);
    const [a, b] = await Promise.all([resume(), resume()]);
    const refused = [a, b].filter((r) => /its record is locked/.test(r.stderr));
    assert.is(refused.length, 1, a.stderr + b.stderr);
    const [loser] = refused;
    const winner = loser === a ? b : a;
    assert.is(loser!.code, 3);
    assert.ok(loser!.stderr.includes(`refusing to resume wave ${waveId}: its record is locked by pid ${process.pid} on host ${hostname()} (user ${userInfo().username}, since `), loser!.stderr);
    assert.match(loser!.stderr, /Nothing was run\./);
    assert.equal(started(loser!.stdout), []);
    assert.equal(started(winner.stdout).sort(), ['dag1', 'dag2', 'dag3']);
    assert.equal(record(f.journalDir).links.map((l) => `${l.name}:${l.state}`), ['dag1:failed', 'dag2:done', 'dag3:done']);
    assert.equal(fleetRoles(f.lab), { dag1: 'PP', dag2: 'SP', dag3: 'SP' });
    assert.not.ok(readdirSync(join(f.journalDir, 'waves')).some((n) => n.endsWith('.lock')), 'the lock is released at the end');
  });
});

test('F6: a lock left by a process gone on this host is taken over; one from another host is refused, naming it and the file', async () => {
  await withStoppedWave(2, async (f, waveId) => {
    const lockFile = join(f.journalDir, 'waves', `${waveId}.lock`);
    const holder = (pid: number, host: string) => JSON.stringify({ runId: waveId, pid, host, user: 'ops', since: '2026-01-01T00:00:00.000Z' }) + '\n';
    writeFileSync(lockFile, holder(process.pid, 'elsewhere.invalid'));
    const other = await f.run(['apply', '--resume', waveId, '--canary', '0', '--yes', '--format', 'json', ...sets]);
    assert.is(other.code, 3, other.stderr);
    assert.ok(other.stderr.includes(`its record is locked by pid ${process.pid} on host elsewhere.invalid (user ops, since 2026-01-01T00:00:00.000Z); it cannot be checked from this host; if that process is gone, remove ${lockFile}`), other.stderr);
    assert.equal(started(other.stdout), []);
    // A crashed driver on this host: its pid is gone, so the lock is stale whatever its age.
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(lockFile, holder(gone, hostname()));
    const resumed = await f.run(['apply', '--resume', waveId, '--canary', '0', '--yes', '--format', 'json', ...sets]);
    assert.is(resumed.code, 3, resumed.stderr);
    assert.equal(started(resumed.stdout), ['dag1', 'dag2']);
    assert.equal(record(f.journalDir).links.map((l) => `${l.name}:${l.state}`), ['dag1:failed', 'dag2:done']);
  });
});

test('F11: a resume of a wave given a runbook or -i is exit 2, saying they are the record\'s; nothing run', async () => {
  await withStoppedWave(2, async (f, waveId) => {
    const r = await f.run(['apply', '--resume', waveId, '/tmp/bogus.yml', '-i', '/tmp/nonexistent.yml', '--canary', '0', '--yes', '--format', 'json', ...sets]);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /apply --resume <wave-id>: a wave's runbook and inventory are its record's \(.*planned-failover\.yml, .*fleet\.yml\); leave out \/tmp\/bogus\.yml and -i \/tmp\/nonexistent\.yml/);
    assert.equal(started(r.stdout), []);
    assert.equal(fleetRoles(f.lab), { dag1: 'PP', dag2: 'PS' });
  });
});

test('F13: a record whose link name differs from the fleet\'s only in case is a damaged record: exit 2, nothing run', async () => {
  await withStoppedWave(2, async (f, waveId) => {
    const file = join(f.journalDir, 'waves', `${waveId}.json`);
    const edited = JSON.parse(readFileSync(file, 'utf8'));
    edited.links[1].name = 'DAG2';
    writeFileSync(file, JSON.stringify(edited));
    const r = await f.run(['apply', '--resume', waveId, '--canary', '0', '--parallel', '2', '--yes', '--format', 'json', ...sets]);
    assert.is(r.code, 2, r.stdout + r.stderr);
    assert.ok(r.stderr.includes(`apply --resume: ${file}: link DAG2 is not a link of the fleet as spelled there (dag2)`), r.stderr);
    assert.not.match(r.stderr, /internal error/);
    assert.equal(started(r.stdout), []);
    assert.equal(fleetRoles(f.lab), { dag1: 'PP', dag2: 'PS' });
  });
});

test.run();
