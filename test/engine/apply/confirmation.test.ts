// What apply asks before its steps (engine/apply/confirmation.ts), over the shipped runbooks' plans,
// and how an answer is judged and explained (engine/ui/prompt.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildPlan } from '../../../engine/plan/build.js';
import { labInventoryForPlan, loadRunbook, resolveInputsOrThrow } from '../../../engine/commands/prepare.js';
import { runQuestion } from '../../../engine/apply/confirmation.js';
import { isYes, runQuestionText, whyNo } from '../../../engine/ui/prompt.js';
import { runbookFile } from '../../helpers/lab-run.js';

async function questionOf(name: string, sets: string[] = [], pending?: (id: string) => boolean) {
  const loaded = await loadRunbook(runbookFile(name));
  const inputs = resolveInputsOrThrow(loaded.runbook, loaded.source, sets);
  const inventory = await labInventoryForPlan();
  const plan = buildPlan({ runbook: loaded.runbook, source: loaded.source, inventory, inventorySource: { lab: {} }, inputs, steps: loaded.steps });
  return runQuestion(plan, loaded.steps, pending ? (s) => pending(s.id) : undefined);
}

test('planned failover: the workload gate is asked before the run, with the changes; the skipped drop is not a change', async () => {
  const q = await questionOf('planned-failover');
  assert.equal(q?.confirmations.map((c) => [c.step, c.question]), [
    ['workload-stopped', 'The application workload on the current primary of link dag1 is stopped and will stay stopped until the failover is done.'],
  ]);
  assert.equal(q?.changes.map((c) => [c.step, c.decided]), [['sync-commit-sql-server', false], ['sync-commit-managed-instance', false], ['failover', true]]);
  assert.equal(q?.dataLoss, []);
  assert.equal(q?.askedLater, []);
  assert.is(q?.firstStep, 'workload-stopped');
  const dropping = await questionOf('planned-failover', ['dropLinkAfter=true']);
  assert.equal(dropping?.changes.map((c) => c.step), ['sync-commit-sql-server', 'sync-commit-managed-instance', 'failover', 'remove-link', 'drop-dag']);
});

test('forced failover: the loss report gate needs run-time values and is asked later; the data-loss step is named', async () => {
  const q = await questionOf('forced-failover');
  assert.equal(q?.confirmations, []);
  assert.equal(q?.askedLater.map((l) => l.step), ['accept-loss']);
  assert.ok(q?.dataLoss.includes('force'), JSON.stringify(q?.dataLoss));
  assert.ok(q!.changes.every((c) => !c.decided), 'each change waits for what the run learns');
});

test('on resume, steps already done are not asked about; nothing left to ask is no question', async () => {
  const q = await questionOf('planned-failover', [], (id) => !['workload-stopped', 'sync-commit-sql-server', 'sync-commit-managed-instance'].includes(id));
  assert.equal(q?.confirmations, []);
  assert.equal(q?.changes.map((c) => c.step), ['failover']);
  assert.is(await questionOf('planned-failover', [], () => false), undefined);
});

test('on resume, the plan shown with the question marks the steps done before it and adds up only what is left (attack-r4apply A8)', async () => {
  const doneBefore = ['workload-stopped', 'before', 'version', 'sync-commit-sql-server', 'sync-commit-managed-instance'];
  const q = await questionOf('planned-failover', [], (id) => !doneBefore.includes(id));
  assert.equal(q?.done, doneBefore);
  const text = runQuestionText(q!).join('\n');
  for (const id of doneBefore) assert.match(text, new RegExp(`^ *\\d+\\. ${id} .*DONE before the resume$`, 'm'));
  assert.match(text, /^ *\d+\. failover .*ALTER AVAILABILITY GROUP/m);
  assert.match(text, /^Plan: 1 change, 0 data-loss steps, .* 5 step\(s\) done before the resume are not run again\.$/m);
  // A run that is not a resume shows no such mark.
  const fresh = await questionOf('planned-failover');
  assert.is(fresh?.done, undefined);
  assert.not.match(runQuestionText(fresh!).join('\n'), /DONE before the resume/);
  assert.match(runQuestionText(fresh!).join('\n'), /^Plan: 3 changes, /m);
});

test('only yes goes on; every other answer says why it is a no', () => {
  assert.ok(isYes('yes'));
  // Exactly yes, as the rule on screen says: no case or space variants.
  for (const no of ['y', 'ye', 'yes!', 'no', '', 'yes please', 'YES', 'Yes', '  yes ', 'yes ']) assert.not.ok(isYes(no), no);
  assert.is(whyNo('YES'), 'Not confirmed: "YES" is not exactly "yes"; type just the word, in lower case.');
  assert.is(whyNo(' yes '), 'Not confirmed: " yes " is not exactly "yes"; type just the word, in lower case.');
  assert.is(whyNo('y'), 'Not confirmed: "y" is not "yes"; type the whole word to go on.');
  assert.is(whyNo('  '), 'Not confirmed: nothing was typed; only "yes" goes on.');
  assert.is(whyNo('no'), 'Not confirmed: the answer was "no", and only "yes" goes on.');
  assert.is(whyNo('\u001b[31mred'), 'Not confirmed: the answer was "\\x1b[31mred", and only "yes" goes on.');
  assert.is(whyNo('a'.repeat(30)), `Not confirmed: the answer was "${'a'.repeat(20)}...", and only "yes" goes on.`);
});

test.run();
