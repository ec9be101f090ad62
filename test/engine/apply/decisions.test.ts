// The run's pure decisions: the exit code a stop maps to, what a failed step's end means once
// its outcome was verified, and what the summary and the journal's last record say.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ExitCode } from '../../../engine/core/exit-codes.js';
import { OutcomeUnknown, StepFailure } from '../../../engine/core/errors.js';
import type { StepSpec } from '../../../engine/core/types.js';
import { refusalExitCode, stopExitCode } from '../../../engine/apply/exit-code.js';
import { failedStepEnd } from '../../../engine/apply/step-end.js';
import { runFinishedRecord, runSummary } from '../../../engine/apply/summary.js';
import { lastLinkState, lockLossVerdict, type Recorded } from '../../../engine/apply/journal/runs.js';

test('a refusal is exit 3 until something changed, then 4; a stop with another code keeps it', () => {
  assert.is(refusalExitCode(false), ExitCode.refused);
  assert.is(refusalExitCode(true), ExitCode.failedAfterChange);
  assert.is(stopExitCode(ExitCode.refused, false), ExitCode.refused);
  assert.is(stopExitCode(ExitCode.refused, true), ExitCode.failedAfterChange);
  assert.is(stopExitCode(ExitCode.failedAfterChange, false), ExitCode.failedAfterChange);
  assert.is(stopExitCode(ExitCode.invalidInput, true), ExitCode.invalidInput);
});

const failover: StepSpec = { id: 'failover', type: 'sqlExec', target: 'primary', with: { sql: 'ALTER AVAILABILITY GROUP [dag] FAILOVER;' } } as StepSpec;
const armDelete: StepSpec = { id: 'remove-link', type: 'armDeleteLink', with: {} } as StepSpec;
const link = 'dag';

test('an unknown outcome verified not done is a plain failure that changed nothing', () => {
  const end = { ok: false as const, error: new OutcomeUnknown('connection lost'), outcome: 'unknown' as const, exitCode: ExitCode.outcomeUnknown, attempts: 1 };
  const f = failedStepEnd(end, { result: 'not-done', attempts: 2 }, { spec: failover, impact: 'change', linkName: link });
  assert.equal(f, { outcome: 'failed', message: 'connection lost; verified that it did NOT take effect', mayHaveChanged: false });
});

test('an unknown outcome still unknown after verification keeps exit 5, may have changed, and says what to check', () => {
  const end = { ok: false as const, error: new OutcomeUnknown('connection lost'), outcome: 'unknown' as const, exitCode: ExitCode.outcomeUnknown, attempts: 1 };
  const f = failedStepEnd(end, { result: 'unknown', attempts: 3, detail: 'timeout' }, { spec: failover, impact: 'change', linkName: "o'dag" });
  assert.is(f.outcome, 'unknown');
  assert.is(f.requested, ExitCode.outcomeUnknown);
  assert.ok(f.mayHaveChanged);
  assert.match(f.message, /^connection lost; outcome still unknown after 3 check\(s\) \(timeout\)\. Check the roles on both replicas .*N'o''dag'.* before anything else$/);
  const arm = failedStepEnd(end, { result: 'unknown', attempts: 1 }, { spec: armDelete, impact: 'change', linkName: link });
  assert.match(arm.message, /Check the link in Azure \(armGetLink or Get-AzSqlInstanceLink\) and the roles/);
});

test('the clauses after an error that ends in a full stop follow its words, not its full stop (".; outcome")', () => {
  const end = { ok: false as const, error: new OutcomeUnknown('The lock was lost before doing anything else.'), outcome: 'unknown' as const, exitCode: ExitCode.outcomeUnknown, attempts: 1 };
  const unknown = failedStepEnd(end, { result: 'unknown', attempts: 2 }, { spec: failover, impact: 'change', linkName: link });
  assert.match(unknown.message, /^The lock was lost before doing anything else; outcome still unknown after 2 check\(s\)\. /);
  const notDone = failedStepEnd(end, { result: 'not-done', attempts: 1 }, { spec: failover, impact: 'change', linkName: link });
  assert.is(notDone.message, 'The lock was lost before doing anything else; verified that it did NOT take effect');
});

test('a change may have acted unless it only reads, was refused, or is known not applied', () => {
  const failedWith = (error: unknown, outcome: 'failed' | 'refused' = 'failed') => ({ ok: false as const, error, outcome, attempts: 1 });
  const changeStep = { spec: failover, impact: 'change' as const, linkName: link };
  assert.ok(failedStepEnd(failedWith(new Error('socket hang up')), undefined, changeStep).mayHaveChanged);
  assert.not.ok(failedStepEnd(failedWith(new Error('socket hang up')), undefined, { ...changeStep, impact: 'read' }).mayHaveChanged);
  assert.not.ok(failedStepEnd(failedWith(new Error('no'), 'refused'), undefined, changeStep).mayHaveChanged);
  assert.not.ok(failedStepEnd(failedWith(new StepFailure('renderFailed', {}, 'not rendered', { notApplied: true })), undefined, changeStep).mayHaveChanged);
  const plain = failedStepEnd(failedWith(new Error('Msg 41104')), undefined, changeStep);
  assert.equal(plain, { outcome: 'failed', message: 'Msg 41104', mayHaveChanged: true }, 'no verification: the message is the error, the exit code left to the run');
});

