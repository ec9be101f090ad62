// What a new user trips on first (issue 12, point 6), through the CLI (its main() in this process):
// help for a command in both spellings, a folder to validate, a runbook path with a typo, inputs
// from a file and what a runbook asks for, apply --format json as one event per line whatever
// happens, and validate's warnings shown by plan and apply too.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { COMMAND_HELP } from '../../../engine/cli/help.js';
import { root, runInProcess, tempDir } from '../../helpers/cli.js';

test('runbook help <command> is runbook <command> --help, for every command', async () => {
  for (const command of Object.keys(COMMAND_HELP)) {
    const help = await runInProcess(['help', command]);
    const flag = await runInProcess(command === 'lab' ? ['lab', '--help'] : [command, '--help']);
    assert.is(help.code, 0, help.stderr);
    assert.is(help.stdout, flag.stdout, command);
    assert.is(help.stdout, COMMAND_HELP[command]);
  }
  assert.match((await runInProcess(['help'])).stdout, /^Usage:/m);
  const typo = await runInProcess(['help', 'plna']);
  assert.is(typo.code, 2);
  assert.match(typo.stderr, /unknown command "plna"; did you mean "plan"\?/);
});

test('plan --help says what --detailed-exitcode returns, and that without it plan exits 0', async () => {
  const help = (await runInProcess(['plan', '--help'])).stdout;
  assert.match(help, /--detailed-exitcode +exit 0 when there is nothing to change, 2 when the plan changes the\n\s+link, 3 when the run would refuse/);
  assert.match(help, /Without --detailed-exitcode, a plan that could be made exits 0/);
});

test('validate <folder> validates every .yml and .yaml in it, and names the bad one', async () => {
  const shipped = await runInProcess(['validate', 'runbooks/']);
  assert.is(shipped.code, 0, shipped.stderr);
  assert.is(shipped.stdout, '5 file(s) valid.\n');
  const dir = tempDir('runbook-validate-folder-');
  writeFileSync(join(dir, 'a.yml'), 'name: a\ndescription: d\nsteps:\n  - id: n\n    type: notify\n    with: { message: hi }\n');
  writeFileSync(join(dir, 'b.yaml'), 'name: b\ndescription: d\nsteps:\n  - id: n\n    type: notifyy\n');
  writeFileSync(join(dir, 'notes.txt'), 'not yaml');
  const r = await runInProcess(['validate', dir]);
  assert.is(r.code, 2);
  assert.match(r.stderr, new RegExp(`${join(dir, 'b.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:11: error unknown-step-type: Unknown step type \`notifyy\`\\. Did you mean \`notify\`\\?`));
  assert.not.match(r.stderr, /a\.yml|notes\.txt/);
  const empty = tempDir('runbook-validate-empty-');
  const none = await runInProcess(['validate', empty]);
  assert.is(none.code, 2);
  assert.match(none.stderr, /holds no \.yml or \.yaml file/);
});

test('a misspelt runbook path: exit 2 with the nearest names, in its folder and among the shipped runbooks', async () => {
  const plan = await runInProcess(['plan', 'runbooks/planed-failover.yml', '--lab']);
  assert.is(plan.code, 2);
  assert.is(plan.stderr, 'runbook: plan: runbooks/planed-failover.yml: no such file; did you mean `runbooks/planned-failover.yml`?\n');
  const apply = await runInProcess(['apply', 'runbooks/forced-failovr.yml', '--lab', '--yes']);
  assert.is(apply.code, 2);
  assert.match(apply.stderr, /did you mean `runbooks\/forced-failover\.yml`\?/);
  // From elsewhere, a bare name is the shipped runbook (issue 15), and a misspelt one finds it.
  const cwd = tempDir('runbook-typo-');
  const elsewhere = await runInProcess(['plan', 'split-brian.yml', '--lab'], { cwd });
  assert.is(elsewhere.code, 2);
  assert.match(elsewhere.stderr, new RegExp(`did you mean \`${join(root, 'runbooks', 'split-brain.yml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\`\\?`));
  const validate = await runInProcess(['validate', 'runbooks/cleanp.yml']);
  assert.is(validate.code, 2);
  assert.match(validate.stderr, /runbooks\/cleanp\.yml:1:1: error file-unreadable: runbooks\/cleanp\.yml: no such file; did you mean `runbooks\/cleanup\.yml`\?/);
  const nothingNear = await runInProcess(['plan', 'runbooks/zzzz.yml', '--lab']);
  assert.is(nothingNear.stderr, 'runbook: plan: runbooks/zzzz.yml: no such file\n');
});

