// Fault matrix, the journal itself: a damaged line refuses the resume (a torn last line, left by a
// crash mid-write, is the only one dropped), and two resumes of one run at once never both write.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import yaml from 'js-yaml';
import { bin, type CliResult } from '../helpers/cli.js';
import type { Inventory } from '../../engine/core/types.js';
import { readJournal } from '../../engine/apply/journal/read.js';
import { ChildLab, FAILOVER, FAST, kinds, runbook, stepRecord, SYNC_COMMIT, waitExit } from '../helpers/child-runs.js';

/** planned-failover killed right after its switch to synchronous commit finished; returns the run id and journal path. */
async function killedAfterSyncCommit(lab: ChildLab): Promise<{ runId: string; path: string }> {
  const { run: first, runId } = await lab.applyUntil(runbook('planned-failover'), FAST, () => lab.records().some(stepRecord('sync-commit-sql-server', 'step-finished')));
  first.child.kill('SIGKILL');
  await waitExit(first.child);
  return { runId, path: join(lab.journalDir, `${runId}.jsonl`) };
}

test('a damaged middle line of the journal: resume refused (exit 3) naming the line, nothing sent; runs lists the run as damaged', async () => {
  const lab = await ChildLab.start();
  try {
    const { runId, path } = await killedAfterSyncCommit(lab);
    const lines = readFileSync(path, 'utf8').split('\n');
    // The record that says the change started (the statement it sent and its end follow it), cut short in place.
    const n = lines.findIndex((l) => l.includes('"step-started"') && l.includes('"sync-commit-sql-server"'));
    assert.ok(n > 0 && lines[n + 1]!.includes('"statement"') && lines.slice(n + 2).some((l) => l.includes('"step-finished"')), 'the record is in the middle of the journal');
    lines[n] = lines[n]!.slice(0, 40);
    writeFileSync(path, lines.join('\n'));
    const before = readFileSync(path);
    const sent = lab.lab.statements().length;
    const armSent = lab.lab.armRequests().length;

    const r = await lab.inProcess(['apply', '--resume', runId, '--yes']);
    assert.is(r.code, 3, r.stdout + r.stderr);
    assert.is(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    assert.ok(r.stderr.startsWith(`runbook: ${path}:${n + 1}: not a JSON record. Refusing to resume run ${runId}`), r.stderr);
    assert.is(lab.lab.statements().length, sent, 'nothing was sent to the replicas');
    assert.is(lab.lab.armRequests().length, armSent, 'nothing was sent to ARM');
    assert.ok(readFileSync(path).equals(before), 'the journal was not touched');
    assert.not.ok(existsSync(`${path.replace(/\.jsonl$/, '')}.lock`), 'the refused resume released its lock');

    const listed = await lab.inProcess(['runs', '--format', 'json']);
    const run = (JSON.parse(listed.stdout) as Array<Record<string, any>>).find((x) => x.runId === runId)!;
    assert.is(run.state, 'damaged');
    assert.is(run.damage, `${path}:${n + 1}: not a JSON record`);
    assert.is(run.runbook, 'planned-failover');
    const table = await lab.inProcess(['runs']);
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
    const n = lines.findIndex((l) => l.includes('"step-started"') && l.includes('"sync-commit-sql-server"'));
    lines[n] = lines[n]!.replace('"sync-commit-sql-server"', '"sync-commmit-sql-server"');
    // Its end record too, so that the order stays one the writer could produce.
    const m = lines.findIndex((l) => l.includes('"step-finished"') && l.includes('"sync-commit-sql-server"'));
    lines[m] = lines[m]!.replace('"sync-commit-sql-server"', '"sync-commmit-sql-server"');
    writeFileSync(path, lines.join('\n') + '\n');
    const sent = lab.lab.statements().length;

    const r = await lab.inProcess(['apply', '--resume', runId, '--yes']);
    assert.is(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`^runbook: .*${runId}\\.jsonl:${n + 1}: step-started names step sync-commmit-sql-server, which runbook planned-failover does not have\\. Refusing to resume`));
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

    const r = await lab.inProcess(['apply', '--resume', runId, '--yes']);
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

test('two resumes of the same run at once: one runs, the other is refused (exit 3) at once, naming it, and writes nothing', async () => {
  const lab = await ChildLab.start();
  try {
    // SQL Server's password comes from standard input, so each resume waits for it after it has
    // read the journal and before it writes anything: both are inside that window at once.
    const inv = yaml.load(readFileSync(lab.inventory, 'utf8')) as Inventory;
    delete inv.link.sqlServer.connection.passwordEnv;
    inv.link.sqlServer.connection.passwordStdin = true;
    const inventory = join(lab.dir, 'stdin-inventory.yml');
    writeFileSync(inventory, yaml.dump(inv));
    const password = `${lab.lab.env.LAB_SQL_PASSWORD}\n`;

    const first = spawnRunbook(lab, ['apply', runbook('planned-failover'), '-i', inventory, '--yes', ...FAST]);
    first.child.stdin!.end(password);
    await lab.waitForRecord((r) => r.kind === 'step-finished' && r.step === 'sync-commit-sql-server');
    first.child.kill('SIGKILL');
    await first.done;
    const runId = lab.runIds().at(-1)!;
    const path = join(lab.journalDir, `${runId}.jsonl`);
    const leftBehind = existsSync(join(lab.journalDir, `${runId}.lock`));

    const a = spawnRunbook(lab, ['apply', '--resume', runId, '--yes']);
    const b = spawnRunbook(lab, ['apply', '--resume', runId, '--yes']);
    // One of them must give up by itself, while the other still waits for its password.
    const loser = await Promise.race([a.done.then(() => a), b.done.then(() => b)]);
    const winner = loser === a ? b : a;
    const lost = await loser.done;
    assert.is(lost.code, 3, lost.stdout + lost.stderr);
    assert.match(lost.stderr, new RegExp(`^runbook: refusing to resume run ${runId}: its journal is locked by pid ${winner.child.pid} on host `));
    assert.is(lost.stdout, '', 'the refused resume started nothing');
    winner.child.stdin!.end(password);
    const won = await winner.done;
    assert.is(won.code, 0, won.stdout + won.stderr);

    const recs = lab.records(runId);
    const resumes = recs.filter((x) => x.kind === 'run-resumed');
    assert.is(resumes.length, 1, 'one resume wrote into the journal');
    assert.is(resumes[0]!.pid, winner.child.pid);
    assert.not.ok(recs.some((x) => x.pid === loser.child.pid), 'nothing from the refused resume');
    assert.is(kinds(recs).filter((k) => k === 'step-started:failover').length, 1);
    assert.is(lab.count(FAILOVER), 1, 'FAILOVER sent once');
    assert.equal(lab.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
    readJournal(path, runId);
    assert.ok(leftBehind, 'the killed run had left its lock behind: the winner took it over');
    assert.not.ok(existsSync(join(lab.journalDir, `${runId}.lock`)), 'and released it at its end');
  } finally {
    await lab.stop();
  }
});

/** `runbook <args>` in a child process whose standard input stays open until the test ends it. */
function spawnRunbook(lab: ChildLab, args: string[]): { child: ChildProcess; done: Promise<CliResult> } {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...lab.env() };
  delete env.CI;
  delete env.LAB_SQL_PASSWORD;
  const child = spawn(process.execPath, [bin, ...args], { cwd: lab.dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done };
}

test.run();
