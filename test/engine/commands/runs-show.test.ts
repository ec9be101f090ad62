// `runbook runs show <id>` and `runbook runs prune`: a run's change record from its journal (who,
// what, when, every statement sent with its target, the outcome) as text, JSON and Markdown; and
// pruning old journals without ever touching a running run, one whose run lock is held, or a
// damaged journal. Journals live in temporary folders only.
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runInProcess, tempDir } from '../../helpers/cli.js';
import { FAST_PLANNED, TestLab } from '../../helpers/lab-run.js';
import { readJournal } from '../../../engine/apply/journal/read.js';

let run: { journalDir: string; runId: string; records: Array<Record<string, any>> };

test.before(async () => {
  const lab = await TestLab.start({ scenario: 'healthy' });
  try {
    const r = await lab.apply('planned-failover', { sets: FAST_PLANNED });
    assert.is(r.code, 0, r.stdout + r.stderr);
    const runId = /run (\d{8}T\d{6}Z-[0-9a-f]{4})/.exec(r.stdout + r.stderr)?.[1];
    assert.ok(runId, r.stdout);
    const records = readJournal(join(r.journalDir, `${runId}.jsonl`), runId).records as Array<Record<string, any>>;
    run = { journalDir: r.journalDir, runId: runId!, records };
  } finally {
    await lab.stop();
  }
});

const show = (format?: string) =>
  runInProcess(['runs', 'show', run.runId, ...(format ? ['--format', format] : [])], { env: { RUNBOOK_JOURNAL_DIR: run.journalDir } });

test('the journal records each statement a step sent, with its target and parameters, once, before it is sent', () => {
  const statements = run.records.filter((r) => r.kind === 'statement');
  const failover = statements.find((s) => /FAILOVER/.test(s.text));
  assert.ok(failover, JSON.stringify(statements.map((s) => s.text)));
  assert.is(failover!.step, 'failover');
  assert.is(failover!.target, 'sqlServer', 'the primary, resolved to the replica it went to');
  const started = run.records.findIndex((r) => r.kind === 'step-started' && r.step === 'failover');
  const finished = run.records.findIndex((r) => r.kind === 'step-finished' && r.step === 'failover');
  const at = run.records.indexOf(failover!);
  assert.ok(started < at && at < finished, 'between the step\'s start and its end');
  const members = statements.find((s) => s.step === 'members')!;
  assert.equal(members.params, { link: 'dag1' });
  // The LSN wait polls many times: each distinct statement is recorded once.
  const polls = statements.filter((s) => s.step === 'caught-up');
  assert.ok(polls.length >= 1 && polls.length <= 2, `${polls.length} records for the wait's polls`);
  assert.equal(new Set(polls.map((p) => `${p.target}|${p.text}`)).size, polls.length);
});

