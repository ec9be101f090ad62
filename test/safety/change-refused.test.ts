// A change step the server refuses outright changed nothing: exit 1 and "Nothing was changed."
// when no earlier change succeeded, exit 4 and "Changed: ..." after one. A failure that leaves
// open whether the step acted (a statement-level error inside a multi-statement batch) is exit 4
// and the summary says the step may have changed the link. The summary and the exit code agree.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChildLab, SYNC_COMMIT } from '../helpers/child-runs.js';
import { definitelyNotApplied } from '../../engine/core/errors.js';
import { armFailure } from '../../steps/support/arm-link.js';
import { ArmAuthError, ArmOperationFailed, ArmRequestError } from '../../engine/drivers/arm/errors.js';
import { isSingleStatement } from '../../engine/drivers/sql/checks.js';

const SYNC = 'ALTER AVAILABILITY GROUP {{ident link.name}} MODIFY AVAILABILITY GROUP ON {{str link.sqlServer.agName}} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);';

function runbookWith(lab: ChildLab, name: string, steps: Array<{ id: string; sql: string }>): string {
  const file = join(lab.dir, `${name}.yml`);
  const body = steps.map((s) => `  - id: ${s.id}\n    type: sqlExec\n    target: sqlServer\n    with:\n      impact: change\n      sql: |\n${s.sql.split('\n').map((l) => `        ${l}`).join('\n')}\n`).join('');
  writeFileSync(file, `name: ${name}\ndescription: Change steps, the last refused by the server.\ninputs: {}\nsteps:\n${body}`);
  return file;
}

function runFinished(lab: ChildLab): Record<string, any> {
  const end = lab.records().at(-1)!;
  assert.is(end.kind, 'run-finished');
  return end;
}

test('a FAILOVER refused by the server (15151) as the first change: exit 1, the summary says nothing was changed', async () => {
  const lab = await ChildLab.start();
  try {
    const file = runbookWith(lab, 'refused-first', [{ id: 'failover', sql: 'ALTER AVAILABILITY GROUP [nope] FAILOVER;' }]);
    const r = await lab.apply(file).done;
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /SQL error 15151/);
    assert.match(r.stdout, /Nothing was changed\./);
    assert.not.match(r.stdout, /May have changed/);
    assert.match(r.stdout, /Exit 1: failed before any change was made/);
    const end = runFinished(lab);
    assert.is(end.exitCode, 1);
    assert.equal(end.changed, []);
    assert.is(end.mayHaveChanged, undefined);
  } finally {
    await lab.stop();
  }
});

test('the same refusal after a change step succeeded: exit 4, the summary names the change', async () => {
  const lab = await ChildLab.start();
  try {
    const file = runbookWith(lab, 'refused-after', [
      { id: 'sync', sql: SYNC },
      { id: 'failover', sql: 'ALTER AVAILABILITY GROUP [nope] FAILOVER;' },
    ]);
    const r = await lab.apply(file).done;
    assert.is(r.code, 4, r.stdout + r.stderr);
    assert.is(lab.count(SYNC_COMMIT), 1);
    assert.match(r.stdout, /Changed: sync\n/);
    assert.not.match(r.stdout, /Nothing was changed/);
    assert.not.match(r.stdout, /May have changed/, 'the refused step itself changed nothing');
    const end = runFinished(lab);
    assert.is(end.exitCode, 4);
    assert.equal(end.changed, ['sync']);
  } finally {
    await lab.stop();
  }
});

test('a guard that refuses after a change step succeeded: exit 4 (the link changed), not 3', async () => {
  const lab = await ChildLab.start();
  try {
    const file = join(lab.dir, 'guard-after-change.yml');
    writeFileSync(file, `name: guard-after-change
description: A change, then a role guard that cannot hold (SQL Server stays primary).
inputs: {}
steps:
  - id: sync
    type: sqlExec
    target: sqlServer
    with:
      impact: change
      sql: ${SYNC}
  - id: mi-is-primary
    type: assertRole
    with: { primary: managedInstance }
`);
    const r = await lab.apply(file).done;
    assert.is(r.code, 4, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /Expected managedInstance to be the primary of link dag1/);
    assert.is(lab.count(SYNC_COMMIT), 1);
    assert.match(r.stdout, /Changed: sync\n/);
    assert.match(r.stdout, /Exit 4: failed after a change was made/);
    const end = runFinished(lab);
    assert.is(end.exitCode, 4);
    assert.equal(end.changed, ['sync']);
  } finally {
    await lab.stop();
  }
});