test('--inputs file.yml gives inputs like --set, which wins over it; problems point into the file', async () => {
  const dir = tempDir('runbook-inputs-');
  const file = join(dir, 'inputs.yml');
  writeFileSync(file, '# the drill\ndirection: toSqlServer\ndropLinkAfter: true\nstableFor: 5s\n');
  const json = async (...extra: string[]) => {
    const r = await runInProcess(['plan', 'runbooks/planned-failover.yml', '--lab', '--format', 'json', '--inputs', file, ...extra]);
    assert.is(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).inputs as Record<string, unknown>;
  };
  assert.equal(await json(), { direction: 'toSqlServer', dropLinkAfter: true, stableFor: '5s', lsnTimeout: '10m', pollInterval: '1s', otherLinksAcknowledged: false, backupTimeout: '1h', stoppedFor: '10s' });
  assert.equal((await json('--set', 'stableFor=7s', '--set', 'direction=toManagedInstance')).stableFor, '7s');
  assert.equal((await json('--set', 'direction=toManagedInstance')).direction, 'toManagedInstance', '--set wins');

  writeFileSync(file, 'direction: toSQLServer\ndropLinkAfter: "yes"\nstableFr: 5s\n');
  const bad = await runInProcess(['plan', 'runbooks/planned-failover.yml', '--lab', '--inputs', file]);
  assert.is(bad.code, 2);
  const lines = bad.stderr.split('\n').filter((l) => / error /.test(l));
  assert.equal(lines.map((l) => l.replace(/: error .*/, '')), [`${file}:1:12`, `${file}:2:16`, `${file}:3:1`]);
  assert.match(lines[0]!, /Input `direction` must be one of: toManagedInstance, toSqlServer \(got `toSQLServer`\)\. Did you mean `toSqlServer`\? Which side becomes the primary\./);
  assert.match(lines[1]!, /Input `dropLinkAfter` must be a boolean, got `"yes"` \(a boolean: Remove the link/);
  assert.match(lines[2]!, /Unknown input `stableFr`\. Did you mean `stableFor`\?/);
  const apply = await runInProcess(['apply', 'runbooks/planned-failover.yml', '--lab', '--yes', '--inputs', file]);
  assert.is(apply.code, 2);
  assert.match(apply.stderr, /inputs\.yml:1:12: error bad-input-value/);
  const missing = await runInProcess(['plan', 'runbooks/planned-failover.yml', '--lab', '--inputs', join(dir, 'nope.yml')]);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /nope\.yml: no such file/);
});

