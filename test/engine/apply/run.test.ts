// Apply through the CLI's main() in this process (a run's process is what the SIGINT test starts),
// with test-only step types loaded as runbook plugins.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, runInProcess, startCli, tempDir, waitFor } from '../../helpers/cli.js';

const inventory = fixture('inventory.yml');

function events(stdout: string): Array<Record<string, any>> {
  return stdout.trim().split('\n').map((l) => JSON.parse(l));
}

test('runs steps in order, outputs flow into later steps, when: decided at run time', async () => {
  const dir = tempDir();
  const out = join(dir, 'out.txt');
  const trace = join(dir, 'trace.txt');
  const r = await runInProcess(['apply', fixture('flow.yml'), '-i', inventory, '--set', `out=${out}`, '--set', `trace=${trace}`, '--yes'], { cwd: dir });
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.is(readFileSync(trace, 'utf8'), 'first: hello dag-test\nsecond: got hello dag-test\nruntime-gate: gate open\n');
  assert.is(readFileSync(out, 'utf8'), 'got hello dag-test\n');
  assert.match(r.stdout, /static-skip skipped/);
  assert.match(r.stdout, /Changed: write/);
  assert.match(r.stdout, /Exit 0: done/);
  // The summary says what ran, what changed and how long each step took.
  assert.match(r.stdout, /^\s+ok\s+1\. first\s+echo \[read\]\s+\d+(ms|\.\ds)$/m);
  assert.match(r.stdout, /^\s+ok\s+5\. write\s+mutate \[change\]\s+\d+(ms|\.\ds)$/m);
  assert.match(r.stdout, /^Summary of run \S+ \(\d+(ms|\.\ds)\)$/m);
});

test('a run-time when: that comes out false skips the step', async () => {
  const dir = tempDir();
  const trace = join(dir, 'trace.txt');
  const r = await runInProcess(['apply', fixture('flow.yml'), '-i', inventory, '--set', 'greeting=bye', '--set', `trace=${trace}`, '--yes', '--format', 'json'], { cwd: dir });
  assert.is(r.code, 0, r.stderr);
  const skipped = events(r.stdout).filter((e) => e.event === 'step-skipped').map((e) => e.step);
  assert.equal(skipped, ['static-skip', 'runtime-gate']);
  assert.not.match(readFileSync(trace, 'utf8'), /gate open/);
});

test('--format json streams one event per line, in order', async () => {
  const dir = tempDir();
  const r = await runInProcess(['apply', fixture('flow.yml'), '-i', inventory, '--set', `out=${join(dir, 'o')}`, '--yes', '--format', 'json'], { cwd: dir });
  assert.is(r.code, 0, r.stderr);
  const list = events(r.stdout);
  assert.is(list[0]!.event, 'run-started');
  assert.is(list.at(-1)!.event, 'run-finished');
  assert.is(list.at(-1)!.exitCode, 0);
  const kinds = list.map((e) => `${e.event}${e.step ? `:${e.step}` : ''}`);
  assert.equal(kinds.slice(1, 4), ['step-started:first', 'step-output:first', 'step-finished:first']);
  assert.ok(kinds.indexOf('step-skipped:static-skip') > kinds.indexOf('step-finished:second'));
  const finished = list.find((e) => e.event === 'step-finished' && e.step === 'second')!;
  assert.equal(finished.outputs, { value: 'got hello dag-test', message: 'got hello dag-test' });
});

test('--format json streams: a step-started event is out while the step is still running', async () => {
  const dir = tempDir();
  const { child, done } = startCli(['apply', fixture('interrupt.yml'), '-i', inventory, '--set', `started=${join(dir, 'started')}`, '--set', `out=${join(dir, 'out')}`, '--yes', '--format', 'json'], { cwd: dir });
  let seen = '';
  child.stdout!.on('data', (d) => (seen += d));
  await waitFor(() => /"event":"step-started"[^\n]*"step":"long-wait"|"step":"long-wait"[^\n]*"event":"step-started"/.test(seen), 20_000);
  assert.is(child.exitCode, null, 'the run is still going (the step waits 30 s)');
  for (const line of seen.trim().split('\n')) JSON.parse(line);
  child.kill('SIGINT');
  const r = await done;
  assert.is(r.code, 130);
  const list = events(r.stdout);
  assert.ok(list.some((e) => e.event === 'step-failed' && e.step === 'long-wait'));
  assert.is(list.at(-1)!.event, 'run-finished');
});