test('the same guard with nothing changed before it: still exit 3', async () => {
  const lab = await ChildLab.start();
  try {
    const file = join(lab.dir, 'guard-first.yml');
    writeFileSync(file, `name: guard-first
description: A role guard that cannot hold, before any change.
inputs: {}
steps:
  - id: mi-is-primary
    type: assertRole
    with: { primary: managedInstance }
  - id: sync
    type: sqlExec
    target: sqlServer
    with:
      impact: change
      sql: ${SYNC}
`);
    const r = await lab.apply(file).done;
    assert.is(r.code, 3, r.stdout + r.stderr);
    assert.is(lab.count(SYNC_COMMIT), 0);
    assert.match(r.stdout, /Nothing was changed\./);
  } finally {
    await lab.stop();
  }
});

test('an error on the second statement of a batch leaves the first one open: exit 4, "may have changed", never "nothing"', async () => {
  const lab = await ChildLab.start();
  try {
    const file = runbookWith(lab, 'half-batch', [{ id: 'both', sql: `${SYNC}\nALTER AVAILABILITY GROUP [nope] FAILOVER;` }]);
    const r = await lab.apply(file).done;
    assert.is(r.code, 4, r.stdout + r.stderr);
    assert.match(r.stdout, /SQL error 15151/);
    assert.not.match(r.stdout, /Nothing was changed/);
    assert.match(r.stdout, /May have changed: both \(its outcome is not known; check the replicas before going on\)/);
    assert.equal(runFinished(lab).mayHaveChanged, ['both']);
  } finally {
    await lab.stop();
  }
});

test('a lost connection after a change was sent (no verify): exit 5, the summary does not say nothing was changed', async () => {
  const lab = await ChildLab.start({ overrides: { faults: [{ kind: 'dropConnection', match: 'MODIFY AVAILABILITY', after: true }] } });
  try {
    const file = runbookWith(lab, 'lost', [{ id: 'sync', sql: SYNC }]);
    const r = await lab.apply(file, ['--outcome-timeout', '1s']).done;
    assert.is(r.code, 5, r.stdout + r.stderr);
    assert.not.match(r.stdout, /Nothing was changed/);
    assert.match(r.stdout, /May have changed: sync/);
  } finally {
    await lab.stop();
  }
});

test('which errors are a definite refusal', () => {
  assert.ok(definitelyNotApplied(Object.assign(new Error('x'), { name: 'RequestError', number: 41142 })));
  assert.not.ok(definitelyNotApplied(Object.assign(new Error('x'), { name: 'ConnectionError', code: 'ESOCKET' })));
  assert.not.ok(definitelyNotApplied(Object.assign(new Error('x'), { outcome: 'unknown', notApplied: true })));
  assert.not.ok(definitelyNotApplied(new Error('plain')));
  assert.ok(definitelyNotApplied(armFailure(new ArmRequestError(409, 'Conflict', 'no'), 'fail over', 'dag1')));
  assert.ok(definitelyNotApplied(armFailure(new ArmAuthError(403, 'AuthorizationFailed', 'no'), 'fail over', 'dag1')));
  assert.not.ok(definitelyNotApplied(armFailure(new ArmRequestError(500, 'InternalServerError', 'no'), 'fail over', 'dag1')), 'a 500 may have acted');
  assert.not.ok(definitelyNotApplied(armFailure(new ArmOperationFailed(undefined, 'Failed', 'no'), 'fail over', 'dag1')), 'accepted, then failed');
  assert.ok(isSingleStatement('ALTER AVAILABILITY GROUP [x] FAILOVER;'));
  assert.ok(isSingleStatement("-- go over\nALTER AVAILABILITY GROUP [x]\n  MODIFY AVAILABILITY GROUP ON N'a;b' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)"));
  assert.not.ok(isSingleStatement('ALTER AVAILABILITY GROUP [x] FAILOVER; SELECT 1'));
  assert.not.ok(isSingleStatement('ALTER AVAILABILITY GROUP [x] FAILOVER\nDROP AVAILABILITY GROUP [y]'));
  assert.not.ok(isSingleStatement('EXEC sp_do_things'), 'a procedure may fail after some work');
  assert.not.ok(isSingleStatement('IF 1 = 1 ALTER AVAILABILITY GROUP [x] FAILOVER'));
});

test.run();
