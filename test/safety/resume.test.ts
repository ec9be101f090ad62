// apply --resume after a SIGKILL: finished steps are not run again, a change that may have
// happened is verified first, and a resume is refused when the runbook, inventory or inputs changed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChildLab, FAILOVER, FAST, kinds, runbook, SYNC_COMMIT, waitExit, writeNoVerifyRunbook } from '../helpers/child-runs.js';

test('SIGKILL after a change step finished; --resume completes the run without repeating it', async () => {
  const lab = await ChildLab.start();
  try {
    const first = lab.apply(runbook('planned-failover'), FAST);
    await lab.waitForRecord((r) => r.kind === 'step-finished' && r.step === 'sync-commit-sql-server');
    first.child.kill('SIGKILL');
    await waitExit(first.child);
    const runId = lab.runIds().at(-1)!;
    assert.is(lab.count(SYNC_COMMIT), 1);
    assert.is(lab.count(FAILOVER), 0);

    const listed = await lab.inProcess(['runs', '--format', 'json']);
    const run = (JSON.parse(listed.stdout) as Array<Record<string, any>>).find((x) => x.runId === runId)!;
    assert.is(run.state, 'interrupted', 'a killed run is listed as interrupted');
    assert.is(run.link, 'dag1');

    const r = await lab.inProcess(['apply', '--resume', runId, '--yes']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /sync-commit-sql-server: done before; not run again/);
    assert.is(lab.count(SYNC_COMMIT), 1, 'the finished change was not sent again');
    assert.is(lab.count(FAILOVER), 1);
    assert.equal(lab.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
    const k = kinds(lab.records(runId));
    assert.ok(k.includes('run-resumed'));
    assert.is(k.filter((x) => x === 'step-started:sync-commit-sql-server').length, 1);
    const after = await lab.inProcess(['runs']);
    assert.match(after.stdout, new RegExp(`${runId}\\s+planned-failover\\s+dag1\\s+\\S+\\s+succeeded`));
  } finally {
    await lab.stop();
  }
});

test('SIGKILL while FAILOVER was in flight: the resume verifies the roles swapped and does not send it again', async () => {
  const lab = await ChildLab.start({ overrides: { faults: [{ kind: 'slow', match: 'FAILOVER', delayMs: 1500, count: 1 }] } });
  try {
    const first = lab.apply(runbook('planned-failover'), FAST);
    await lab.waitForRecord((r) => r.kind === 'step-started' && r.step === 'failover');
    // Kill only once the FAILOVER has reached the lab (the slow fault fired): the step first
    // resolves which side is primary, and a kill before the statement is sent proves nothing.
    const { waitFor } = await import('../helpers/cli.js');
    await waitFor(() => lab.lab.model.faults.fired()[0]! >= 1, 10_000);
    first.child.kill('SIGKILL');
    await waitExit(first.child);
    const runId = lab.runIds().at(-1)!;
    // The lab carries the FAILOVER out after its delay even though the client is gone.
    await waitFor(() => lab.count(FAILOVER) === 1, 5000);

    const r = await lab.inProcess(['apply', '--resume', runId, '--yes']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.is(lab.count(FAILOVER), 1, 'FAILOVER was never issued twice');
    assert.equal(lab.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
    const recs = lab.records(runId);
    assert.ok(recs.some((x) => x.kind === 'step-verified' && x.step === 'failover' && x.why === 'resume' && x.result === 'done'));
    assert.match(r.stdout, /verified on resume/);
    // Verified before anything else: the reads that guarded it keep their results (an LSN wait
    // after the failover would be about another link state), and it is not verified twice.
    assert.not.match(r.stdout, / again: it finished before the resume/);
    assert.is(recs.filter((x) => x.kind === 'step-verified' && x.step === 'failover').length, 1);
  } finally {
    await lab.stop();
  }
});

test('a change whose outcome stayed unknown and cannot be verified: resume refused (exit 3), nothing re-sent', async () => {
  const lab = await ChildLab.start({ overrides: { faults: [{ kind: 'dropConnection', match: 'MODIFY AVAILABILITY', after: true }] } });
  try {
    const file = writeNoVerifyRunbook(lab.dir);
    const first = await lab.applyInProcess(file, ['--outcome-timeout', '1s']);
    assert.is(first.code, 5, first.stdout + first.stderr);
    const runId = lab.runIds().at(-1)!;
    assert.is(lab.count(SYNC_COMMIT), 1);

    const r = await lab.inProcess(['apply', '--resume', runId, '--yes', '--outcome-timeout', '1s']);
    assert.is(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /may already have acted: the journal shows it ended with outcome unknown/);
    assert.match(r.stdout + r.stderr, /Check the roles on both replicas/);
    assert.is(lab.count(SYNC_COMMIT), 1, 'never repeated blindly');
    const listed = await lab.inProcess(['runs', '--format', 'json']);
    assert.is((JSON.parse(listed.stdout) as Array<Record<string, any>>)[0]!.state, 'failed');
  } finally {
    await lab.stop();
  }
});

test('resume refused (exit 3) when the runbook, the inventory or the inputs changed', async () => {
  const lab = await ChildLab.start();
  try {
    const file = join(lab.dir, 'planned.yml');
    copyFileSync(runbook('planned-failover'), file);
    const first = lab.apply(file, ['--set', 'stableFor=20s', '--set', 'pollInterval=50ms', '--set', 'lsnTimeout=30s']);
    await lab.waitForRecord((r) => r.kind === 'step-started' && r.step === 'caught-up');
    first.child.kill('SIGKILL');
    await waitExit(first.child);
    const runId = lab.runIds().at(-1)!;

    const inputs = await lab.inProcess(['apply', '--resume', runId, '--yes', '--set', 'stableFor=1s', '--set', 'pollInterval=50ms', '--set', 'lsnTimeout=30s']);
    assert.is(inputs.code, 3, inputs.stderr);
    assert.match(inputs.stderr, /input stableFor changed \("20s" -> "1s"\)/);

    const invCopy = join(lab.dir, 'other-inventory.yml');
    writeFileSync(invCopy, readFileSync(lab.inventory, 'utf8').replace(/database: \S+/, 'database: otherdb'));
    const inventory = await lab.inProcess(['apply', '--resume', runId, '-i', invCopy, '--yes']);
    assert.is(inventory.code, 3, inventory.stderr);
    assert.match(inventory.stderr, /the inventory changed/);

    writeFileSync(file, readFileSync(file, 'utf8') + '\n# edited\n');
    const changed = await lab.inProcess(['apply', '--resume', runId, '--yes']);
    assert.is(changed.code, 3, changed.stderr);
    assert.match(changed.stderr, /the runbook .*planned\.yml changed \(sha256/);
    assert.is(lab.count(SYNC_COMMIT), 0, 'no refused resume ran anything');
  } finally {
    await lab.stop();
  }
});

test.run();
