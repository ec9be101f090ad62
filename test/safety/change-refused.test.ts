// A change step the server refuses outright changed nothing: exit 1 and "Nothing was changed."
// when no earlier change succeeded, exit 4 and "Changed: ..." after one. A failure that leaves
// open whether the step acted (a statement-level error inside a multi-statement batch) is exit 4
// and the summary says the step may have changed the link. The summary and the exit code agree.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SYNC_COMMIT } from '../helpers/child-runs.js';
import { journalRecords } from '../helpers/fault-matrix.js';
import type { LabRun, TestLab } from '../helpers/lab-run.js';
import { runbookCases } from '../helpers/runbook-cases.js';
import { definitelyNotApplied } from '../../engine/core/errors.js';
import { armFailure } from '../../steps/support/arm-link.js';
import { ArmAuthError, ArmOperationFailed, ArmRequestError } from '../../engine/drivers/arm/errors.js';
import { isSingleStatement } from '../../engine/drivers/sql/checks.js';

const SYNC = 'ALTER AVAILABILITY GROUP {{ident link.name}} MODIFY AVAILABILITY GROUP ON {{str link.sqlServer.agName}} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);';

/** A runbook of sqlExec change steps on SQL Server, written into the test's folder. */
const runbookWith = (name: string, steps: Array<{ id: string; sql: string }>) => (t: TestLab): string => {
  const body = steps.map((s) => `  - id: ${s.id}\n    type: sqlExec\n    target: sqlServer\n    with:\n      impact: change\n      sql: |\n${s.sql.split('\n').map((l) => `        ${l}`).join('\n')}\n`).join('');
  return written(t, name, `name: ${name}\ndescription: Change steps, the last refused by the server.\ninputs: {}\nsteps:\n${body}`);
};

function written(t: TestLab, name: string, text: string): string {
  const file = join(t.dir, `${name}.yml`);
  writeFileSync(file, text);
  return file;
}

/** The journal's last record, which must be run-finished, has these fields. */
const finished = (fields: Record<string, unknown>) => (_t: TestLab, run: LabRun) => {
  const end = journalRecords(run.journalDir).at(-1)!;
  assert.is(end.kind, 'run-finished');
  for (const [key, value] of Object.entries(fields)) assert.equal(end[key], value, key);
};

// Each in a child process, as an operator runs it.
runbookCases(
  [
    {
      name: 'a FAILOVER refused by the server (15151) as the first change: exit 1, the summary says nothing was changed',
      runbook: runbookWith('refused-first', [{ id: 'failover', sql: 'ALTER AVAILABILITY GROUP [nope] FAILOVER;' }]),
      expect: { exit: 1, stdout: [/SQL error 15151/, /Nothing was changed\./, /Exit 1: failed before any change was made/], notStdout: [/May have changed/] },
      then: finished({ exitCode: 1, changed: [], mayHaveChanged: undefined }),
    },
    {
      name: 'the same refusal after a change step succeeded: exit 4, the summary names the change',
      runbook: runbookWith('refused-after', [
        { id: 'sync', sql: SYNC },
        { id: 'failover', sql: 'ALTER AVAILABILITY GROUP [nope] FAILOVER;' },
      ]),
      // Not "may have changed": the refused step itself changed nothing.
      expect: { exit: 4, times: [[SYNC_COMMIT, 1]], stdout: [/Changed: sync\n/], notStdout: [/Nothing was changed/, /May have changed/] },
      then: finished({ exitCode: 4, changed: ['sync'] }),
    },
    {
      name: 'a guard that refuses after a change step succeeded: exit 4 (the link changed), not 3',
      runbook: (t) =>
        written(t, 'guard-after-change', `name: guard-after-change
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
`),
      expect: { exit: 4, times: [[SYNC_COMMIT, 1]], stdout: [/Changed: sync\n/, /Exit 4: failed after a change was made/] },
      then(t, run) {
        assert.match(run.stdout + run.stderr, /Expected managedInstance to be the primary of link dag1/);
        finished({ exitCode: 4, changed: ['sync'] })(t, run);
      },
    },
    {
      name: 'the same guard with nothing changed before it: still exit 3',
      runbook: (t) =>
        written(t, 'guard-first', `name: guard-first
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
`),
      expect: { exit: 3, times: [[SYNC_COMMIT, 0]], stdout: [/Nothing was changed\./] },
    },
    {
      name: 'an error on the second statement of a batch leaves the first one open: exit 4, "may have changed", never "nothing"',
      runbook: runbookWith('half-batch', [{ id: 'both', sql: `${SYNC}\nALTER AVAILABILITY GROUP [nope] FAILOVER;` }]),
      expect: {
        exit: 4,
        stdout: [/SQL error 15151/, /May have changed: both \(its outcome is not known; check the replicas before going on\)/],
        notStdout: [/Nothing was changed/],
      },
      then: finished({ mayHaveChanged: ['both'] }),
    },
    {
      name: 'a lost connection after a change was sent (no verify): exit 5, the summary does not say nothing was changed',
      overrides: { faults: [{ kind: 'dropConnection', match: 'MODIFY AVAILABILITY', after: true }] },
      runbook: runbookWith('lost', [{ id: 'sync', sql: SYNC }]),
      flags: { args: ['--outcome-timeout', '1s'] },
      expect: { exit: 5, notStdout: [/Nothing was changed/], stdout: [/May have changed: sync/] },
    },
  ],
);

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
