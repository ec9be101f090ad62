// Reading a journal back strictly: only a torn last line (a crash mid-write) is dropped; any other
// bad line is damage named as <journal>:<line>, and so is a record the runbook cannot have.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/cli.js';
import { JournalDamage, journalProblemAgainstRunbook, readJournal } from '../../../engine/apply/journal/read.js';
import { openJournal } from '../../../engine/apply/journal/write.js';
import type { Runbook } from '../../../engine/core/types.js';

const RUN = '20261206T120000Z-abcd';
const started = {
  at: '2026-12-06T12:00:00.000Z', kind: 'run-started', runId: RUN, runbook: { name: 'rb', file: 'rb.yml', sha256: 'a'.repeat(64) }, link: 'dag1',
  inputs: {}, user: 'dba', host: 'h', pid: 4242, inventory: { file: '/x/inv.yml', sha256: 'b'.repeat(64) }, steps: 2,
};
const s = (step: string, index: number, type = 'sqlExec', impact = 'change') => ({ kind: 'step-started', step, type, index, impact, attempt: 1 });
const f = (step: string, extra: Record<string, unknown> = {}) => ({ kind: 'step-finished', step, outputs: {}, durationMs: 3, attempts: 1, ...extra });

const runbook: Runbook = {
  name: 'rb', description: 'two steps', inputs: {}, file: 'rb.yml',
  steps: [{ id: 'look', type: 'assertRole', with: {} }, { id: 'failover', type: 'sqlExec', with: {} }],
};

function journal(lines: Array<Record<string, unknown> | string>, end = '\n'): string {
  const path = join(tempDir(), `${RUN}.jsonl`);
  writeFileSync(path, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + end);
  return path;
}

function damage(path: string): JournalDamage {
  try {
    readJournal(path, RUN);
  } catch (error) {
    if (error instanceof JournalDamage) return error;
    throw error;
  }
  throw new Error('no damage found');
}

test('a whole journal reads back, with line numbers', () => {
  const path = journal([started, s('look', 1, 'assertRole', 'read'), f('look'), s('failover', 2)]);
  const j = readJournal(path, RUN);
  assert.equal(j.entries.map((e) => `${e.line}:${e.record.kind}`), ['1:run-started', '2:step-started', '3:step-finished', '4:step-started']);
  assert.is(j.keep, j.size);
  assert.not.ok(j.needsNewline);
  assert.is(j.tornLastLine, undefined);
});

test('a torn last line (no newline, not a whole record) is dropped; a whole last record without its newline is kept', () => {
  const torn = journal([started, s('look', 1, 'assertRole', 'read'), '{"at":"2026-12-06T12:00:01.000Z","kind":"step-fini'], '');
  const j = readJournal(torn, RUN);
  assert.is(j.records.length, 2);
  assert.is(j.tornLastLine, 3);
  assert.is(j.keep, readFileSync(torn, 'utf8').lastIndexOf('\n') + 1);
  // A multi-byte character cut in half is torn too.
  const cut = Buffer.from(JSON.stringify({ kind: 'step-skipped', step: 'look', reason: 'é' }), 'utf8');
  const path = journal([started], '\n');
  writeFileSync(path, Buffer.concat([readFileSync(path), cut.subarray(0, cut.indexOf(0xc3) + 1)]));
  assert.is(readJournal(path, RUN).tornLastLine, 2);

  const whole = journal([started, s('look', 1, 'assertRole', 'read')], '');
  const w = readJournal(whole, RUN);
  assert.is(w.records.length, 2);
  assert.ok(w.needsNewline);
  assert.is(w.tornLastLine, undefined);
});

