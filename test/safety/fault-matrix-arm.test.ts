// Fault matrix, ARM: the engine killed while Azure runs a long-running failover, setRole or
// delete, then resumed (the resume waits for the operation in flight and never has a second one
// accepted), and a 503 on the read that comes before the DELETE (nothing was sent: exit 1).
// The lab's ARM request log is the record of what Azure was asked and what it accepted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../helpers/cli.js';
import { ChildLab, waitExit, type Rec } from '../helpers/child-runs.js';

process.env.RUNBOOK_ARM_MAX_RETRIES = '1';
process.env.RUNBOOK_ARM_RETRY_DELAY_MS = '20';
process.env.RUNBOOK_ARM_MAX_RETRY_DELAY_MS = '50';

/**
 * The lab's long-running operations are held in progress (lab.holdArmOperations) until the test has
 * seen the run meet one in flight, then released: no race with how fast a process starts.
 */
const LRO_MS = 200;

function oneStepRunbook(lab: ChildLab, name: string, type: string, withBlock: string): string {
  const file = join(lab.dir, `${name}.yml`);
  writeFileSync(file, `name: ${name}\ndescription: One ARM step.\ninputs: {}\nsteps:\n  - id: act\n    type: ${type}\n    with: ${withBlock}\n`);
  return file;
}

const requests = (lab: ChildLab, method: string, suffix: string) =>
  lab.lab.armRequests().filter((r) => r.method === method && r.path.endsWith(suffix));

const cases: Array<{ action: string; type: string; with: string; method: string; suffix: string; after: (lab: ChildLab) => void }> = [
  {
    action: 'failover',
    type: 'armFailoverLink',
    with: '{ failoverType: ForcedAllowDataLoss, expectInstanceRole: Primary, pollInterval: 100ms }',
    method: 'POST',
    suffix: '/failover',
    after: (lab) => assert.is(lab.roles().managedInstance, 'PRIMARY'),
  },
  {
    action: 'setRole',
    type: 'armSetRole',
    with: '{ instanceRole: Primary, roleChangeType: Forced, pollInterval: 100ms }',
    method: 'POST',
    suffix: '/setRole',
    after: (lab) => assert.is(lab.roles().managedInstance, 'PRIMARY'),
  },
  {
    action: 'delete',
    type: 'armDeleteLink',
    with: '{ pollInterval: 100ms }',
    method: 'DELETE',
    suffix: '/dag1',
    after: (lab) => assert.not.ok(lab.lab.link().replicas.managedInstance.dagPresent, 'the link is gone from the managed instance'),
  },
];

/** `runbook` in a child process whose stdout can be watched while it runs. */
function watched(run: ReturnType<ChildLab['cli']>): { output: () => string; done: ReturnType<ChildLab['cli']>['done'] } {
  let out = '';
  run.child.stdout!.on('data', (d) => (out += d));
  return { output: () => out, done: run.done };
}

/** Kill the run once Azure accepted the operation and resume while it is still in progress. */
async function killDuringThenResume(c: (typeof cases)[number]): Promise<void> {
  const lab = await ChildLab.start({ overrides: { arm: { lroDurationMs: LRO_MS, retryAfterSeconds: 0 } } });
  try {
    lab.lab.holdArmOperations(true);
    const file = oneStepRunbook(lab, `arm-${c.action}`, c.type, c.with);
    const first = lab.apply(file, ['--allow-data-loss', 'dag1']);
    await waitFor(() => requests(lab, c.method, c.suffix).some((r) => r.status === 202), 20_000);
    first.child.kill('SIGKILL');
    await waitExit(first.child);
    const runId = lab.runIds().at(-1)!;
    assert.ok(lab.records(runId).some((r: Rec) => r.kind === 'step-started' && r.step === 'act'), `${c.action}: the journal shows the step started`);

    const resume = watched(lab.cli(['apply', '--resume', runId, '--yes', '--allow-data-loss', 'dag1', '--outcome-timeout', '20s']));
    if (c.method === 'POST') {
      // The link shows LinkFailoverInProgress: the resume's verify waits for it, sending nothing.
      await waitFor(() => /reports LinkFailoverInProgress; waiting for that operation to end/.test(resume.output()), 20_000);
    } else {
      // A delete does not show on the link: the resume's DELETE is refused with 409 while the
      // first runs, and the step waits (re-asking now and then) instead of failing.
      await waitFor(() => requests(lab, 'DELETE', c.suffix).some((r) => r.status === 409), 20_000);
    }
    lab.lab.holdArmOperations(false);
    const r = await resume.done;
    assert.is(r.code, 0, `${c.action}: ${r.stdout}${r.stderr}`);
    const statuses = requests(lab, c.method, c.suffix).map((x) => x.status);
    if (c.method === 'POST') {
      assert.equal(statuses, [202], `${c.action}: the resume did not send it again`);
      assert.match(r.stdout, /verified on resume/, c.action);
    } else {
      assert.match(r.stdout, /waiting for an operation in progress: ConflictingServerOperation/, c.action);
      assert.is(statuses[0], 202);
      assert.ok(statuses.slice(1).every((s) => s === 409), `only the first DELETE was accepted: ${statuses.join(', ')}`);
    }
    c.after(lab);
    assert.not.match(r.stdout, /FAILED/, c.action);
  } finally {
    await lab.stop();
  }
}

