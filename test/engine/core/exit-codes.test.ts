// Every exit code of DESIGN.md, produced through the CLI.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, runCli, startCli, tempDir, waitFor } from '../../helpers/cli.js';
import { ExitCode, exitCodeMeaning } from '../../../engine/core/exit-codes.js';
import { failureExitCode } from '../../../engine/apply/exit-code.js';

const inventory = fixture('inventory.yml');
const failRun = (dir: string, ...sets: string[]) =>
  runCli(['apply', fixture('fail.yml'), '-i', inventory, '--yes', '--set', `out=${join(dir, 'out.txt')}`, ...sets.flatMap((s) => ['--set', s])], { cwd: dir });

test('the codes and their meanings', () => {
  assert.equal(ExitCode, { done: 0, failedBeforeChange: 1, invalidInput: 2, refused: 3, failedAfterChange: 4, outcomeUnknown: 5, interrupted: 130 });
  assert.match(exitCodeMeaning(4), /after a change/);
  assert.is(failureExitCode(undefined, false), 1);
  assert.is(failureExitCode(undefined, true), 4);
  assert.is(failureExitCode(3, false), 3, 'a guard refusal before any change');
  assert.is(failureExitCode(3, true), 4, 'a guard refusal after a change: the link changed, the state needs a look');
  assert.is(failureExitCode(5, false), 5);
});

test('0: done', async () => {
  const dir = tempDir();
  const r = await runCli(['apply', fixture('retry.yml'), '-i', inventory, '--set', `state=${join(dir, 's')}`], { cwd: dir });
  assert.is(r.code, 0, r.stderr + r.stdout);
});

test('1: a step failed before any change was made', async () => {
  const dir = tempDir();
  const r = await failRun(dir);
  assert.is(r.code, 1, r.stderr + r.stdout);
  assert.match(r.stdout, /it went wrong/);
  assert.match(r.stdout, /Nothing was changed/);
});

test('4: a step failed after a change was made', async () => {
  const dir = tempDir();
  const r = await failRun(dir, 'changeFirst=true');
  assert.is(r.code, 4, r.stderr + r.stdout);
  assert.is(readFileSync(join(dir, 'out.txt'), 'utf8'), 'changed\n');
  assert.match(r.stdout, /Changed: change/);
});

test('3: a guard refused (StepRefusal)', async () => {
  const dir = tempDir();
  const r = await failRun(dir, 'kind=refuse');
  assert.is(r.code, 3, r.stderr + r.stdout);
});

test('5: the outcome is unknown (OutcomeUnknown)', async () => {
  const dir = tempDir();
  const r = await failRun(dir, 'kind=unknown');
  assert.is(r.code, 5, r.stderr + r.stdout);
  assert.match(r.stdout, /outcome unknown/);
  const listed = await runCli(['runs', '--format', 'json'], { cwd: dir });
  assert.is(listed.code, 0, listed.stderr);
  assert.equal((JSON.parse(listed.stdout) as Array<{ state: string }>).map((x) => x.state), ['unknown'], 'runbook runs lists it as unknown');
});

test('2: invalid input (an unknown --set, an invalid runbook, a bad flag)', async () => {
  const dir = tempDir();
  const unknownInput = await failRun(dir, 'nosuch=1');
  assert.is(unknownInput.code, 2, unknownInput.stderr);
  assert.not.match(unknownInput.stderr, /\n\s+at /, 'no stack trace');
  const badFlag = await runCli(['plan', fixture('fail.yml'), '--bogus']);
  assert.is(badFlag.code, 2);
  const missing = await runCli(['plan', join(dir, 'nope.yml'), '-i', inventory]);
  assert.is(missing.code, 2, missing.stderr);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) test(`130: ${signal} stops at the next step boundary; the change after it never runs`, async () => {
  const dir = tempDir();
  const started = join(dir, 'started');
  const out = join(dir, 'out.txt');
  const { child, done } = startCli(['apply', fixture('interrupt.yml'), '-i', inventory, '--set', `started=${started}`, '--set', `out=${out}`, '--yes'], { cwd: dir });
  await waitFor(() => existsSync(started), 20_000);
  child.kill(signal);
  const r = await done;
  assert.is(r.code, 130, r.stderr + r.stdout);
  assert.match(r.stderr, new RegExp(`${signal}: stopping now: no change is in progress, so a read under way is cut short and no further step starts`));
  assert.not.ok(existsSync(out));
  const journalDir = join(dir, '.runbook', 'runs');
  const journal = readFileSync(join(journalDir, readdirSync(journalDir)[0]!), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(journal.at(-1).kind, 'run-finished');
  assert.is(journal.at(-1).exitCode, 130);
  assert.ok(journal.some((r: any) => r.kind === 'step-failed' && r.step === 'long-wait' && r.outcome === 'interrupted'));
});

test('runbook runs: a run still going in another process is listed as running', async () => {
  const dir = tempDir();
  const started = join(dir, 'started');
  const out = join(dir, 'out.txt');
  const { child, done } = startCli(['apply', fixture('interrupt.yml'), '-i', inventory, '--set', `started=${started}`, '--set', `out=${out}`, '--yes'], { cwd: dir });
  try {
    await waitFor(() => existsSync(started), 20_000);
    const listed = await runCli(['runs', '--format', 'json'], { cwd: dir });
    assert.is(listed.code, 0, listed.stderr);
    const runs = JSON.parse(listed.stdout) as Array<{ state: string; lastStep?: unknown }>;
    assert.is(runs.length, 1);
    assert.is(runs[0]!.state, 'running');
  } finally {
    child.kill('SIGINT');
    await done;
  }
});

test.run();