test('retries: a flaky step succeeds on its third attempt', async () => {
  const dir = tempDir();
  const state = join(dir, 'state');
  const r = await runInProcess(['apply', fixture('retry.yml'), '-i', inventory, '--set', `state=${state}`, '--format', 'json'], { cwd: dir });
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.is(readFileSync(state, 'utf8'), '3');
  const list = events(r.stdout);
  assert.is(list.filter((e) => e.event === 'step-started' && e.step === 'flaky').length, 3);
  assert.is(list.filter((e) => e.event === 'step-failed' && e.willRetry).length, 2);
  assert.is(list.find((e) => e.event === 'step-finished' && e.step === 'flaky')!.attempts, 3);
});

test('retries: when every attempt fails the step fails (exit 1, nothing changed)', async () => {
  const dir = tempDir();
  const state = join(dir, 'state');
  writeFileSync(state, '-5');
  const r = await runInProcess(['apply', fixture('retry.yml'), '-i', inventory, '--set', `state=${state}`], { cwd: dir });
  assert.is(r.code, 1, r.stderr + r.stdout);
  assert.is(readFileSync(state, 'utf8'), '-2');
  assert.match(r.stdout, /FAILED\s+1\. flaky/);
  assert.match(r.stdout, /after 3 attempts/);
});

test('timeouts: a slow read step is stopped at its deadline and the change after it never runs', async () => {
  const dir = tempDir();
  const out = join(dir, 'out.txt');
  const started = Date.now();
  const r = await runInProcess(['apply', fixture('timeout.yml'), '-i', inventory, '--set', `out=${out}`, '--yes'], { cwd: dir });
  assert.is(r.code, 1, r.stderr + r.stdout);
  assert.ok(Date.now() - started < 10_000, 'the 20 s step must not run to completion');
  assert.match(r.stdout, /timed out after 200ms/);
  assert.not.ok(existsSync(out));
});

test('without a TTY and without --yes: refused before the first step (exit 3); no read runs either, as there is no one to ask', async () => {
  const dir = tempDir();
  const out = join(dir, 'out.txt');
  const trace = join(dir, 'trace.txt');
  const r = await runInProcess(['apply', fixture('flow.yml'), '-i', inventory, '--set', `out=${out}`, '--set', `trace=${trace}`], { cwd: dir });
  assert.is(r.code, 3, r.stderr + r.stdout);
  assert.match(r.stderr, /--yes/);
  assert.not.ok(existsSync(out), 'the change step must not have run');
  assert.not.ok(existsSync(trace), 'nor the reads before it: the run needs a confirmation no one can give');
});

for (const [label, extra] of [
  ['without the flag', []],
  ['with --yes alone', ['--yes']],
  ['with a wrong link name', ['--yes', '--allow-data-loss', 'some-other-dag']],
] as const) {
  test(`a data-loss step refuses ${label}, before running anything (exit 3)`, async () => {
    const dir = tempDir();
    const trace = join(dir, 'trace.txt');
    const r = await runInProcess(['apply', fixture('danger.yml'), '-i', inventory, '--set', `trace=${trace}`, ...extra], { cwd: dir });
    assert.is(r.code, 3, r.stderr + r.stdout);
    assert.match(r.stderr, /--allow-data-loss dag-test/);
    assert.match(r.stderr, /force/);
    assert.not.ok(existsSync(trace), 'not even the read step before it may run');
    assert.not.ok(existsSync(join(dir, '.runbook')), 'no run was started');
  });
}

