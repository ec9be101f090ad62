// Verifying an unclear outcome, pure: verify() is asked until it says done or not-done, and an
// error or "cannot tell" stays unknown; never "not done" for a check that could not be made (a
// FAILOVER would be sent again). On the lab: test/safety/unknown-outcome.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { verificationText, verifyUntilKnown, whatToCheck } from '../../../engine/apply/outcome.js';
import type { StepDefinition } from '../../../engine/step-api/types.js';
import type { StepSpec } from '../../../engine/core/types.js';

type Answer = 'done' | 'not-done' | 'unknown' | Error;

/** A step type whose verify() gives these answers in turn (the last one again), and what it saw. */
function verifying(answers: Answer[]) {
  const seen = { calls: 0, invalidated: 0, progress: [] as string[], signals: [] as AbortSignal[] };
  const def = {
    type: 'fake',
    async verify(ctx: { signal: AbortSignal }) {
      seen.signals.push(ctx.signal);
      const answer = answers[Math.min(seen.calls++, answers.length - 1)]!;
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as StepDefinition<any>;
  const context = { stepId: 'failover', invalidateRoles: () => seen.invalidated++, log: { progress: (m: string) => seen.progress.push(m) } } as never;
  return { def, context, seen };
}

const quick = { deadlineMs: 2000, pollMs: 10 };

test('done or not-done ends it at once; the roles are read afresh for every question', async () => {
  for (const result of ['done', 'not-done'] as const) {
    const { def, context, seen } = verifying([result]);
    assert.equal(await verifyUntilKnown(def, context, {}, quick), { result, attempts: 1 });
    assert.is(seen.invalidated, 1);
    assert.equal(seen.progress, []);
  }
});

test('an error is asked again and never counts as not done; a later answer is taken', async () => {
  const { def, context, seen } = verifying([new Error('socket hang up'), 'unknown', 'done']);
  assert.equal(await verifyUntilKnown(def, context, {}, quick), { result: 'done', attempts: 3 });
  assert.equal(seen.progress, [
    'Outcome of failover not known yet (socket hang up); asking again.',
    'Outcome of failover not known yet (the check could not tell); asking again.',
  ]);
  assert.is(seen.invalidated, 3);
});

test('a check that keeps failing stays unknown until the deadline, with the last error as detail', async () => {
  const { def, context, seen } = verifying([new Error('Replica unreachable.')]);
  const started = Date.now();
  const v = await verifyUntilKnown(def, context, {}, { deadlineMs: 300, pollMs: 50 });
  const took = Date.now() - started;
  assert.is(v.result, 'unknown');
  assert.is(v.detail, 'Replica unreachable.');
  assert.ok(v.attempts >= 2 && v.attempts === seen.calls, `attempts ${v.attempts}`);
  assert.ok(took >= 200 && took < 1500, `took ${took} ms`);
  assert.ok(seen.signals.every((s) => !s.aborted || took >= 300), 'each question has the time left as its deadline');
});

test('the last question stops before a pause would pass the deadline', async () => {
  const { def, context, seen } = verifying([new Error('down')]);
  const v = await verifyUntilKnown(def, context, {}, { deadlineMs: 100, pollMs: 1000 });
  assert.equal(v, { result: 'unknown', attempts: 1, detail: 'down' });
  assert.is(seen.calls, 1);
});

test('"cannot tell" is final when asked so (a settled change), and asked again otherwise', async () => {
  const final = verifying(['unknown', 'done']);
  assert.equal(await verifyUntilKnown(final.def, final.context, {}, { ...quick, unknownIsFinal: true }), { result: 'unknown', attempts: 1, detail: 'the check could not tell' });
  const again = verifying(['unknown', 'done']);
  assert.equal(await verifyUntilKnown(again.def, again.context, {}, { ...quick, unknownIsFinal: false }), { result: 'done', attempts: 2 });
  const errorNotFinal = verifying([new Error('lost'), 'not-done']);
  assert.equal(await verifyUntilKnown(errorNotFinal.def, errorNotFinal.context, {}, { ...quick, unknownIsFinal: true }), { result: 'not-done', attempts: 2 });
});

test('a context without invalidateRoles (a plan-time check) is asked all the same', async () => {
  const { def } = verifying(['done']);
  assert.equal(await verifyUntilKnown(def, { stepId: 's', log: { progress() {} } } as never, {}, quick), { result: 'done', attempts: 1 });
});

test('a step type without verify() is unknown at once, and says why', async () => {
  const v = await verifyUntilKnown({ type: 'sqlExec' } as unknown as StepDefinition<any>, {} as never, {}, quick);
  assert.equal(v, { result: 'unknown', attempts: 0, detail: 'step type sqlExec has no way to verify its effect' });
});

test('the verification as text', () => {
  assert.is(verificationText({ result: 'done', attempts: 1 }), 'verified done (after 1 check)');
  assert.is(verificationText({ result: 'done', attempts: 3 }), 'verified done (after 3 checks)');
  assert.is(verificationText({ result: 'not-done', attempts: 2 }), 'verified NOT done');
  assert.is(verificationText({ result: 'unknown', attempts: 2, detail: 'socket hang up' }), 'still unknown (socket hang up)');
  assert.is(verificationText({ result: 'unknown', attempts: 0 }), 'still unknown');
});

test('what to check: the roles on both replicas, the link name quoted; for an ARM step the link in Azure too', () => {
  const roles = "the roles on both replicas (SELECT ag.name, rs.role_desc FROM sys.availability_groups ag JOIN sys.dm_hadr_availability_replica_states rs ON ag.group_id = rs.group_id WHERE rs.is_local = 1 AND ag.name = N'it''s')";
  assert.is(whatToCheck({ id: 'f', type: 'sqlExec' } as StepSpec, "it's"), roles);
  assert.is(whatToCheck({ id: 'f', type: 'armFailoverLink' } as StepSpec, "it's"), `the link in Azure (armGetLink or Get-AzSqlInstanceLink) and ${roles}`);
});

test.run();
