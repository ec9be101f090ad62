// Shipped runbooks by name (issue 15, point 1): from a folder without the file, a bare runbook name
// is the shipped one and the command says which file it loaded; a local file of the same name wins;
// a name with a folder part is never looked up. `runbook runbooks` lists them with their inputs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { join } from 'node:path';
import { noStack, root, runInProcess, tempDir } from '../../helpers/cli.js';
import { firstSentence, resolveRunbookArgument } from '../../../engine/commands/shipped.js';

const shippedPlanned = join(root, 'runbooks', 'planned-failover.yml');
/** A shipped runbook's input names, read with plain js-yaml. */
const inputsOf = (name: string) => Object.keys((yaml.load(readFileSync(join(root, 'runbooks', name), 'utf8')) as { inputs?: object }).inputs ?? {});

test('plan planned-failover.yml from an empty folder plans the shipped runbook and says which file', async () => {
  const cwd = tempDir();
  const r = await runInProcess(['plan', 'planned-failover.yml', '--lab'], { cwd });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, `runbook: no planned-failover.yml in ${cwd}; using the shipped runbook ${shippedPlanned}\n`);
  assert.ok(r.stdout.includes(`planned-failover  (${shippedPlanned}, sha256`), r.stdout.slice(0, 200));
  // Without the extension too, and for --format json the note stays off standard output.
  const json = await runInProcess(['plan', 'planned-failover', '--lab', '--format', 'json'], { cwd });
  assert.is(json.code, 0, json.stderr);
  assert.is(JSON.parse(json.stdout).runbook.file, shippedPlanned);
  assert.match(json.stderr, /using the shipped runbook/);
});

test('a local file of the same name wins, and the plan names it', async () => {
  const cwd = tempDir();
  writeFileSync(join(cwd, 'planned-failover.yml'), 'name: my-own\ndescription: mine\nsteps:\n  - id: hello\n    type: notify\n    with: { message: hi }\n');
  const r = await runInProcess(['plan', 'planned-failover.yml', '--lab'], { cwd });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, '');
  assert.match(r.stdout, /^\w+: my-own {2}\(planned-failover\.yml, sha256/m);
});

test('a bare name without .yml finds the local <name>.yml or .yaml before the shipped runbook', async () => {
  const cwd = tempDir();
  writeFileSync(join(cwd, 'planned-failover.yml'), 'name: my-own\ndescription: mine\nsteps:\n  - id: hello\n    type: notify\n    with: { message: hi }\n');
  writeFileSync(join(cwd, 'cleanup.yaml'), 'name: my-cleanup\n');
  assert.equal(resolveRunbookArgument('planned-failover', cwd), { file: 'planned-failover.yml' });
  assert.equal(resolveRunbookArgument('cleanup', cwd), { file: 'cleanup.yaml' });
  const r = await runInProcess(['plan', 'planned-failover', '--lab'], { cwd });
  assert.is(r.code, 0, r.stderr);
  assert.not.match(r.stderr, /shipped/);
  assert.match(r.stdout, /^\w+: my-own {2}\(planned-failover\.yml, sha256/m);
});

test('apply by name runs the shipped runbook from any folder; a path with a folder is never looked up', async () => {
  const cwd = tempDir();
  const r = await runInProcess(['apply', 'planned-failover.yml', '--lab', '--yes', '--set', 'stoppedFor=1s', '--set', 'stableFor=1s', '--set', 'pollInterval=100ms'], { cwd, timeoutMs: 60_000 });
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stderr, new RegExp(`using the shipped runbook ${shippedPlanned.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.match(r.stdout, /Exit 0: done/);
  for (const arg of ['./planned-failover.yml', 'sub/planned-failover.yml']) {
    const missing = await runInProcess(['plan', arg, '--lab'], { cwd });
    assert.is(missing.code, 2, arg);
    assert.not.match(missing.stderr, /shipped/, arg);
    noStack(missing.stderr);
  }
});

test('resolveRunbookArgument: existing paths as given, bare names looked up, unknown names left alone', () => {
  const cwd = tempDir();
  mkdirSync(join(cwd, 'split-brain.yml'));
  assert.equal(resolveRunbookArgument('split-brain.yml', cwd), { file: 'split-brain.yml' }, 'anything at the path wins, even a folder');
  assert.equal(resolveRunbookArgument('cleanup.yml', cwd), { file: join(root, 'runbooks', 'cleanup.yml'), shipped: 'cleanup.yml' });
  assert.equal(resolveRunbookArgument('cleanup', cwd), { file: join(root, 'runbooks', 'cleanup.yml'), shipped: 'cleanup.yml' });
  for (const arg of ['nope.yml', '../runbooks/cleanup.yml', '..', '.', join(cwd, 'cleanup.yml'), 'x\\cleanup.yml']) {
    assert.equal(resolveRunbookArgument(arg, cwd), { file: arg }, arg);
  }
});

test('runbook runbooks lists every shipped runbook with its one-line description and inputs', async () => {
  const shipped = readdirSync(join(root, 'runbooks')).filter((f) => f.endsWith('.yml')).sort();
  const cwd = tempDir();
  const r = await runInProcess(['runbooks'], { cwd });
  assert.is(r.code, 0, r.stderr);
  for (const name of shipped) assert.match(r.stdout, new RegExp(`^${name}$`, 'm'));
  assert.match(r.stdout, /^ {2}Planned failover of one link with no data loss: SQL Server -> managed instance \(the default\) or back\.$/m);
  assert.match(r.stdout, /^ {4}direction: toManagedInstance \| toSqlServer \(default "toManagedInstance"\) {2}Which side becomes the primary\.$/m);
  const alias = await runInProcess(['list-runbooks', '--format', 'json'], { cwd });
  assert.is(alias.code, 0, alias.stderr);
  const list = JSON.parse(alias.stdout) as Array<{ name: string; inputs: Array<{ name: string }> }>;
  assert.equal(list.map((l) => l.name), shipped);
  assert.equal(list.find((l) => l.name === 'planned-failover.yml')!.inputs.map((i) => i.name), inputsOf('planned-failover.yml'));
  const bad = await runInProcess(['runbooks', 'extra'], { cwd });
  assert.is(bad.code, 2);
});

test('firstSentence stops at the first full stop, not inside an ellipsis', () => {
  assert.is(firstSentence('Forced failover: made primary with ALTER AVAILABILITY GROUP ... FORCE, at once. More.'), 'Forced failover: made primary with ALTER AVAILABILITY GROUP ... FORCE, at once.');
  assert.is(firstSentence('  no full stop\n at all '), 'no full stop at all');
});

test('the lookup reads from the package root, not the working directory', () => {
  const cwd = tempDir();
  mkdirSync(join(cwd, 'runbooks'));
  copyFileSync(join(root, 'runbooks', 'cleanup.yml'), join(cwd, 'runbooks', 'decoy.yml'));
  assert.equal(resolveRunbookArgument('decoy.yml', cwd), { file: 'decoy.yml' });
});

test.run();
