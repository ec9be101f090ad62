// Which finished reads a resume runs again: those after the last change the journal shows done,
// unless their type says the result holds for the whole run; and which change must be verified
// first because it may have acted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mayHaveActed, readsToRunAgain, resumeBoundary, type ResumeStep } from '../../../engine/apply/resume-reads.js';
import type { StepState } from '../../../engine/apply/journal/runs.js';

const read = (id: string, resultHolds: 'moment' | 'run' = 'moment'): ResumeStep => ({ id, impact: 'read', resultHolds });
const change = (id: string): ResumeStep => ({ id, impact: 'change', resultHolds: 'moment' });
const finished: StepState = { status: 'finished', outputs: {} };

// break-link's shape: confirm, roles, LSN wait, backup check, delete, read, drop, notify.
const steps = [read('confirm'), read('roles'), read('caught-up'), read('backup'), change('remove-link'), read('dag-there'), change('drop-dag'), read('notify', 'run')];

test('nothing changed yet: every finished read that holds only for a moment runs again', () => {
  const states = new Map<string, StepState>([['confirm', finished], ['roles', finished], ['caught-up', finished], ['backup', { status: 'started' }]]);
  const b = resumeBoundary(steps, states);
  assert.equal(b, { lastDoneChange: -1 });
  assert.equal(readsToRunAgain(steps, states, b.lastDoneChange), ['confirm', 'roles', 'caught-up']);
});

test('reads before the last done change keep their results; reads after it run again; run-long results are kept', () => {
  const states = new Map<string, StepState>([
    ['confirm', finished], ['roles', finished], ['caught-up', finished], ['backup', finished], ['remove-link', finished],
    ['dag-there', finished], ['drop-dag', finished], ['notify', finished],
  ]);
  const b = resumeBoundary(steps, states);
  assert.equal(b, { lastDoneChange: 6 });
  assert.equal(readsToRunAgain(steps, states, b.lastDoneChange), [], 'notify holds for the run');
  states.delete('drop-dag');
  states.delete('notify');
  const c = resumeBoundary(steps, states);
  assert.equal(c, { lastDoneChange: 4 });
  assert.equal(readsToRunAgain(steps, states, c.lastDoneChange), ['dag-there']);
});

test('a change that started (or failed) after the last done change may have acted: it is named for verification', () => {
  const base: Array<[string, StepState]> = [['confirm', finished], ['roles', finished], ['caught-up', finished], ['backup', finished]];
  assert.equal(resumeBoundary(steps, new Map([...base, ['remove-link', { status: 'started' }]])), { lastDoneChange: -1, mayHaveActed: 4 });
  assert.equal(
    resumeBoundary(steps, new Map([...base, ['remove-link', { status: 'failed', outcome: 'unknown', error: 'lost' }]])),
    { lastDoneChange: -1, mayHaveActed: 4 },
  );
  assert.equal(resumeBoundary(steps, new Map(base)), { lastDoneChange: -1 }, 'not started: nothing to verify');
  // Verified done, the boundary moves to it: the reads that guarded it keep their results.
  assert.equal(readsToRunAgain(steps, new Map(base), 4), []);
});

test('a skipped change is not done; a later finished change is the boundary', () => {
  const s = [read('a'), change('maybe'), read('b'), change('c'), read('d')];
  const states = new Map<string, StepState>([['a', finished], ['maybe', { status: 'skipped' }], ['b', finished], ['c', finished], ['d', finished]]);
  assert.equal(resumeBoundary(s, states), { lastDoneChange: 3 });
  assert.equal(readsToRunAgain(s, states, 3), ['d']);
  states.delete('c');
  states.delete('d');
  assert.equal(resumeBoundary(s, states), { lastDoneChange: -1 }, 'a skipped change did not act: nothing to verify');
  assert.equal(readsToRunAgain(s, states, resumeBoundary(s, states).lastDoneChange), ['a', 'b']);
  assert.equal(readsToRunAgain(s, states, 0), ['b'], 'strictly after the step given');
});
test('a change may have acted when it started and never ended, ended unknown or interrupted, or failed without saying it was not applied; not when refused', () => {
  assert.ok(mayHaveActed({ status: 'started' }));
  assert.ok(mayHaveActed({ status: 'failed', outcome: 'unknown', error: 'connection lost' }));
  assert.ok(mayHaveActed({ status: 'failed', outcome: 'interrupted', error: 'interrupted' }));
  assert.not.ok(mayHaveActed({ status: 'failed', outcome: 'failed', error: 'Msg 41104', mayHaveActed: false }));
  assert.ok(mayHaveActed({ status: 'failed', outcome: 'failed', error: 'batch 2 of 2 failed', mayHaveActed: true }));
  // A journal written before `mayHaveActed` existed: a failed change may have acted (attack r6safety finding 3).
  assert.ok(mayHaveActed({ status: 'failed', outcome: 'failed', error: 'Msg 41104' }));
  assert.not.ok(mayHaveActed({ status: 'failed', outcome: 'refused', error: 'not confirmed' }));
  assert.not.ok(mayHaveActed({ status: 'finished', outputs: {} }));
  assert.not.ok(mayHaveActed({ status: 'skipped' }));
});

test.run();
