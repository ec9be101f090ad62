// The engine's own split-brain notice, from the lock's reading of the link after a change step:
// said whatever the runbook's notify steps say, and withdrawn when a later reading resolves it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noteSplitBrain, splitBrainNotice } from '../../../engine/apply/split-brain.js';

const side = (role: string) => ({ readable: true as const, role, modes: '' });
const down = { readable: false as const, error: 'connect ECONNREFUSED' };

test('both replicas PRIMARY, or one PRIMARY and the other out of reach: SPLIT-BRAIN in the engine\'s words', () => {
  assert.match(splitBrainNotice('dag1', { sqlServer: side('PRIMARY'), managedInstance: side('PRIMARY') })!, /^SPLIT-BRAIN: both replicas of link dag1 say PRIMARY\./);
  assert.match(splitBrainNotice('dag1', { managedInstance: side('PRIMARY'), sqlServer: down })!, /^SPLIT-BRAIN: managedInstance says PRIMARY on link dag1 and sqlServer could not be read/);
  assert.match(splitBrainNotice('dag1', { managedInstance: side('PRIMARY') })!, /^SPLIT-BRAIN: managedInstance says PRIMARY on link dag1 and sqlServer could not be read/);
  assert.is(splitBrainNotice('dag1', { sqlServer: side('SECONDARY'), managedInstance: side('PRIMARY') }), undefined);
  assert.is(splitBrainNotice('dag1', { sqlServer: side('NONE'), managedInstance: side('SECONDARY') }), undefined);
  assert.is(splitBrainNotice('dag1', { sqlServer: down, managedInstance: side('SECONDARY') }), undefined);
});

test('the notices hold the latest reading\'s notice only', () => {
  const notices = ['failover: something to act on'];
  noteSplitBrain(notices, 'dag1', { sqlServer: side('PRIMARY'), managedInstance: side('PRIMARY') });
  noteSplitBrain(notices, 'dag1', { sqlServer: side('PRIMARY'), managedInstance: side('PRIMARY') });
  assert.is(notices.filter((n) => n.startsWith('SPLIT-BRAIN: ')).length, 1);
  noteSplitBrain(notices, 'dag1', { sqlServer: side('SECONDARY'), managedInstance: side('PRIMARY') });
  assert.equal(notices, ['failover: something to act on']);
});

test.run();
