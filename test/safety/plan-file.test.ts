// A saved plan is input, not trust: `apply plan.json` plans again from the plan's runbook,
// inventory and inputs and refuses (exit 3, naming each difference) unless the steps are the same;
// the plan's inputs are checked as `--set` values are (exit 2, plan.json:line:col). Edited plans
// below carry a recomputed digest, so it is the rebuild that refuses them, before anything is
// connected, locked or journaled. The digest still guards what a rebuild cannot make again (a
// probed plan's observation). An untouched plan applies.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planDigest } from '../../engine/plan/file.js';
import type { Plan } from '../../engine/plan/types.js';
import { ChildLab, FAST, runbook } from '../helpers/child-runs.js';

type SavedPlan = Plan & { observed?: { fingerprint: Record<string, string> } };

let lab: ChildLab;
test.before(async () => {
  lab = await ChildLab.start();
});
test.after(async () => {
  await lab?.stop();
});

async function savePlan(name: string, extra: string[] = []): Promise<{ file: string; plan: SavedPlan }> {
  const file = join(lab.dir, `${name}-${Math.random().toString(36).slice(2, 8)}.json`);
  const r = await lab.inProcess(['plan', runbook(name), '-i', lab.inventory, '--out', file, ...extra]);
  assert.is(r.code, 0, r.stdout + r.stderr);
  return { file, plan: JSON.parse(readFileSync(file, 'utf8')) as SavedPlan };
}

/** Writes an edited plan as an attacker would: with its digest recomputed. */
function writeEdited(file: string, plan: SavedPlan, resign = true): void {
  const { digest: _old, ...content } = plan;
  writeFileSync(file, JSON.stringify(resign ? { ...content, digest: planDigest(content as Plan) } : plan, null, 2));
}