test('any other bad line is damage, named by its line', () => {
  const cases: Array<[Array<Record<string, unknown> | string>, RegExp]> = [
    [[started, '{"at":"x","kind":"step-fini', s('look', 1)], /:2: not a JSON record$/],
    [[started, '', s('look', 1)], /:2: an empty line$/],
    [[started, '[1,2]'], /:2: not a journal record/],
    [[started, { kind: 'step-teleported', step: 'look' }], /:2: unknown record kind "step-teleported"$/],
    [[started, { kind: 'step-started', step: 'look', type: 'sqlExec', index: 1, attempt: 1 }], /:2: step-started record: field impact is missing$/],
    [[started, { ...s('look', 1), attempt: 'one' }], /:2: step-started record: field attempt must be a whole number$/],
    [[started, { ...f('look'), outputs: [] }], /:2: step-finished record: field outputs must be an object$/],
    [[{ ...started, runbook: { name: 'rb', file: 'rb.yml' } }], /:1: run-started record: field runbook\.sha256 is missing$/],
    [[started, { kind: 'step-failed', step: 'look', error: 'x', outcome: 'exploded', durationMs: 1, attempts: 1 }], /:2: step-failed record: field outcome must be one of failed, refused, unknown, interrupted$/],
    // What a step sent (runbook runs show): the text and its target are required.
    [[started, s('look', 1), { kind: 'statement', step: 'look', target: 'sqlServer' }], /:3: statement record: field text is missing$/],
    [[started, s('look', 1), { kind: 'statement', step: 'look', target: 'sqlServer', text: 'SELECT 1', params: ['x'] }], /:3: statement record: field params must be an object$/],
    [[started, { kind: 'step-skipped', step: 'look', reason: 'r', index: -1 }], /:2: step-skipped record: field index must be a whole number$/],
  ];
  for (const [lines, message] of cases) {
    const path = journal(lines);
    const d = damage(path);
    assert.match(d.message, message);
    assert.ok(d.message.startsWith(`${path}:`), d.message);
  }
  // A bad line in the middle of the file is damage even when the lines around it are fine.
  const utf = journal([started]);
  writeFileSync(utf, Buffer.concat([readFileSync(utf), Buffer.from([0xff, 0xfe, 0x0a]), Buffer.from(JSON.stringify(s('look', 1)) + '\n')]));
  assert.match(damage(utf).message, /:2: not UTF-8 text$/);
});

test('orders the writer never produces are damage', () => {
  const cases: Array<[Array<Record<string, unknown> | string>, RegExp]> = [
    [[s('look', 1)], /:1: the first record is step-started, not run-started$/],
    [[started, f('failover')], /:2: step-finished for failover without a step-started of it$/],
    [[started, s('look', 1), s('failover', 2)], /:3: step-started for failover while step look was still running$/],
    [[started, s('failover', 2), f('failover', { verified: true })], /:3: step-finished \(verified\) for failover without a "done" verification of it before$/],
    [[started, { kind: 'step-verified', step: 'failover', result: 'done', why: 'resume' }], /:2: step-verified \(resume\) for failover, which has no record before this resume$/],
    [[started, { kind: 'run-finished', exitCode: 0, meaning: 'done', durationMs: 1, changed: [] }, s('look', 1)], /:3: step-started after run-finished/],
    [[started, started], /:2: a second run-started record$/],
    [[{ ...started, runId: 'another-run' }], /:1: run-started is for run another-run, not 20261206T120000Z-abcd$/],
    // "Nothing was sent" beside a statement the step journaled before sending it (attack r6safety finding 4).
    [
      [started, s('failover', 2), { kind: 'statement', step: 'failover', target: 'sqlServer', text: 'ALTER AVAILABILITY GROUP [dag1] FAILOVER' }, { kind: 'step-failed', step: 'failover', error: 'x', outcome: 'failed', durationMs: 1, attempts: 1, nothingSent: true }],
      /:4: step-failed for failover says nothing was sent, but a statement of it was journaled after it started$/,
    ],
  ];
  for (const [lines, message] of cases) assert.match(damage(journal(lines)).message, message);

  // What the writer does produce: a resume verifying a change that started, then ending it as verified.
  const resumed = { kind: 'run-resumed', runId: RUN, user: 'dba', host: 'h', pid: 4343 };
  const ok = journal([
    started, s('failover', 2), resumed,
    { kind: 'step-verified', step: 'failover', result: 'done', why: 'resume' },
    { kind: 'step-skipped', step: 'look', reason: 'when: false' },
    f('failover', { verified: true, attempts: 0, outputs: {} }),
  ]);
  assert.is(readJournal(ok, RUN).records.length, 6);
  // A statement of an earlier attempt does not contradict a later attempt that sent nothing.
  const retried = journal([
    started, s('failover', 2), { kind: 'statement', step: 'failover', target: 'sqlServer', text: 'SELECT 1' },
    { kind: 'step-failed', step: 'failover', error: 'x', outcome: 'failed', durationMs: 1, attempts: 1, willRetry: true },
    { ...s('failover', 2), attempt: 2 }, { kind: 'step-failed', step: 'failover', error: 'x', outcome: 'failed', durationMs: 1, attempts: 2, nothingSent: true },
  ]);
  assert.is(readJournal(retried, RUN).records.length, 6);
});