test('on resume, a change the stopped run had started may have acted then: never "nothing changed", even when this attempt sent nothing', () => {
  const notSent = { ok: false as const, error: new StepFailure('notSent', {}, 'Nothing was sent to delete link dag: reading it first failed with HTTP 503.', { notApplied: true }), outcome: 'failed' as const, attempts: 1 };
  const step = { spec: armDelete, impact: 'change' as const, linkName: link };
  assert.not.ok(failedStepEnd(notSent, undefined, step).mayHaveChanged, 'a fresh run: nothing was sent, nothing changed');
  const resumed = failedStepEnd(notSent, undefined, { ...step, actedBefore: true });
  assert.ok(resumed.mayHaveChanged);
  assert.match(resumed.message, /^Nothing was sent to delete link dag: reading it first failed with HTTP 503\. The run that stopped had started this step before this resume, so that attempt may have acted \(or may still be acting\): check the link in Azure/);
  const refused = { ok: false as const, error: new Error('no'), outcome: 'refused' as const, attempts: 1 };
  assert.ok(failedStepEnd(refused, undefined, { ...step, actedBefore: true }).mayHaveChanged);
  assert.not.ok(failedStepEnd(notSent, undefined, { ...step, impact: 'read', actedBefore: true }).mayHaveChanged);
});

test("a resume's link compare reads the last link-state record and the steps recorded after it; a lock lost to someone who acted is named", () => {
  const state = { sqlServer: { readable: true as const, role: 'PRIMARY', modes: 'x' } };
  const records = [
    { kind: 'link-state', state: {} },
    { kind: 'step-started', step: 'sync', type: 'sqlExec', index: 1, impact: 'change', attempt: 1 },
    { kind: 'step-finished', step: 'sync', outputs: {}, durationMs: 1, attempts: 1 },
    { kind: 'link-state', after: 'sync', state },
    { kind: 'step-started', step: 'wait', type: 'waitLsnStable', index: 2, impact: 'read', attempt: 1 },
    { kind: 'step-finished', step: 'wait', outputs: {}, durationMs: 1, attempts: 1 },
    { kind: 'step-started', step: 'failover', type: 'sqlExec', index: 3, impact: 'change', attempt: 1 },
  ] as Recorded[];
  assert.equal(lastLinkState(records), { state, after: 'sync', stepsSince: new Set(['wait', 'failover']) });
  assert.is(lastLinkState(records.slice(1, 3)), undefined);
  assert.is(lockLossVerdict(records), undefined);
  const lost = (extra: Record<string, unknown>) => ({ kind: 'lock-lost', side: 'sqlServer', retaken: true, changes: [], message: 'm', ...extra }) as Recorded;
  assert.is(lockLossVerdict([...records, lost({})]), undefined, 'taken back with nothing changed: resumable');
  assert.is(
    lockLossVerdict([...records, lost({ changes: ['sqlServer is now SECONDARY in link dag (was PRIMARY)'] }), lost({ side: 'managedInstance', retaken: false, holder: 'run r2 of bob on host h2, since t' })]),
    'it stopped because its link lock was lost and someone else acted on the link (sqlServer is now SECONDARY in link dag (was PRIMARY); run r2 of bob on host h2, since t took the lock)',
  );
  // Lost during its own change step: the run said it could not tell its step from someone else;
  // the refusal says that, not that someone else acted.
  const during = lost({ during: 'failover', ownStep: 'failover', changes: ['managedInstance is now PRIMARY in link dag (was SECONDARY)'] });
  assert.is(
    lockLossVerdict([...records, during]),
    'it stopped because its link lock was lost and the link changed while its own step failover was running (managedInstance is now PRIMARY in link dag (was SECONDARY)), and it could not tell whether that step or someone else did that',
  );
  // A journal written before ownStep was recorded: its message says so.
  const older = lost({ during: 'failover', changes: ['x'], message: 'm. This run cannot tell whether its step failover, which was changing the link then, or someone else did that; it stops here' });
  assert.not.match(lockLossVerdict([...records, older])!, /someone else acted/);
  // A holder is a fact, whatever step was running.
  assert.match(lockLossVerdict([...records, lost({ retaken: false, ownStep: 'failover', holder: 'run r2', changes: ['x'] })])!, /someone else acted on the link \(run r2 took the lock; x\)$/);
});

test('the summary and the last journal record say the same, leaving out what is empty', () => {
  const steps = [{ index: 1, id: 'before', type: 'assertRole', impact: 'read' as const, outcome: 'succeeded' as const, durationMs: 12, attempts: 1 }];
  const quiet = runSummary({ runId: 'r1', journal: '/j/r1.jsonl', exitCode: 0, durationMs: 40, changed: [], mayHaveChanged: [], steps, notices: [], stoppedAt: undefined });
  assert.equal(quiet, { runId: 'r1', journal: '/j/r1.jsonl', exitCode: 0, meaning: 'done', durationMs: 40, changed: [], steps });
  assert.equal(runFinishedRecord(quiet), { kind: 'run-finished', exitCode: 0, meaning: 'done', durationMs: 40, changed: [] });

  const eventful = runSummary({
    runId: 'r2', journal: '/j/r2.jsonl', exitCode: 130, durationMs: 900, changed: ['sync'], mayHaveChanged: ['failover'], steps, notices: ['lock: taken back'], stoppedAt: 'after the last step',
  });
  assert.equal(eventful.mayHaveChanged, ['failover']);
  assert.equal(eventful.notices, ['lock: taken back']);
  assert.is(eventful.stoppedAt, 'after the last step');
  assert.equal(runFinishedRecord(eventful), {
    kind: 'run-finished', exitCode: 130, meaning: eventful.meaning, durationMs: 900, changed: ['sync'], mayHaveChanged: ['failover'], stoppedAt: 'after the last step',
  });
});

test.run();
