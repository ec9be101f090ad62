// The server's check refuses a batch that named a lock session the run has since replaced (the
// session was KILLed between two batches of a step, the run heard it and took its lock again while
// the next batch was on its way): the batch did not run, but that is no new loss of the lock, and
// handling it as one recorded a second, spurious loss and took the lock again on the new session, a
// re-entrant grant (attack r5lock finding 7). engine/drivers/sql/lock-guard.ts changeGuardFor.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { changeGuardFor, lockCheckSql, LOCK_NOT_HELD_ERROR, type LockSessionIdentity } from '../../engine/drivers/sql/lock-guard.js';

const RESOURCE = 'runbook:link:dag1';
const OLD: LockSessionIdentity = { sessionId: 57, connectionId: '6F9619FF-8B86-D011-B42D-00C04FC964FF' };
const NEW: LockSessionIdentity = { sessionId: 58, connectionId: '7A9619FF-8B86-D011-B42D-00C04FC964FF' };

/** The error mssql gives for the check's THROW naming `identity` (its message is the check's own). */
function refusal(identity: LockSessionIdentity): Error {
  const text = lockCheckSql(RESOURCE, identity);
  const message = /THROW \d+, N'((?:[^']|'')*)', 1;$/.exec(text)![1]!.replace(/''/g, "'");
  return Object.assign(new Error(message), { number: LOCK_NOT_HELD_ERROR, lineNumber: 1 });
}

test('a refusal naming the session the run holds now is a lost lock; one naming a session it has since replaced is not handled as a second loss', () => {
  let current = OLD;
  const losses: string[] = [];
  const guard = changeGuardFor('sqlServer', RESOURCE, () => current, (why) => losses.push(why));

  const first = guard.batches('UPDATE t SET a = 1;');
  assert.ok('send' in first);
  assert.match(guard.refused(refusal(OLD)) ?? '', /was not held by this run's lock session \(session 57\) when the batch reached the server, so the server ran none of it/);
  assert.is(losses.length, 1, 'the session the check named is still the run\'s: the lock is lost');

  const second = guard.batches('UPDATE t SET a = 2;');
  assert.ok('send' in second);
  // The run heard the session end and took the lock again on a new session meanwhile.
  current = NEW;
  assert.match(guard.refused(refusal(OLD)) ?? '', /session 57\) when the batch reached the server, so the server ran none of it/, 'the batch is still refused');
  assert.is(losses.length, 1, 'no second loss: the old session\'s loss was handled already');
});

test('the guard refuses, unsent, a batch under which the server would skip a later check (SET NOEXEC/FMTONLY/PARSEONLY) or that raises its error number (attack r6safety finding 8)', () => {
  const guard = changeGuardFor('sqlServer', RESOURCE, () => OLD, () => undefined);
  for (const [batch, why] of [['SET NOEXEC ON', /SET NOEXEC is refused/], ['SET FMTONLY ON; SELECT 1', /SET FMTONLY is refused/], ['SET PARSEONLY ON', /SET PARSEONLY is refused/], ["THROW 59317, N'x', 1;", /59317 is reserved/]] as const) {
    const plan = guard.batches(batch);
    assert.ok('refused' in plan, batch);
    assert.match((plan as { refused: string }).refused, why);
  }
  assert.ok('send' in guard.batches('SET NOCOUNT ON; UPDATE t SET a = 1;'));
});

test.run();