test('a data-loss step runs with --allow-data-loss <link> (and --yes for the prompt)', async () => {
  const dir = tempDir();
  const trace = join(dir, 'trace.txt');
  const r = await runInProcess(['apply', fixture('danger.yml'), '-i', inventory, '--set', `trace=${trace}`, '--yes', '--allow-data-loss', 'dag-test'], { cwd: dir });
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.is(readFileSync(trace, 'utf8'), 'look: looked\ndanger ran\n');
});

test('apply plan.json runs the saved plan; a changed runbook is refused with exit 3', async () => {
  const dir = tempDir();
  const rb = join(dir, 'flow.yml');
  // The copy keeps its plugins resolvable: rewrite the relative paths to absolute ones.
  const text = readFileSync(fixture('flow.yml'), 'utf8').replace(/\.\.\/\.\.\/\.\.\/\.\.\/dist/g, join(fixture(''), '../../../../dist'));
  writeFileSync(rb, text);
  copyFileSync(inventory, join(dir, 'inventory.yml'));
  const out = join(dir, 'out.txt');
  const planned = await runInProcess(['plan', 'flow.yml', '-i', 'inventory.yml', '--set', `out=${out}`, '--out', 'plan.json'], { cwd: dir });
  assert.is(planned.code, 0, planned.stderr);
  const plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8'));
  assert.is(plan.inventory.file, 'inventory.yml');

  const applied = await runInProcess(['apply', 'plan.json', '--yes'], { cwd: dir });
  assert.is(applied.code, 0, applied.stderr + applied.stdout);
  assert.is(readFileSync(out, 'utf8'), 'got hello dag-test\n');

  const withSet = await runInProcess(['apply', 'plan.json', '--yes', '--set', 'greeting=x'], { cwd: dir });
  assert.is(withSet.code, 2);

  writeFileSync(rb, text + '\n# edited after planning\n');
  const stale = await runInProcess(['apply', 'plan.json', '--yes'], { cwd: dir });
  assert.is(stale.code, 3, stale.stderr);
  assert.match(stale.stderr, /changed since the plan was made/);
  assert.is(readFileSync(out, 'utf8'), 'got hello dag-test\n', 'nothing ran again');
});



test('a resumed run keeps the first run\'s run.started (checks such as "backups since the run began" keep their meaning)', async () => {
  const dir = tempDir();
  const state = join(dir, 'state');
  const trace = join(dir, 'trace.txt');
  const sets = ['--set', `state=${state}`, '--set', `trace=${trace}`];
  const first = await runInProcess(['apply', fixture('resume-started.yml'), '-i', inventory, ...sets, '--yes'], { cwd: dir });
  assert.is(first.code, 1, first.stderr + first.stdout);
  const runId = readdirSync(join(dir, '.runbook', 'runs'))[0]!.replace(/\.jsonl$/, '');
  const resumed = await runInProcess(['apply', '--resume', runId, '--yes'], { cwd: dir });
  assert.is(resumed.code, 0, resumed.stderr + resumed.stdout);
  const lines = readFileSync(trace, 'utf8').trim().split('\n');
  assert.is(lines.length, 2, 'first ran once, last ran on resume');
  const [firstStarted, lastStarted] = lines.map((l) => l.replace(/^\w+: /, ''));
  assert.match(firstStarted!, /^\d{4}-\d\d-\d\dT/);
  assert.is(lastStarted, firstStarted);
});


test('resume: a finished read after the last done change runs again (unless its type says its result holds for the run); reads before that change keep their results', async () => {
  const dir = tempDir();
  const sets = ['--set', `dir=${dir}`];
  const first = await runInProcess(['apply', fixture('resume-reads.yml'), '-i', inventory, ...sets, '--yes'], { cwd: dir });
  assert.is(first.code, 4, first.stderr + first.stdout);
  const runId = readdirSync(join(dir, '.runbook', 'runs'))[0]!.replace(/\.jsonl$/, '');
  const resumed = await runInProcess(['apply', '--resume', runId, '--yes'], { cwd: dir });
  assert.is(resumed.code, 0, resumed.stderr + resumed.stdout);
  const read = (name: string) => readFileSync(join(dir, name), 'utf8').trim();
  assert.is(read('before'), '1', 'the read before the done change kept its result');
  assert.is(read('changes'), 'changed', 'the change was not repeated');
  assert.is(read('after'), '2', 'the read after it ran again');
  assert.is(read('trace'), 'note: noted', 'the echo (resultHolds: run) was kept');
  assert.match(resumed.stdout, /gauge-after \(flaky, read\) again: it finished before the resume/);
  assert.match(resumed.stdout, /note: done before; not run again/);
});

