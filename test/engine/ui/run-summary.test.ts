// The run summary's text (pure): Ansible-style recap, the resume command after an interrupt or a
// failure, and lines broken between words at a terminal's width.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunSummary, StepOutcomeSummary } from '../../../engine/apply/events.js';
import { recap, renderSummary, resumeCommand, wrapWords } from '../../../engine/ui/reporters/run-text.js';

const step = (index: number, impact: StepOutcomeSummary['impact'], outcome: StepOutcomeSummary['outcome'], extra: Partial<StepOutcomeSummary> = {}): StepOutcomeSummary =>
  ({ index, id: `s${index}`, type: 'sqlExec', impact, outcome, ...extra });

const summary: RunSummary = {
  runId: '20260101T000000Z-abcd', journal: '/tmp/j.jsonl', exitCode: 4, meaning: 'failed after a change was made', durationMs: 1200, changed: ['s2'],
  steps: [step(1, 'read', 'succeeded'), step(2, 'change', 'succeeded'), step(3, 'change', 'skipped', { reason: 'when: {{inputs.dropLinkAfter}} -> false' }),
    step(4, 'dataLoss', 'failed', { error: 'SQL error 41104 on secondary: the availability group could not be failed over because the secondary replica was not ready to become the primary' }), step(5, 'read', 'not run')],
};

test('recap: ok counts reads, changed counts change steps that succeeded; other outcomes only when there are any', () => {
  assert.is(recap(summary), 'ok=1 changed=1 skipped=1 failed=1 not_run=1');
  assert.is(recap({ steps: [step(1, 'read', 'succeeded'), step(2, 'dataLoss', 'succeeded'), step(3, 'read', 'refused')] }), 'ok=1 changed=1 skipped=0 failed=0 refused=1');
  assert.match(renderSummary(summary), /^Recap: ok=1 changed=1 skipped=1 failed=1 not_run=1$/m);
});

test('the resume command after an interrupt or a failure, with --allow-data-loss when the runbook needs it', () => {
  assert.is(resumeCommand(summary, 'dag1'), 'runbook apply --resume 20260101T000000Z-abcd --allow-data-loss dag1');
  assert.is(resumeCommand({ ...summary, steps: [step(1, 'change', 'failed')] }, 'dag1'), 'runbook apply --resume 20260101T000000Z-abcd');
  for (const code of [1, 4, 5, 130]) assert.ok(resumeCommand({ ...summary, exitCode: code }), String(code));
  for (const code of [0, 2, 3]) assert.is(resumeCommand({ ...summary, exitCode: code }), undefined, String(code));
  // Nothing to go on from: no step ran, or the embedded lab ended with the run.
  for (const notResumable of ['lab', 'nothing-ran'] as const) assert.is(resumeCommand({ ...summary, notResumable }, 'dag1'), undefined, notResumable);
  assert.match(renderSummary({ ...summary, notResumable: 'lab' }), /\nThe embedded lab \(--lab\) ended with this run, so it cannot be resumed; start a new run\.\n$/);
  assert.not.match(renderSummary({ ...summary, notResumable: 'nothing-ran' }), /resume/);
  assert.match(renderSummary(summary, undefined, { link: 'dag1' }), /\nTo go on from where it stopped: runbook apply --resume 20260101T000000Z-abcd --allow-data-loss dag1\n$/);
});

test('a refusal is said once: not in its row nor again under Attention (the line after the summary says it)', () => {
  const why = 'Split-brain on link dag1: both replicas say PRIMARY.';
  const text = renderSummary({ ...summary, exitCode: 3, steps: [step(1, 'read', 'succeeded'), step(2, 'read', 'refused', { error: why })], notices: [why, 's1: a warning'] });
  assert.not.match(text, /Split-brain/);
  assert.match(text, /^ {2}REFUSED {6}2\. s2 +sqlExec \[read\]$/m);
  assert.match(text, /^Attention:\n {2}s1: a warning$/m);
});

test('at 60 columns no line is longer and no word is broken', () => {
  const text = renderSummary(summary, undefined, { width: 60, link: 'dag1' });
  const lines = text.split('\n');
  const words = (t: string) => t.split(/\s+/).filter(Boolean);
  for (const l of lines) assert.ok(l.length <= 60 || words(l).length === 1, `too long: ${l}`);
  assert.equal(words(text), words(renderSummary(summary, undefined, { link: 'dag1' })), 'the same words in the same order');
  assert.equal(wrapWords('  aaa bbb ccc ddd', 12), ['  aaa bbb', '    ccc ddd']);
  assert.equal(wrapWords('short', 60), ['short']);
  // A number stays with its unit (attack-r4apply A8: "... 0" / "s behind)" at 60 columns).
  assert.equal(wrapWords('(32 KB of log not sent, 0 s behind)', 26), ['(32 KB of log not sent,', '    0 s behind)']);
  assert.equal(wrapWords('waited 12 s; 1500 ms left', 9), ['waited', '   12 s;', '   1500 ms', '   left']);
});

test.run();
