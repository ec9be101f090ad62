// What a wave confirmed is what its links run: the runbook (its sha256 pinned in the record) and
// each link's inventory (its sha256 in the record, matched by name); a resume refuses what changed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, copyFileSync, existsSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fleetLab, fleetRoles } from '../../helpers/fleet-run.js';
import { FAST_PLANNED as FAST, runbookFile } from '../../helpers/lab-run.js';

const sets = FAST.flatMap((s) => ['--set', s]);

interface Rec {
  waveId: string;
  runbook: { file: string; sha256: string };
  links: Array<{ name: string; state: string; exitCode?: number; runId?: string; inventory: string; inventorySha256?: string }>;
}

function recordFile(journalDir: string): string {
  const dir = join(journalDir, 'waves');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.is(files.length, 1, 'one wave record');
  return join(dir, files[0]!);
}
const readRecord = (journalDir: string): Rec => JSON.parse(readFileSync(recordFile(journalDir), 'utf8'));

test('F16: a runbook edited while the wave runs is not run on the links not started yet: refused, exit 3, nothing sent', async () => {
  const f = await fleetLab({ links: 2 });
  try {
    const rb = join(f.dir, 'rb.yml');
    copyFileSync(runbookFile('planned-failover'), rb);
    const running = f.run(['apply', rb, '-i', f.fleetFile, '--links', 'dag1,dag2', '--parallel', '1', '--yes', ...sets]);
    // Edit the file once dag1 has started (a git pull in the runbook repo during the wave).
    for (let i = 0; i < 500; i++) {
      await new Promise((r) => setTimeout(r, 10));
      if (!existsSync(join(f.journalDir, 'waves'))) continue;
      if (readRecord(f.journalDir).links[0]?.state === 'running') break;
    }
    appendFileSync(rb, '\n# edited during the wave\n');
    const r = await running;
    assert.is(r.code, 3, r.stdout + r.stderr);
    const record = readRecord(f.journalDir);
    assert.equal(record.links.map((l) => `${l.name}:${l.state}:${l.exitCode}`), ['dag1:done:0', 'dag2:failed:3']);
    assert.is(record.links[1]!.runId, undefined, 'no run for dag2');
    assert.match(r.stderr, /\[dag2\] runbook: refusing link dag2: the runbook .*rb\.yml changed \(sha256 [0-9a-f]{12} -> [0-9a-f]{12}\) since the wave was confirmed/);
    assert.equal(fleetRoles(f.lab), { dag1: 'SP', dag2: 'PS' });
    // dag1 ran the confirmed text: its journal's runbook sha256 is the wave's.
    const journal = readFileSync(join(f.journalDir, `${record.links[0]!.runId}.jsonl`), 'utf8');
    assert.ok(journal.includes(record.runbook.sha256), 'dag1 journal pins the confirmed sha256');
  } finally {
    await f.stop();
  }
});

test('F4: resume refuses a never-started link whose inventory file changed; records match links by name; a lost file is written again', async () => {
  const f = await fleetLab({ links: 2, linkScenarios: { 1: 'split-brain' } });
  try {
    const planned = runbookFile('planned-failover');
    const r = await f.run(['apply', planned, '-i', f.fleetFile, '--links', 'dag1,dag2', '--canary', '1', '--yes', ...sets]);
    assert.is(r.code, 3, r.stdout + r.stderr);
    const record = readRecord(f.journalDir);
    assert.equal(record.links.map((l) => `${l.name}:${l.state}`), ['dag1:failed', 'dag2:not started']);
    const dag2 = record.links[1]!;
    assert.match(dag2.inventorySha256 ?? '', /^[0-9a-f]{64}$/);
    const original = readFileSync(dag2.inventory, 'utf8');
    writeFileSync(dag2.inventory, original.replace('"SalesDb2"', '"SalesDb1"'));
    const refused = await f.run(['apply', '--resume', record.waveId, '--canary', '0', '--yes', ...sets]);
    assert.is(refused.code, 3, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /refusing to resume wave .*link dag2: its inventory .*002-dag2\.yml changed since the wave wrote it.*Nothing was run/);
    assert.equal(readRecord(f.journalDir).links.map((l) => `${l.name}:${l.state}:${l.runId ?? '-'}`), [`dag1:failed:${record.links[0]!.runId}`, 'dag2:not started:-']);
    assert.equal(fleetRoles(f.lab), { dag1: 'PP', dag2: 'PS' });
    // A symbolic link to nowhere in its place: refused, and nothing is written where it points.
    rmSync(dag2.inventory);
    const elsewhere = join(f.dir, 'elsewhere.yml');
    symlinkSync(elsewhere, dag2.inventory);
    const linked = await f.run(['apply', '--resume', record.waveId, '--canary', '0', '--yes', ...sets]);
    assert.is(linked.code, 3, linked.stdout + linked.stderr);
    assert.match(linked.stderr, /refusing to resume wave .*link dag2: .*002-dag2\.yml .*Nothing was run/);
    assert.not.ok(existsSync(elsewhere), 'the wave did not write through the link');
    // The file removed (a cleanup) and the record's links reordered: each link still gets its own inventory.
    rmSync(dag2.inventory);
    const file = recordFile(f.journalDir);
    const edited = JSON.parse(readFileSync(file, 'utf8'));
    edited.links.reverse();
    writeFileSync(file, JSON.stringify(edited));
    const resumed = await f.run(['apply', '--resume', record.waveId, '--canary', '0', '--yes', ...sets]);
    assert.is(resumed.code, 3, resumed.stdout + resumed.stderr);
    assert.equal(readFileSync(dag2.inventory, 'utf8'), original);
    const after = readRecord(f.journalDir);
    const byName = Object.fromEntries(after.links.map((l) => [l.name, l]));
    assert.is(byName.dag2!.state, 'done');
    assert.is(byName.dag1!.state, 'failed');
    assert.equal(fleetRoles(f.lab), { dag1: 'PP', dag2: 'SP' });
    assert.ok(readFileSync(join(f.journalDir, `${byName.dag2!.runId}.jsonl`), 'utf8').includes('002-dag2.yml'), "dag2's run used dag2's inventory");
  } finally {
    await f.stop();
  }
});