test('runs show: who, what, when, every statement with its target, and the outcome (text)', async () => {
  const r = await show();
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^Run ${run.runId}: planned-failover \\(`, 'm'));
  assert.match(r.stdout, new RegExp(`^Who: +started \\S+ by \\S+ on ${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(pid \\d+\\): runbook apply `, 'm'));
  assert.match(r.stdout, /^When: \S+ -> \S+ \(\S+\)$/m);
  assert.match(r.stdout, /^Outcome: exit 0 \(done\)$/m);
  assert.match(r.stdout, /^Changed: sync-commit-sql-server, sync-commit-managed-instance, failover$/m);
  assert.match(r.stdout, /^ *\d+\. failover +sqlExec -> primary +\[change\] +succeeded/m);
  assert.match(r.stdout, /step \d+ failover -> sqlServer:\n +ALTER AVAILABILITY GROUP \[dag1\] FAILOVER;/);
  assert.match(r.stdout, /step \d+ members -> sqlServer:\n +-- parameters \(sp_executesql\): @link = N'dag1'/);
});

test('runs show --format json is the same record as data; --format markdown is a change ticket', async () => {
  const json = JSON.parse((await show('json')).stdout);
  assert.is(json.runId, run.runId);
  assert.is(json.exitCode, 0);
  assert.equal(json.changed, ['sync-commit-sql-server', 'sync-commit-managed-instance', 'failover']);
  assert.ok(json.statements.some((s: Record<string, string>) => s.step === 'failover' && s.target === 'sqlServer' && /FAILOVER/.test(s.text)));
  assert.is(json.parts[0].kind, 'started');
  const md = (await show('markdown')).stdout;
  assert.match(md, /^## Change record: planned-failover on link dag1$/m);
  assert.match(md, /^\| Outcome \| exit 0 \(done\) \|$/m);
  assert.match(md, /^\| Changed \| sync-commit-sql-server, sync-commit-managed-instance, failover \|$/m);
  assert.match(md, /^\| \d+ \| failover \| sqlExec \| primary \| change \| succeeded \|/m);
  assert.match(md, /step \d+ failover on \*\*sqlServer\*\*:\n\n```sql\nALTER AVAILABILITY GROUP \[dag1\] FAILOVER;\n```/);
});

test('runs show: an unknown run id says which are there; a bad format is exit 2', async () => {
  const missing = await runInProcess(['runs', 'show', `${run.runId.slice(0, -1)}x`], { env: { RUNBOOK_JOURNAL_DIR: run.journalDir } });
  assert.is(missing.code, 2);
  assert.match(missing.stderr, new RegExp(`no journal for run .*did you mean ${run.runId}\\?`));
  const bad = await show('yaml');
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--format must be one of text, json, markdown/);
});

// --- prune ---

const DAY = 86_400_000;

/** A journal of a finished (or, without `exitCode`, unfinished) run by process `pid`, last written `ageMs` ago. */
function journal(dir: string, runId: string, o: { ageMs: number; exitCode?: number; pid?: number; damaged?: boolean }): string {
  const path = join(dir, `${runId}.jsonl`);
  const start = { kind: 'run-started', runId, runbook: { name: 'rb', file: 'rb.yml', sha256: 'x' }, link: 'dag1', inputs: {}, user: 'u', host: hostname(), pid: o.pid ?? 999_999_999 };
  const lines = [JSON.stringify({ at: new Date(Date.now() - o.ageMs).toISOString(), ...start })];
  if (o.damaged) lines.push('{"kind": "step-started", "oops"');
  if (o.exitCode !== undefined) lines.push(JSON.stringify({ kind: 'run-finished', exitCode: o.exitCode, meaning: 'done', durationMs: 1, changed: [] }));
  writeFileSync(path, lines.join('\n') + '\n');
  const when = new Date(Date.now() - o.ageMs);
  utimesSync(path, when, when);
  return path;
}

test('runs prune: removes old runs, keeps the newest --keep, never a running run, a held run lock or a damaged journal', async () => {
  const dir = tempDir('runbook-prune-');
  const old1 = journal(dir, '20240101T000000Z-aaaa', { ageMs: 40 * DAY, exitCode: 0 });
  const old2 = journal(dir, '20240102T000000Z-bbbb', { ageMs: 35 * DAY, exitCode: 1 });
  // Killed long ago: its pid is gone, so it is interrupted, not running.
  const killed = journal(dir, '20240103T000000Z-cccc', { ageMs: 33 * DAY });
  // Started long ago by this very process, which is alive: running.
  const running = journal(dir, '20240104T000000Z-dddd', { ageMs: 32 * DAY, pid: process.pid });
  // Finished, but a resume holds its run lock right now.
  const locked = journal(dir, '20240105T000000Z-eeee', { ageMs: 31 * DAY, exitCode: 1 });
  writeFileSync(join(dir, '20240105T000000Z-eeee.lock'), JSON.stringify({ runId: '20240105T000000Z-eeee', pid: process.pid, host: hostname(), user: 'u', since: new Date().toISOString() }) + '\n');
  const damaged = journal(dir, '20240106T000000Z-ffff', { ageMs: 30 * DAY, damaged: true });
  const recent = journal(dir, '20240107T000000Z-9999', { ageMs: DAY, exitCode: 0 });
  const env = { RUNBOOK_JOURNAL_DIR: dir };

  const dry = await runInProcess(['runs', 'prune', '--older-than', '7d', '--dry-run'], { env });
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /would remove 20240101T000000Z-aaaa/);
  assert.ok([old1, old2, killed].every((f) => existsSync(f)), 'a dry run removes nothing');

  const r = await runInProcess(['runs', 'prune', '--older-than', '7d', '--keep', '1'], { env });
  assert.is(r.code, 0, r.stderr);
  assert.not.ok(existsSync(old1) || existsSync(old2) || existsSync(killed), r.stdout);
  assert.ok(existsSync(running), 'a running run is kept');
  assert.match(r.stdout, /kept 20240104T000000Z-dddd: it is running/);
  assert.ok(existsSync(locked), 'a run whose lock is held is kept');
  assert.match(r.stdout, /kept 20240105T000000Z-eeee: its run lock is held/);
  assert.ok(existsSync(join(dir, '20240105T000000Z-eeee.lock')), 'and its lock left alone');
  assert.ok(existsSync(damaged), 'a damaged journal is kept');
  assert.match(r.stdout, /kept 20240106T000000Z-ffff: its journal is damaged/);
  assert.ok(existsSync(recent), 'younger than --older-than');
  assert.match(r.stdout, /^3 run\(s\) removed from /m);
  assert.not.ok(existsSync(join(dir, '20240101T000000Z-aaaa.lock')), 'prune releases the locks it took');

  // --keep alone: the newest N stay, whatever their age.
  const keepDir = tempDir('runbook-prune-keep-');
  const a = journal(keepDir, '20240201T000000Z-aaaa', { ageMs: 3 * DAY, exitCode: 0 });
  const b = journal(keepDir, '20240202T000000Z-bbbb', { ageMs: 2 * DAY, exitCode: 0 });
  const c = journal(keepDir, '20240203T000000Z-cccc', { ageMs: DAY, exitCode: 0 });
  assert.is((await runInProcess(['runs', 'prune', '--keep', '2'], { env: { RUNBOOK_JOURNAL_DIR: keepDir } })).code, 0);
  assert.equal([existsSync(a), existsSync(b), existsSync(c)], [false, true, true]);

  const none = await runInProcess(['runs', 'prune'], { env });
  assert.is(none.code, 2);
  assert.match(none.stderr, /say what to remove: --older-than/);
  const badAge = await runInProcess(['runs', 'prune', '--older-than', 'a month'], { env });
  assert.is(badAge.code, 2);
  assert.match(badAge.stderr, /--older-than must be an age such as 30d/);
  assert.ok(readFileSync(running, 'utf8').includes('run-started'), 'the running run\'s journal is untouched');
});

test.run();
