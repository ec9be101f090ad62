// The role verdict, pure: which replica is primary as each says for itself; split-brain and no
// primary are verdicts, never guesses. (observeRoles, which asks the replicas, is tested on the
// lab in run-resources.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeObservations, judgeRoles, loneSecondary, otherSide, roleFromRows, SIDES, type RoleObservation } from '../../../engine/drivers/sql/roles.js';

const says = (side: RoleObservation['side'], role: string): RoleObservation => ({ side, reachable: true, role });
const down = (side: RoleObservation['side'], error = 'refused'): RoleObservation => ({ side, reachable: false, error });

test('one PRIMARY makes the verdict, the other side is the secondary whatever it said or if it is down', () => {
  assert.equal(judgeRoles([says('sqlServer', 'PRIMARY'), says('managedInstance', 'SECONDARY')]), {
    ok: true, primary: 'sqlServer', secondary: 'managedInstance', observations: [says('sqlServer', 'PRIMARY'), says('managedInstance', 'SECONDARY')],
  });
  const miPrimary = judgeRoles([down('sqlServer'), says('managedInstance', 'PRIMARY')]);
  assert.ok(miPrimary.ok && miPrimary.primary === 'managedInstance' && miPrimary.secondary === 'sqlServer');
  const resolving = judgeRoles([says('sqlServer', 'RESOLVING'), says('managedInstance', 'PRIMARY')]);
  assert.ok(resolving.ok && resolving.primary === 'managedInstance');
});

test('two PRIMARYs are split-brain; none (down, SECONDARY, RESOLVING, NONE) is no-primary', () => {
  const both = [says('sqlServer', 'PRIMARY'), says('managedInstance', 'PRIMARY')];
  assert.equal(judgeRoles(both), { ok: false, problem: 'split-brain', observations: both });
  for (const obs of [
    [down('sqlServer'), says('managedInstance', 'SECONDARY')],
    [says('sqlServer', 'SECONDARY'), says('managedInstance', 'SECONDARY')],
    [says('sqlServer', 'RESOLVING'), says('managedInstance', 'NONE')],
    [down('sqlServer'), down('managedInstance')],
  ]) {
    assert.equal(judgeRoles(obs), { ok: false, problem: 'no-primary', observations: obs });
  }
  // A replica that cannot be asked is not a PRIMARY, even if its record looked like one.
  const unreachable = { side: 'managedInstance', reachable: false, error: 'x', role: 'PRIMARY' } as unknown as RoleObservation;
  assert.equal(judgeRoles([says('sqlServer', 'SECONDARY'), unreachable]).ok, false);
});

test('a lone secondary: exactly one reachable replica says SECONDARY', () => {
  assert.is(loneSecondary([down('sqlServer'), says('managedInstance', 'SECONDARY')]), 'managedInstance');
  assert.is(loneSecondary([says('sqlServer', 'SECONDARY'), down('managedInstance')]), 'sqlServer');
  assert.is(loneSecondary([says('sqlServer', 'SECONDARY'), says('managedInstance', 'SECONDARY')]), undefined);
  assert.is(loneSecondary([down('sqlServer'), says('managedInstance', 'RESOLVING')]), undefined);
  const unreachable = { side: 'sqlServer', reachable: false, error: 'x', role: 'SECONDARY' } as unknown as RoleObservation;
  assert.is(loneSecondary([unreachable, says('managedInstance', 'PRIMARY')]), undefined);
});

test('what each replica said, in one line', () => {
  assert.is(describeObservations([says('sqlServer', 'PRIMARY'), down('managedInstance', 'connect ECONNREFUSED')]), 'sqlServer says PRIMARY; managedInstance is unreachable (connect ECONNREFUSED)');
  assert.is(describeObservations([]), '');
});

test('the role rows become one word: NONE without a row, upper case, NULL, and every distinct role', () => {
  assert.is(roleFromRows([]), 'NONE');
  assert.is(roleFromRows([{ link_name: 'dag', link_role: 'secondary' }]), 'SECONDARY');
  assert.is(roleFromRows([{ link_name: 'dag', link_role: null }]), 'NULL');
  assert.is(roleFromRows([{ link_role: 'PRIMARY' }, { link_role: 'primary' }, { link_role: 'SECONDARY' }]), 'PRIMARY+SECONDARY');
});

test('the two sides, and the other of each', () => {
  assert.equal([...SIDES], ['sqlServer', 'managedInstance']);
  assert.is(otherSide('sqlServer'), 'managedInstance');
  assert.is(otherSide('managedInstance'), 'sqlServer');
});

test.run();