test('F7: a started link whose journal is gone is refused on resume (exit 3, naming run and directory), not started afresh', async () => {
  const f = await fleetLab({ links: 2, linkScenarios: { 1: 'split-brain' } });
  try {
    const r = await f.run(['apply', runbookFile('planned-failover'), '-i', f.fleetFile, '--links', 'dag1,dag2', '--canary', '1', '--yes', ...sets]);
    assert.is(r.code, 3, r.stdout + r.stderr);
    const record = readRecord(f.journalDir);
    const runId = record.links[0]!.runId!;
    rmSync(join(f.journalDir, `${runId}.jsonl`));
    const resumed = await f.run(['apply', '--resume', record.waveId, '--canary', '0', '--yes', '--format', 'json', ...sets]);
    assert.is(resumed.code, 3, resumed.stdout + resumed.stderr);
    assert.ok(resumed.stderr.includes(`link dag1: its run ${runId} has no journal in ${f.journalDir}`), resumed.stderr);
    assert.not.match(resumed.stdout, /link-started/);
    assert.equal(readRecord(f.journalDir).links.map((l) => `${l.name}:${l.state}:${l.runId ?? '-'}`), [`dag1:failed:${runId}`, 'dag2:not started:-']);
    assert.equal(fleetRoles(f.lab), { dag1: 'PP', dag2: 'PS' });
  } finally {
    await f.stop();
  }
});

test('review: a record whose link names another link\'s run (a hand edit) is damaged: exit 2, that run\'s success is not taken as this link\'s', async () => {
  const f = await fleetLab({ links: 2, linkScenarios: { 2: 'split-brain' } });
  try {
    const r = await f.run(['apply', runbookFile('planned-failover'), '-i', f.fleetFile, '--links', 'dag1,dag2', '--yes', ...sets]);
    assert.is(r.code, 3, r.stdout + r.stderr);
    const file = recordFile(f.journalDir);
    const edited = JSON.parse(readFileSync(file, 'utf8'));
    const dag1Run = edited.links[0].runId;
    // dag2 (refused, split-brain) now names dag1's run, which succeeded.
    Object.assign(edited.links[1], { state: 'running', runId: dag1Run });
    writeFileSync(file, JSON.stringify(edited));
    const twice = await f.run(['apply', '--resume', edited.waveId, '--yes', '--format', 'json', ...sets]);
    assert.is(twice.code, 2, twice.stdout + twice.stderr);
    assert.ok(twice.stderr.includes(`${file}: run ${dag1Run} is named for more than one link`), twice.stderr);
    // The same with dag1's own entry cleared: dag2's run is still dag1's.
    delete edited.links[0].runId;
    edited.links[0].state = 'pending';
    writeFileSync(file, JSON.stringify(edited));
    const foreign = await f.run(['apply', '--resume', edited.waveId, '--yes', '--format', 'json', ...sets]);
    assert.is(foreign.code, 2, foreign.stdout + foreign.stderr);
    assert.ok(foreign.stderr.includes(`${file}: link dag2: its run ${dag1Run} is a run of link dag1`), foreign.stderr);
    assert.not.match(foreign.stdout + foreign.stderr, /succeeded before the wave could record it/);
    assert.equal(readRecord(f.journalDir).links.map((l) => `${l.name}:${l.state}`), ['dag1:pending', 'dag2:running'], 'the record is not rewritten');
    assert.equal(fleetRoles(f.lab), { dag1: 'SP', dag2: 'PP' });
  } finally {
    await f.stop();
  }
});

test('F10: a run that succeeded before the wave recorded it (a kill in between) is taken as done on resume, nothing run, exit 0', async () => {
  const f = await fleetLab({ links: 2 });
  try {
    const r = await f.run(['apply', runbookFile('planned-failover'), '-i', f.fleetFile, '--links', 'dag1,dag2', '--yes', ...sets]);
    assert.is(r.code, 0, r.stdout + r.stderr);
    // The state a kill after dag2's last journal line and before the wave's save leaves.
    const file = recordFile(f.journalDir);
    const edited = JSON.parse(readFileSync(file, 'utf8'));
    Object.assign(edited.links[1], { state: 'running' });
    delete edited.links[1].exitCode;
    delete edited.finished;
    writeFileSync(file, JSON.stringify(edited));
    const runId = edited.links[1].runId;
    const journal = readFileSync(join(f.journalDir, `${runId}.jsonl`), 'utf8');
    const resumed = await f.run(['apply', '--resume', edited.waveId, '--yes', '--format', 'json', ...sets]);
    assert.is(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.ok(resumed.stderr.includes(`[dag2] its run ${runId} succeeded before the wave could record it`), resumed.stderr);
    assert.not.match(resumed.stdout, /link-started/);
    assert.equal(readRecord(f.journalDir).links.map((l) => `${l.name}:${l.state}:${l.exitCode}`), ['dag1:done:0', 'dag2:done:0']);
    assert.is(readFileSync(join(f.journalDir, `${runId}.jsonl`), 'utf8'), journal, 'its journal is not touched');
    const again = await f.run(['apply', '--resume', edited.waveId, '--yes', ...sets]);
    assert.is(again.code, 0, again.stdout + again.stderr);
  } finally {
    await f.stop();
  }
});

test.run();
