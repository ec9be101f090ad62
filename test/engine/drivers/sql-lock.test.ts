// The lock's pure parts: the resource name, the holder's program name read back, and how a lost
// lock's before/after look at the link is compared (what counts as someone else having acted).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareLinkStates, describeHolder, holderAppName, lockResource, parseHolderAppName } from '../../../engine/drivers/sql/lock.js';

const sync = 'ag1=SYNCHRONOUS_COMMIT, sqlmi1=SYNCHRONOUS_COMMIT';
const state = (sql: string, mi: string, modes = sync) => ({
  sqlServer: { readable: true as const, role: sql, modes: sql === 'NONE' ? '' : modes },
  managedInstance: { readable: true as const, role: mi, modes: mi === 'NONE' ? '' : modes },
});

test('the same roles and modes: nothing changed, nothing unchecked', () => {
  assert.equal(compareLinkStates('dag1', state('PRIMARY', 'SECONDARY'), state('PRIMARY', 'SECONDARY')), { changes: [], unchecked: [] });
});

test('a role change, a link gone, a link back, a mode change are each named', () => {
  assert.equal(compareLinkStates('dag1', state('PRIMARY', 'SECONDARY'), state('SECONDARY', 'PRIMARY')).changes, [
    'sqlServer is now SECONDARY in link dag1 (was PRIMARY)',
    'managedInstance is now PRIMARY in link dag1 (was SECONDARY)',
  ]);
  assert.equal(compareLinkStates('dag1', state('SECONDARY', 'PRIMARY'), state('SECONDARY', 'NONE')).changes, [
    'link dag1 is gone from managedInstance (managedInstance was PRIMARY in it)',
  ]);
  assert.equal(compareLinkStates('dag1', state('NONE', 'PRIMARY'), state('SECONDARY', 'PRIMARY')).changes, ['link dag1 is back on sqlServer, as SECONDARY']);
  const async = 'ag1=ASYNCHRONOUS_COMMIT, sqlmi1=SYNCHRONOUS_COMMIT';
  assert.equal(compareLinkStates('dag1', state('PRIMARY', 'SECONDARY'), state('PRIMARY', 'SECONDARY', async)).changes, [
    `the availability modes sqlServer reports are now ${async} (were ${sync})`,
    `the availability modes managedInstance reports are now ${async} (were ${sync})`,
  ]);
});

test('a side that cannot be read now or could not be read before is unchecked; a side never locked is ignored', () => {
  const before = { sqlServer: { readable: false as const, error: 'timeout' }, managedInstance: state('PRIMARY', 'SECONDARY').managedInstance };
  const r = compareLinkStates('dag1', before, { sqlServer: state('PRIMARY', 'SECONDARY').sqlServer });
  assert.equal(r.changes, []);
  assert.equal(r.unchecked, ['sqlServer (what it said before could not be read: timeout)', 'managedInstance (cannot be read now)']);
  assert.equal(compareLinkStates('dag1', { managedInstance: state('PRIMARY', 'PRIMARY').managedInstance }, state('SECONDARY', 'PRIMARY')), { changes: [], unchecked: [] });
});

test('names a server may compare equal are one lock: case, trailing spaces, accents, width, kana, ß and ligatures; other names are not', () => {
  const dag1 = lockResource('dag1');
  assert.is(dag1, 'runbook:link:dag1');
  for (const same of ['DAG1', 'Dag1', 'dag1 ', 'DAG1   ', 'dág1', 'ＤＡＧ１', 'ｄａｇ1']) assert.is(lockResource(same), dag1, same);
  assert.is(lockResource('Straße'), lockResource('STRASSE'));
  assert.is(lockResource('Æther'), lockResource('aether'));
  assert.is(lockResource('ﬁnance'), lockResource('FINANCE'));
  assert.is(lockResource('リンク'), lockResource('りんく'), 'katakana and hiragana');
  assert.is.not(lockResource('dag2'), dag1);
  assert.is.not(lockResource(' dag1'), dag1, 'a leading space is part of the name');
  // Long names are folded before they are shortened: one lock for both spellings there too.
  assert.is(lockResource('X'.repeat(300)), lockResource('x'.repeat(300)));
});

test('resource names, holder program names and their description', () => {
  assert.is(lockResource('dag1'), 'runbook:link:dag1');
  const long = lockResource('x'.repeat(300));
  assert.ok(long.length <= 255 && long.startsWith('runbook:link:x'));
  assert.is.not(lockResource('x'.repeat(300)), lockResource('x'.repeat(299)));
  const name = holderAppName({ runId: 'r1', user: 'alice', host: 'h1', since: '2026-01-01T00:00:00.000Z' });
  assert.equal(parseHolderAppName(name), { runId: 'r1', user: 'alice', host: 'h1', since: '2026-01-01T00:00:00.000Z' });
  assert.is(describeHolder(name), 'run r1 of alice on host h1, since 2026-01-01T00:00:00.000Z');
  assert.is(describeHolder('dba-console', { login: 'sa', host: 'pc', session: 57 }), 'program "dba-console", login sa, host pc, session 57');
});

test.run();