test('runbook inputs <runbook>: each input with its type, allowed values, default and description; --set errors say them too', async () => {
  const r = await runInProcess(['inputs', 'runbooks/split-brain.yml']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Inputs of split-brain \(runbooks\/split-brain\.yml\):$/m);
  assert.match(r.stdout, /^ {2}keep \(required\) +\[one of sqlServer, managedInstance\] +The side that stays primary/m);
  assert.match(r.stdout, /^ {2}skipBackup \(default false\) +\[boolean\] +Demote without a backup/m);
  assert.match(r.stdout, /^ {2}keep: +# required: one of sqlServer, managedInstance$/m, 'the example file chooses nothing for the operator');
  const json = JSON.parse((await runInProcess(['inputs', 'runbooks/split-brain.yml', '--format', 'json'])).stdout);
  assert.equal(json.inputs.keep.enum, ['sqlServer', 'managedInstance']);
  const missing = await runInProcess(['plan', 'runbooks/split-brain.yml', '--lab']);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /Input `keep` has no default; give it with `--set keep=<value>` \(one of sqlServer, managedInstance: The side that stays primary/);
  const wrong = await runInProcess(['plan', 'runbooks/split-brain.yml', '--lab', '--set', 'keep=mi']);
  assert.match(wrong.stderr, /Input `keep` must be one of: sqlServer, managedInstance \(got `mi`\)\. The side that stays primary/);
  const unknown = await runInProcess(['plan', 'runbooks/split-brain.yml', '--lab', '--set', 'keep=sqlServer', '--set', 'kep=x']);
  assert.match(unknown.stderr, /Unknown input `kep`\. Did you mean `keep`\? Inputs of split-brain: keep, .* \(see runbook inputs runbooks\/split-brain\.yml\)\./);
  // The plan lists them with the values it used.
  const plan = await runInProcess(['plan', 'runbooks/split-brain.yml', '--lab', '--set', 'keep=sqlServer']);
  assert.match(plan.stdout, /^ {2}keep = sqlServer +\[one of sqlServer, managedInstance\] +The side that stays primary/m);
});

test('apply --format json: one JSON event per line in every case (bad input, refusal, usage error)', async () => {
  const lines = (stdout: string) => stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  const badInput = await runInProcess(['apply', 'runbooks/planned-failover.yml', '--lab', '--format', 'json', '--set', 'direction=x', '--set', 'nope=1']);
  assert.is(badInput.code, 2);
  const events = lines(badInput.stdout);
  assert.equal(events.map((e) => [e.event, e.code]), [['diagnostic', 'bad-input-value'], ['diagnostic', 'unknown-input']]);
  assert.not.match(badInput.stdout, /^\[/m, 'no JSON array');
  const refused = await runInProcess(['apply', 'runbooks/forced-failover.yml', '--lab', '--format', 'json']);
  assert.is(refused.code, 3);
  const [only, ...rest] = lines(refused.stdout);
  assert.equal(rest, []);
  assert.equal({ event: only!.event, exitCode: only!.exitCode, meaning: only!.meaning }, { event: 'error', exitCode: 3, meaning: 'refused by a guard, a lock or a missing acknowledgement' });
  assert.match(String(only!.message), /--allow-data-loss dag1/);
  assert.match(refused.stderr, /--allow-data-loss dag1/, 'the line for people stays on stderr');
  const usage = await runInProcess(['apply', '--format', 'json']);
  assert.is(usage.code, 2);
  assert.equal(lines(usage.stdout).map((e) => e.event), ['error']);
  // validate and plan print one JSON document, as before.
  assert.ok(Array.isArray(JSON.parse((await runInProcess(['plan', 'runbooks/planned-failover.yml', '--lab', '--format', 'json', '--set', 'direction=x'])).stdout)));
});

test('a value spliced into T-SQL without ident/str: validate, plan and apply all show the warning', async () => {
  const dir = tempDir('runbook-raw-splice-');
  const file = join(dir, 'raw.yml');
  writeFileSync(file, [
    'name: raw', 'description: A raw splice.', 'inputs:', '  who: { type: string, default: x, description: a name }', 'steps:',
    '  - id: q', '    type: sqlExec', '    target: sqlServer', '    with:', '      impact: read', "      sql: \"SELECT '{{inputs.who}}' AS who;\"", '',
  ].join('\n'));
  const at = `${file}:11:23: warning raw-sql-splice: \`inputs.who\` reaches T-SQL without \`ident\` or \`str\``;
  const validate = await runInProcess(['validate', file]);
  assert.is(validate.code, 0, validate.stderr);
  assert.ok(validate.stderr.includes(at), validate.stderr);
  const plan = await runInProcess(['plan', file, '--lab']);
  assert.is(plan.code, 0, plan.stderr);
  assert.ok(plan.stderr.includes(at), plan.stderr);
  const sql = await runInProcess(['plan', file, '--lab', '--format', 'sql']);
  assert.ok(sql.stderr.includes(at) && !sql.stdout.includes('warning'), 'on stderr, never in the script');
  const apply = await runInProcess(['apply', file, '-i', join(root, 'test', 'fixtures', 'runbooks', 'engine-back', 'inventory.yml'), '--yes', '--format', 'json'], { cwd: dir });
  const first = JSON.parse(apply.stdout.split('\n')[0]!) as Record<string, unknown>;
  assert.equal({ event: first.event, severity: first.severity, code: first.code, line: first.line }, { event: 'diagnostic', severity: 'warning', code: 'raw-sql-splice', line: 11 });
});

test.run();