test('attack r4wave D: a resume that asks a gate again keeps its first confirmation\'s time, so the downtime measured from it runs across the stop', async () => {
  const dir = tempDir();
  const first = await runInProcess(['apply', fixture('resume-confirm.yml'), '-i', inventory, '--set', `state=${join(dir, 'state')}`, '--yes'], { cwd: dir });
  assert.is(first.code, 1, first.stderr + first.stdout);
  const runId = readdirSync(join(dir, '.runbook', 'runs'))[0]!.replace(/\.jsonl$/, '');
  const resumeAsked = Date.now();
  const resumed = await runInProcess(['apply', '--resume', runId, '--yes'], { cwd: dir });
  assert.is(resumed.code, 0, resumed.stderr + resumed.stdout);
  const records = readFileSync(join(dir, '.runbook', 'runs', `${runId}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const finished = (step: string) => records.filter((r) => r.kind === 'step-finished' && r.step === step);
  const gates = finished('stopped');
  assert.is(gates.length, 2, 'the gate ran in both runs');
  const firstAt: string = gates[0].outputs.confirmedAt;
  assert.ok(Date.parse(firstAt) < resumeAsked);
  assert.is(gates[1].outputs.confirmedAt, firstAt, 'the resume keeps the first confirmation');
  assert.match(resumed.stdout, `first confirmed at ${firstAt}, before the run stopped`);
  const [downtime] = finished('downtime');
  // Counted from the first confirmation: at least the time from it to the resume, and it ends now.
  assert.ok(downtime.outputs.elapsedMs >= resumeAsked - Date.parse(firstAt), `elapsed ${downtime.outputs.elapsedMs} ms counts from ${firstAt}`);
  assert.ok(Date.parse(firstAt) + downtime.outputs.elapsedMs <= Date.now());
});

test('resume: a runbook with a data-loss step still needs --allow-data-loss; a run that succeeded is refused (exit 3, nothing left to do)', async () => {
  const dir = tempDir();
  // The trace is a directory at first, so the read step before the data-loss step fails.
  const trace = join(dir, 'trace');
  mkdirSync(trace);
  const first = await runInProcess(['apply', fixture('danger.yml'), '-i', inventory, '--set', `trace=${trace}`, '--yes', '--allow-data-loss', 'dag-test'], { cwd: dir });
  assert.is(first.code, 1, first.stderr + first.stdout);
  const runId = readdirSync(join(dir, '.runbook', 'runs'))[0]!.replace(/\.jsonl$/, '');
  rmdirSync(trace);

  const unacknowledged = await runInProcess(['apply', '--resume', runId, '--yes'], { cwd: dir });
  assert.is(unacknowledged.code, 3, unacknowledged.stderr + unacknowledged.stdout);
  assert.match(unacknowledged.stderr, /--allow-data-loss dag-test/);
  assert.not.ok(existsSync(trace), 'nothing ran');

  const resumed = await runInProcess(['apply', '--resume', runId, '--yes', '--allow-data-loss', 'dag-test'], { cwd: dir });
  assert.is(resumed.code, 0, resumed.stderr + resumed.stdout);
  assert.is(readFileSync(trace, 'utf8'), 'look: looked\ndanger ran\n');

  const again = await runInProcess(['apply', '--resume', runId, '--yes', '--allow-data-loss', 'dag-test'], { cwd: dir });
  assert.is(again.code, 3, again.stderr + again.stdout);
  assert.match(again.stderr, /already succeeded; there is nothing left to do/);
  assert.is(readFileSync(trace, 'utf8'), 'look: looked\ndanger ran\n', 'nothing ran again');
});

test.run();