test('against the runbook: a step it does not have, or at another place or of another type, is damage', () => {
  const unknown = journal([started, s('look', 1, 'assertRole', 'read'), f('look'), s('drop-everything', 2)]);
  assert.match(journalProblemAgainstRunbook(readJournal(unknown, RUN), runbook)!.message, /:4: step-started names step drop-everything, which runbook rb does not have$/);
  const moved = journal([started, s('failover', 1)]);
  assert.match(journalProblemAgainstRunbook(readJournal(moved, RUN), runbook)!.message, /:2: step-started says failover is step 1 of type sqlExec; in runbook rb it is step 2 of type sqlExec$/);
  const count = journal([{ ...started, steps: 3 }]);
  assert.match(journalProblemAgainstRunbook(readJournal(count, RUN), runbook)!.message, /:1: run-started says the run has 3 steps; runbook rb has 2$/);
  // Both records of the first step removed: the second cannot have run without it ending first.
  const skippedOver = journal([started, s('failover', 2), f('failover')]);
  assert.match(journalProblemAgainstRunbook(readJournal(skippedOver, RUN), runbook)!.message, /:2: step-started for step failover, but step look before it has no record \(a run never passes a step without one\)$/);
  const fine = journal([started, s('look', 1, 'assertRole', 'read'), f('look'), s('failover', 2)]);
  assert.is(journalProblemAgainstRunbook(readJournal(fine, RUN), runbook), undefined);
});

test('link-state records: the link per replica side, read between steps; an unknown side, a bad shape, one written while a step runs, or one after a step the runbook does not have is damage', () => {
  const state = { sqlServer: { readable: true, role: 'PRIMARY', modes: 'ag1=SYNCHRONOUS_COMMIT' }, managedInstance: { readable: false, error: 'timeout' } };
  const at = { kind: 'link-state', state };
  const fine = journal([started, at, s('look', 1, 'assertRole', 'read'), f('look'), s('failover', 2), f('failover'), { ...at, after: 'failover' }]);
  assert.is(readJournal(fine, RUN).records.length, 7);
  assert.is(journalProblemAgainstRunbook(readJournal(fine, RUN), runbook), undefined);
  assert.match(damage(journal([started, { kind: 'link-state', state: { elsewhere: state.sqlServer } }])).message, /:2: link-state record: field state names an unknown replica side "elsewhere"$/);
  assert.match(damage(journal([started, { kind: 'link-state', state: { sqlServer: { readable: true, role: 'PRIMARY' } } }])).message, /:2: link-state record: field state\.sqlServer\.modes is missing$/);
  assert.match(damage(journal([started, { kind: 'link-state', state: { sqlServer: { role: 'PRIMARY' } } }])).message, /:2: link-state record: field state\.sqlServer\.readable must be true or false$/);
  assert.match(damage(journal([started, { kind: 'link-state' }])).message, /:2: link-state record: field state is missing$/);
  assert.match(damage(journal([started, s('look', 1, 'assertRole', 'read'), at])).message, /:3: link-state while step look was running$/);
  const stranger = journal([started, s('look', 1, 'assertRole', 'read'), f('look'), { ...at, after: 'drop-everything' }]);
  assert.match(journalProblemAgainstRunbook(readJournal(stranger, RUN), runbook)!.message, /:4: link-state names step drop-everything, which runbook rb does not have$/);
});

test('appending after a read: a torn last line is cut off first, a missing newline written, a journal that changed since refused', () => {
  const dir = tempDir();
  const path = join(dir, `${RUN}.jsonl`);
  writeFileSync(path, [started, s('look', 1, 'assertRole', 'read')].map((l) => JSON.stringify(l)).join('\n') + '\n{"at":"2026-12-06T12:00:01.000Z","kind":"step-fin');
  const read = readJournal(path, RUN);
  const j = openJournal(dir, RUN, { continueAfter: read });
  j.write({ kind: 'run-resumed', runId: RUN, user: 'dba', host: 'h', pid: 1, tornLastLine: read.tornLastLine! });
  j.close();
  const after = readJournal(path, RUN);
  assert.equal(after.records.map((r) => r.kind), ['run-started', 'step-started', 'run-resumed']);
  assert.is(after.tornLastLine, undefined);

  writeFileSync(path, JSON.stringify(started));
  const noNewline = readJournal(path, RUN);
  openJournal(dir, RUN, { continueAfter: noNewline }).close();
  assert.is(readFileSync(path, 'utf8'), JSON.stringify(started) + '\n');

  const stale = readJournal(path, RUN);
  writeFileSync(path, readFileSync(path, 'utf8') + JSON.stringify(s('look', 1, 'assertRole', 'read')) + '\n');
  assert.throws(() => openJournal(dir, RUN, { continueAfter: stale }), /changed while the resume was starting/);
  assert.throws(() => openJournal(dir, RUN, { create: true }), /already exists/);
});

test.run();