async function applyRefused(file: string, code: number, extra: string[] = []): Promise<string> {
  const statements = lab.lab.statements().length;
  const runs = lab.runIds().length;
  const r = await lab.inProcess(['apply', file, '--yes', ...extra]);
  assert.is(r.code, code, r.stdout + r.stderr);
  assert.is(r.stdout, '', 'no run started');
  assert.is(lab.lab.statements().length, statements, 'nothing was sent to either replica');
  assert.is(lab.runIds().length, runs, 'no journal');
  assert.equal(lab.roles(), { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' });
  return r.stderr;
}

test('the LSN waits removed from a planned failover: refused (exit 3) naming both waits', async () => {
  const { file, plan } = await savePlan('planned-failover', FAST);
  writeEdited(file, { ...plan, steps: plan.steps.filter((s) => s.type !== 'waitLsnStable') });
  const stderr = await applyRefused(file, 3);
  assert.match(stderr, /^runbook: refusing to apply .*: it is not the plan `runbook plan` makes of .*planned-failover\.yml with its inventory and inputs: /);
  assert.match(stderr, /steps caught-up \(waitLsnStable\) and still-caught-up \(waitLsnStable\) of the runbook are missing from the plan/);
  assert.match(stderr, /Nothing was run\. Make a new plan\.\n$/);
});

test('the FAILOVER step duplicated: refused (exit 3)', async () => {
  const { file, plan } = await savePlan('planned-failover', FAST);
  const at = plan.steps.findIndex((s) => s.id === 'failover');
  const steps = [...plan.steps.slice(0, at + 1), plan.steps[at]!, ...plan.steps.slice(at + 1)];
  writeEdited(file, { ...plan, steps });
  const stderr = await applyRefused(file, 3);
  assert.match(stderr, /step failover appears 2 times in the plan; the runbook has it once/);
});

test('the FAILOVER\'s SQL text changed: refused (exit 3) naming the field', async () => {
  const { file, plan } = await savePlan('planned-failover', FAST);
  const forced = 'ALTER AVAILABILITY GROUP [dag1] FORCE_FAILOVER_ALLOW_DATA_LOSS;';
  const steps = plan.steps.map((s) =>
    s.id === 'failover' ? { ...s, with: { ...s.with, sql: forced }, plan: { ...s.plan, sql: (s.plan.sql ?? []).map((q) => ({ ...q, text: forced })) } } : s);
  writeEdited(file, { ...plan, steps });
  const stderr = await applyRefused(file, 3);
  assert.match(stderr, /step failover: with\.sql is "ALTER AVAILABILITY GROUP \[dag1\] FORCE_FAILOVER_ALLOW_DATA_LOSS;" in the plan, but the runbook makes it "ALTER AVAILABILITY GROUP \[dag1\] FAILOVER;"/);
  assert.match(stderr, /step failover: plan\.sql\[0\]\.text is /);
});

test('the forced failover\'s data-loss step lowered to change: refused (exit 3), even without --allow-data-loss', async () => {
  const { file, plan } = await savePlan('forced-failover');
  writeEdited(file, { ...plan, steps: plan.steps.map((s) => (s.impact === 'dataLoss' ? { ...s, impact: 'change' as const } : s)) });
  const stderr = await applyRefused(file, 3);
  assert.match(stderr, /step force: impact is "change" in the plan, but the runbook makes it "dataLoss"/);
});

test('an input outside its enum: exit 2 at plan.json:line:col, as --set would be', async () => {
  const { file, plan } = await savePlan('planned-failover', FAST);
  writeEdited(file, { ...plan, inputs: { ...plan.inputs, direction: 'sideways' } });
  const stderr = await applyRefused(file, 2);
  const line = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes('"direction": "sideways"')) + 1;
  assert.ok(line > 0);
  assert.match(stderr, new RegExp(`\\.json:${line}:\\d+: error bad-input-value: Input \`direction\` must be one of: toManagedInstance, toSqlServer \\(got \`sideways\`\\)`));
});

test('a probed plan: its observation is under the digest (edited: exit 3); a plan without a digest is refused', async () => {
  const { file, plan } = await savePlan('planned-failover', [...FAST, '--probe']);
  assert.is(plan.observed?.fingerprint['sqlServer role'], 'PRIMARY', 'the probe\'s observation is in the file');
  writeEdited(file, { ...plan, observed: { ...plan.observed!, fingerprint: { ...plan.observed!.fingerprint, 'sqlServer role': '(not observed)' } } }, false);
  assert.match(await applyRefused(file, 3), /its digest does not match its content: the file was edited after `runbook plan` wrote it\. Nothing was run/);
  const { digest: _digest, ...unsigned } = plan;
  writeFileSync(file, JSON.stringify(unsigned, null, 2));
  assert.match(await applyRefused(file, 3), /it has no digest/);
});

test('plan --lab --probe: the steps are those of plan --lab (no ports of the lab the probe started), so apply can make them again', async () => {
  const sets = ['--set', 'keep=sqlServer', '--set', 'backupLocation=/backups/tail.trn'];
  const file = join(lab.dir, 'lab-probed.json');
  const probed = await lab.inProcess(['plan', runbook('split-brain'), '--lab', 'split-brain', '--probe', '--out', file, ...sets]);
  assert.is(probed.code, 0, probed.stderr);
  const plain = await lab.inProcess(['plan', runbook('split-brain'), '--lab', 'split-brain', '--format', 'json', ...sets]);
  assert.is(plain.code, 0, plain.stderr);
  const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedPlan;
  assert.ok(saved.observed, 'observed state recorded');
  assert.equal(saved.steps, (JSON.parse(plain.stdout) as Plan).steps);
  assert.match(JSON.stringify(saved.steps), /Point the applications at localhost \(SQL Server sql01/, 'the endpoint named is the lab inventory\'s (no port), as plan --lab shows it');
});

// Issue 9 attack, F13: a plan reviewed for one link applied to another whose names are the same.
test('the inventory\'s content is pinned: changed at its path, or another file given with -i, is refused (exit 3) naming it', async () => {
  const { file, plan } = await savePlan('planned-failover', FAST);
  assert.match(String(plan.inventory.sha256), /^[0-9a-f]{64}$/, 'the plan records the inventory\'s sha256');
  const original = readFileSync(lab.inventory, 'utf8');
  const elsewhere = original.replace(/host: localhost/g, 'host: 127.0.0.1');
  assert.is.not(elsewhere, original);
  const other = join(lab.dir, 'other-inventory.yml');
  writeFileSync(other, elsewhere);
  const stderr = await applyRefused(file, 3, ['-i', other]);
  assert.match(stderr, new RegExp(`^runbook: refusing to apply .*: the inventory ${other.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not the one the plan was made with \\(sha256 [0-9a-f]{12} in the plan, [0-9a-f]{12} now\\)`));
  assert.match(stderr, /Nothing was run\. Make a new plan with the inventory you mean\.\n$/);
  try {
    writeFileSync(lab.inventory, elsewhere);
    assert.match(await applyRefused(file, 3), /is not the one the plan was made with/);
  } finally {
    writeFileSync(lab.inventory, original);
  }
  assert.match(await applyRefused(file, 3, ['--lab']), /the plan was made with inventory .*, not for the embedded lab/);
});

// Issue 9 attack, F16: a plan file, and the files a plan names, are read only as regular files of
// a bounded size: an edited plan naming /dev/zero or a FIFO, or a 600 MB plan, is one line, exit 2, at once.
test('size and kind limits: a plan over 10 MB, a runbook.file that is /dev/zero or a FIFO, an inventory that is a FIFO: exit 2 at once', async () => {
  const { file, plan } = await savePlan('planned-failover', FAST);
  const padded = join(lab.dir, 'padded.json');
  // Still the same plan to JSON.parse and to its digest: only its size is wrong.
  writeFileSync(padded, readFileSync(file, 'utf8') + ' '.repeat(10 * 1024 * 1024));
  assert.match(await applyRefused(padded, 2), /^runbook: apply: .*padded\.json: it is \d+ bytes; the limit is 10485760 bytes\n$/);

  const fifo = join(lab.dir, `fifo-${Math.random().toString(36).slice(2, 8)}`);
  execFileSync('mkfifo', [fifo]);
  const bounded = async (edited: SavedPlan, expected: RegExp) => {
    const target = join(lab.dir, `edited-${Math.random().toString(36).slice(2, 8)}.json`);
    writeEdited(target, edited);
    const started = Date.now();
    const r = await lab.inProcess(['apply', target, '--yes'], 15_000);
    assert.is(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, expected);
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  };
  await bounded({ ...plan, runbook: { ...plan.runbook, file: '/dev/zero' } }, /^runbook: apply: the plan's runbook \/dev\/zero is not a regular file\n$/);
  await bounded({ ...plan, runbook: { ...plan.runbook, file: fifo } }, /^runbook: apply: the plan's runbook .*fifo-\w+ is not a regular file\n$/);
  await bounded({ ...plan, inventory: { ...plan.inventory, file: fifo } }, /^runbook: apply: the inventory .*fifo-\w+ is not a regular file\n$/);
});

test('an untouched plan applies: the planned failover runs', async () => {
  const { file, plan } = await savePlan('planned-failover', FAST);
  assert.match(String(plan.digest), /^sha256:[0-9a-f]{64}$/);
  const r = await lab.inProcess(['apply', file, '--yes']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.equal(lab.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
});

test.run();
