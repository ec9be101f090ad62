// Apply's pure guards: the data-loss acknowledgement (before anything runs) and the confirmation
// before the first change. (Taking the link lock needs the replicas: test/safety/lock*.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkDataLossAcknowledged } from '../../../engine/apply/guards.js';
import { confirmFirstChange } from '../../../engine/apply/gates.js';
import { ExitError } from '../../../engine/core/errors.js';
import type { Plan, PlannedStep } from '../../../engine/plan/types.js';

const step = (index: number, id: string, impact: PlannedStep['impact'], decision: PlannedStep['decision'] = 'run') =>
  ({ index, id, type: 'sqlExec', impact, decision }) as PlannedStep;
const planOf = (...steps: PlannedStep[]) => ({ inventory: { link: 'dag1' }, steps }) as unknown as Plan;

function refusal(fn: () => void): ExitError {
  try {
    fn();
  } catch (error) {
    assert.instance(error, ExitError);
    return error as ExitError;
  }
  throw new Error('expected a refusal');
}

test('a plan without a data-loss step that will or may run needs no flag', () => {
  checkDataLossAcknowledged(planOf(step(1, 'read', 'read'), step(2, 'swap', 'change')), undefined);
  checkDataLossAcknowledged(planOf(step(1, 'force', 'dataLoss', 'skip')), undefined);
  checkDataLossAcknowledged(planOf(step(1, 'force', 'dataLoss', 'skip')), 'wrong');
});

test('a data-loss step that will run, or may (decided at run time), is refused without the flag: exit 3, named, nothing run', () => {
  for (const decision of ['run', 'decided at run time'] as const) {
    const e = refusal(() => checkDataLossAcknowledged(planOf(step(1, 'read', 'read'), step(2, 'force', 'dataLoss', decision), step(3, 'gone', 'dataLoss', 'skip')), undefined));
    assert.is(e.exitCode, 3);
    assert.is(e.message, 'refusing to apply: step(s) 2. force (sqlExec) can lose data. Nothing was run. To go on, pass --allow-data-loss dag1 (--yes does not imply it).');
  }
  const two = refusal(() => checkDataLossAcknowledged(planOf(step(1, 'a', 'dataLoss'), step(2, 'b', 'dataLoss')), undefined));
  assert.match(two.message, /step\(s\) 1\. a \(sqlExec\), 2\. b \(sqlExec\) can lose data/);
});

test('the flag must repeat this plan\'s link: another name is refused (exit 3), the right one lets it run', () => {
  const plan = planOf(step(1, 'force', 'dataLoss'));
  const e = refusal(() => checkDataLossAcknowledged(plan, 'dag2'));
  assert.is(e.exitCode, 3);
  assert.is(e.message, 'refusing to apply: --allow-data-loss names "dag2" but this plan\'s link is "dag1" (data-loss step(s): 1. force (sqlExec)). Nothing was run. Pass --allow-data-loss dag1.');
  assert.is(refusal(() => checkDataLossAcknowledged(plan, '')).exitCode, 3, 'an empty name is not the link');
  checkDataLossAcknowledged(plan, 'dag1');
});

test('the first change: no way to ask is a refusal that says to pass --yes; a no is a refusal; a yes goes on', async () => {
  assert.equal(await confirmFirstChange(undefined, 'q?'), {
    error: 'needs confirmation and there is no terminal to ask on: review the plan, then pass --yes',
    journal: 'refused: needs confirmation and there is no terminal to ask on: review the plan, then pass --yes',
  });
  const asked: string[] = [];
  assert.equal(await confirmFirstChange(async (q) => (asked.push(q), false), 'Step 3 changes dag1.'), { error: 'not confirmed', journal: 'refused: the operator did not confirm' });
  assert.is(await confirmFirstChange(async (q) => (asked.push(q), true), 'again?'), undefined);
  assert.equal(asked, ['Step 3 changes dag1.', 'again?']);
});

test.run();