/** A setRole refused with 409 ConflictingServerOperation while an update runs waits it out, then is sent. */
async function setRoleDuringUpdate(): Promise<void> {
  const lab = await ChildLab.start({ overrides: { arm: { lroDurationMs: LRO_MS, retryAfterSeconds: 0 } } });
  try {
    lab.lab.holdArmOperations(true);
    const { createArmClient } = await import('../../engine/drivers/arm/client.js');
    const { linkIdsOf } = await import('../../engine/drivers/arm/link-ids.js');
    const ids = linkIdsOf(lab.lab.inventory);
    const client = await createArmClient(lab.lab.inventory, lab.lab.env);
    await client.distributedAvailabilityGroups.beginUpdate(ids.resourceGroup, ids.managedInstance, ids.name, { replicationMode: 'Sync' });
    const file = oneStepRunbook(lab, 'arm-setrole-busy', 'armSetRole', '{ instanceRole: Primary, roleChangeType: Forced, pollInterval: 100ms }');
    const run = lab.apply(file, ['--allow-data-loss', 'dag1']);
    await waitFor(() => requests(lab, 'POST', '/setRole').some((x) => x.status === 409), 20_000);
    lab.lab.holdArmOperations(false);
    const r = await run.done;
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /waiting for an operation in progress: ConflictingServerOperation/);
    const statuses = requests(lab, 'POST', '/setRole').map((x) => x.status);
    assert.is(statuses.at(-1), 202);
    assert.ok(statuses.slice(0, -1).every((s) => s === 409), statuses.join(', '));
    assert.is(lab.roles().managedInstance, 'PRIMARY');
  } finally {
    await lab.stop();
  }
}

// Side by side, each with its own lab: most of their time is the lab's slow operation.
test('an operation in progress is waited for: --resume after SIGKILL during a failover, a setRole or a delete (nothing accepted twice), and a setRole refused with 409 during an update; all exit 0', async () => {
  const results = await Promise.allSettled([...cases.map(killDuringThenResume), setRoleDuringUpdate()]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
});

test('ARM 503 on the read before the link delete: no DELETE sent, exit 1, "Nothing was changed"', async () => {
  // Four 503s: the first two answer apply's preflight read of the link (not a set-up error: it
  // goes on), the last two the step's own read before its DELETE (two tries each, RUNBOOK_ARM_MAX_RETRIES=1).
  const lab = await ChildLab.start({ overrides: { faults: [{ kind: 'armStatus', op: 'get', status: 503, count: 4 }] } });
  try {
    const file = oneStepRunbook(lab, 'arm-delete-503', 'armDeleteLink', '{ pollInterval: 100ms }');
    const r = await lab.applyInProcess(file, ['--allow-data-loss', 'dag1']);
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.equal(lab.lab.armRequests().filter((x) => x.method === 'DELETE'), [], 'no DELETE was sent');
    assert.match(r.stdout, /Nothing was sent to delete link dag1 on sqlmi1 \S+: reading it first failed with HTTP 503 ServiceUnavailable/);
    assert.match(r.stdout, /Nothing was changed\./);
    assert.not.match(r.stdout, /May have changed/);
    const end = lab.records().at(-1)!;
    assert.is(end.kind, 'run-finished');
    assert.is(end.exitCode, 1);
    assert.is(end.mayHaveChanged, undefined);
    assert.ok(lab.lab.link().replicas.managedInstance.dagPresent, 'the link is still there');
  } finally {
    await lab.stop();
  }
});

test('a resumed link delete whose first DELETE was accepted, and whose read before its own DELETE gets 503: "May have changed", exit 4, never "Nothing was changed"', async () => {
  const lab = await ChildLab.start({ overrides: { arm: { lroDurationMs: LRO_MS, retryAfterSeconds: 0 } } });
  try {
    lab.lab.holdArmOperations(true);
    const file = oneStepRunbook(lab, 'arm-delete-resume-503', 'armDeleteLink', '{ pollInterval: 100ms }');
    const first = lab.apply(file, ['--allow-data-loss', 'dag1']);
    await waitFor(() => requests(lab, 'DELETE', '/dag1').some((r) => r.status === 202), 20_000);
    first.child.kill('SIGKILL');
    await waitExit(first.child);
    const runId = lab.runIds().at(-1)!;

    const resume = lab.cli(['apply', '--resume', runId, '--yes', '--allow-data-loss', 'dag1', '--outcome-timeout', '5s']);
    // The resume verifies the delete before deciding what to read again and once more right before
    // sending: a delete in progress does not show on the link, so both say "not done" (journaled).
    // The next read of the link is the step's own, before its DELETE: that one gets 503.
    const GET_LINK = /^GET \/subscriptions\/.*\/distributedAvailabilityGroups\/dag1$/;
    for (;;) {
      const held = lab.lab.hold({ arm: true, match: GET_LINK });
      const ended = await Promise.race([held.reached.then(() => false), resume.done.then(() => true)]);
      if (ended) {
        held.release();
        break;
      }
      const verified = lab.records(runId).filter((x: Rec) => x.kind === 'step-verified' && x.why === 'resume' && x.step === 'act');
      if (verified.length >= 2) lab.lab.addFault({ kind: 'armStatus', op: 'get', status: 503, count: 10 });
      held.release();
      if (verified.length >= 2) break;
    }
    const r = await resume.done;
    assert.is(r.code, 4, r.stdout + r.stderr);
    assert.match(r.stdout, /reading it first failed with HTTP 503/);
    assert.match(r.stdout, /May have changed: act/);
    assert.not.match(r.stdout, /Nothing was changed\./);
    const end = lab.records(runId).at(-1)!;
    assert.is(end.kind, 'run-finished');
    assert.equal(end.mayHaveChanged, ['act']);
    assert.equal(requests(lab, 'DELETE', '/dag1').map((x) => x.status), [202], 'the resume sent no DELETE');
    lab.lab.holdArmOperations(false);
    await waitFor(() => !lab.lab.link().replicas.managedInstance.dagPresent, 10_000);
  } finally {
    await lab.stop();
  }
});

test.run();
