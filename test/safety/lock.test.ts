// One operator per link: a second apply on the same link really runs while the first holds the
// lock on the servers, and is refused naming the holder; a SIGKILLed holder leaves no stuck lock.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostname, userInfo } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChildLab, FAILOVER, FAST, runbook, STAYS_IN_WAIT, stepRecord, waitExit } from '../helpers/child-runs.js';

test('a second run on the same link is refused (exit 3) with the holder; after SIGKILL of the holder a new run proceeds', async () => {
  const lab = await ChildLab.start();
  try {
    const { run: first, runId: holderRun } = await lab.applyUntil(runbook('planned-failover'), STAYS_IN_WAIT, () => lab.records().some(stepRecord('caught-up')));
    const held = lab.lab.model.applocks.rows();
    assert.equal(held.map((r) => r.resource), ['runbook:link:dag1', 'runbook:link:dag1']);
    assert.match(held[0]!.holder.programName, new RegExp(`^runbook ${holderRun} `));

    const second = await lab.applyInProcess(runbook('planned-failover'), FAST);
    assert.is(second.code, 3, second.stdout + second.stderr);
    assert.match(second.stderr, new RegExp(`run ${holderRun} of ${userInfo().username} on host ${hostname()}, since \\d{4}-\\d\\d-\\d\\dT`));
    assert.is(lab.count(FAILOVER), 0);
    const refusedRun = lab.runIds().find((id) => id !== holderRun)!;
    assert.ok(lab.records(refusedRun).some((r) => r.kind === 'lock-refused'), 'the refused run journals why');

    // Plan never takes the lock.
    const plan = await lab.inProcess(['plan', runbook('planned-failover'), '-i', lab.inventory]);
    assert.is(plan.code, 0, plan.stderr);

    first.child.kill('SIGKILL');
    await waitExit(first.child);
    const { waitFor } = await import('../helpers/cli.js');
    await waitFor(() => lab.lab.model.applocks.rows().length === 0, 5000);
    const third = await lab.applyInProcess(runbook('planned-failover'), FAST);
    assert.is(third.code, 0, third.stdout + third.stderr);
    assert.match(third.stdout, /Lock runbook:link:dag1: held on sqlServer and managedInstance/);
    assert.is(lab.count(FAILOVER), 1);
  } finally {
    await lab.stop();
  }
});

test('a second run whose inventory spells the link DAG1 (the first says dag1: one link to the server) is refused (exit 3) naming the first', async () => {
  const lab = await ChildLab.start();
  try {
    const upper = join(lab.dir, 'inventory-upper.yml');
    writeFileSync(upper, readFileSync(lab.inventory, 'utf8').replace(/^(\s+name: )dag1$/m, '$1DAG1'));
    assert.match(readFileSync(upper, 'utf8'), /name: DAG1\n/);
    const { run: first, runId: holderRun } = await lab.applyUntil(runbook('planned-failover'), STAYS_IN_WAIT, () => lab.records().some(stepRecord('caught-up')));

    const second = await lab.inProcess(['apply', runbook('planned-failover'), '-i', upper, '--yes', ...FAST]);
    assert.is(second.code, 3, second.stdout + second.stderr);
    assert.match(second.stderr, new RegExp(`link DAG1 is locked by run ${holderRun} of `));
    assert.is(lab.count(FAILOVER), 0, 'nothing was sent by either run');
    first.child.kill('SIGKILL');
    await waitExit(first.child);
  } finally {
    await lab.stop();
  }
});

test('with the primary down the lock is taken where reachable and the forced failover still runs', async () => {
  const lab = await ChildLab.start();
  try {
    lab.lab.setDown('sqlServer', true);
    // SQL Server's version cannot be read while it is down: given, as the operator knows it.
    const r = await lab.applyInProcess(runbook('forced-failover'), ['--allow-data-loss', 'dag1', '--set', 'sqlServerVersion=16.0.4125.3']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Lock runbook:link:dag1: held on managedInstance; sqlServer unreachable, not locked/);
    assert.match(r.stdout, /lock: sqlServer could not be reached, so it is not locked/);
    const lock = lab.records().find((x) => x.kind === 'lock')!;
    assert.equal(lock.held, ['managedInstance']);
    assert.equal(lab.roles().managedInstance, 'PRIMARY');
  } finally {
    await lab.stop();
  }
});

test.run();
