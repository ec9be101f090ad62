import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareLsn, formatLsn, LsnStability, lsnDiff, lsnEqual, parseLsn } from '../../../engine/core/lsn.js';
import { comparedLsn, pickLsnRow, lsnQuery, NoLsnRowError } from '../../../engine/drivers/sql/lsn-queries.js';
import type { Inventory } from '../../../engine/core/types.js';

test('LSNs that differ only past the 16th digit stay different', () => {
  const a = parseLsn('71000009408100001')!;
  const b = parseLsn('71000009408100002')!;
  // The trap this module exists for: as doubles they are the same number.
  assert.is(Number('71000009408100001'), Number('71000009408100002'));
  assert.is.not(a, b);
  assert.not.ok(lsnEqual(a, b));
  assert.is(compareLsn(a, b), -1);
  assert.is(compareLsn(b, a), 1);
  assert.is(compareLsn(a, a), 0);
  assert.is(lsnDiff(b, a), 1n);
  assert.is(formatLsn(b), '71000009408100002');
});

test('parseLsn accepts numeric(25,0) text and NULL, refuses numbers and junk', () => {
  assert.is(parseLsn(' 1234567890123456789012345 '), 1234567890123456789012345n);
  assert.is(parseLsn('42.'), 42n);
  assert.is(parseLsn('42.000'), 42n);
  assert.is(parseLsn(null), null);
  assert.is(parseLsn(undefined), null);
  assert.throws(() => parseLsn(71000009408100000), /CAST/);
  assert.throws(() => parseLsn('12a'), /Not an LSN/);
  assert.throws(() => parseLsn('42.5'), /Not an LSN/);
  assert.throws(() => parseLsn('12345678901234567890123456'), /Not an LSN/);
  assert.not.ok(lsnEqual(null, null));
});

test('parseLsn: a BigInt is taken as it is; anything but text is refused; lsnEqual needs two LSNs; NULL prints as NULL', () => {
  assert.is(parseLsn(7n), 7n);
  assert.throws(() => parseLsn({}), /LSN must be text, got object/);
  assert.throws(() => parseLsn(true), /LSN must be text, got boolean/);
  assert.ok(lsnEqual(7n, 7n));
  assert.not.ok(lsnEqual(7n, null));
  assert.not.ok(lsnEqual(null, 7n));
  assert.not.ok(lsnEqual(7n, 8n));
  assert.is(formatLsn(null), 'NULL');
});

const L = 71000009408100001n;

test('stable only after equal, unchanged samples span the whole window', () => {
  const s = new LsnStability(300);
  assert.is(s.add({ at: 0, primary: L + 5n, secondary: L }), 'apart');
  assert.is(s.add({ at: 100, primary: L + 5n, secondary: L + 5n }), 'equal');
  assert.is(s.add({ at: 300, primary: L + 5n, secondary: L + 5n }), 'equal');
  assert.is(s.equalForMs(), 200);
  assert.is(s.add({ at: 400, primary: L + 5n, secondary: L + 5n }), 'stable');
});

test('a changed LSN restarts the window even when both sides still agree', () => {
  const s = new LsnStability(300);
  s.add({ at: 0, primary: L, secondary: L });
  assert.is(s.add({ at: 250, primary: L + 1n, secondary: L + 1n }), 'equal');
  assert.is(s.add({ at: 400, primary: L + 1n, secondary: L + 1n }), 'equal');
  assert.is(s.add({ at: 550, primary: L + 1n, secondary: L + 1n }), 'stable');
  assert.ok(s.primaryMoving(550, 300));
  assert.not.ok(s.primaryMoving(1000, 300));
});

test('primaryMoving: only a change of the primary\'s LSN counts, and only within the window asked', () => {
  const s = new LsnStability(300);
  s.add({ at: 0, primary: L, secondary: L - 5n });
  s.add({ at: 100, primary: L, secondary: L });
  assert.is(s.primaryChangedAt, undefined, 'the secondary catching up is not the primary moving');
  assert.not.ok(s.primaryMoving(100, 1000));
  s.add({ at: 200, primary: L + 1n, secondary: L });
  assert.is(s.primaryChangedAt, 200);
  assert.ok(s.primaryMoving(500, 300), 'exactly at the edge');
  assert.not.ok(s.primaryMoving(501, 300));
  s.add({ at: 400, primary: L + 1n, secondary: L + 1n });
  assert.is(s.primaryChangedAt, 200, 'unchanged since');
  assert.equal(s.last, { at: 400, primary: L + 1n, secondary: L + 1n });
  assert.is(new LsnStability(300).equalForMs(), 0, 'no sample, no window');
});

test('a failed sample resets the window', () => {
  const s = new LsnStability(300);
  s.add({ at: 0, primary: L, secondary: L });
  s.add({ at: 200, primary: L, secondary: L });
  s.reset();
  assert.is(s.add({ at: 350, primary: L, secondary: L }), 'equal');
  assert.is(s.add({ at: 600, primary: L, secondary: L }), 'equal');
  assert.is(s.add({ at: 650, primary: L, secondary: L }), 'stable');
});

test('LSNs that move apart and come back to the same value start a new window (issue 16)', () => {
  // The same LSN before and after a gap proves nothing about the time between: the window that
  // counts starts at the re-match, not at the first time that value was seen.
  const s = new LsnStability(300);
  assert.is(s.add({ at: 0, primary: L, secondary: L }), 'equal');
  assert.is(s.add({ at: 200, primary: L, secondary: L }), 'equal');
  assert.is(s.add({ at: 250, primary: L, secondary: L - 1n }), 'apart');
  assert.is(s.equalForMs(), 0, 'no window is open while they are apart');
  assert.is(s.add({ at: 400, primary: L, secondary: L }), 'equal');
  assert.is(s.equalForMs(), 0, 'the window opens at the re-match');
  assert.is(s.add({ at: 650, primary: L, secondary: L }), 'equal');
  assert.is(s.add({ at: 700, primary: L, secondary: L }), 'stable');
});

test('a window of 0 still needs two samples, and NULL never matches', () => {
  const s = new LsnStability(0);
  assert.is(s.add({ at: 0, primary: L, secondary: L }), 'equal');
  assert.is(s.add({ at: 1, primary: L, secondary: L }), 'stable');
  const n = new LsnStability(0);
  assert.is(n.add({ at: 0, primary: null, secondary: null }), 'apart');
});

const inventory = (tier: 'GeneralPurpose' | 'BusinessCritical') =>
  ({ link: { name: 'dag1', database: 'db1', managedInstance: { tier } } }) as unknown as Inventory;

test('LSN queries: the DAG filter on SQL Server, is_primary_replica on Business Critical only, LSNs as text', () => {
  const sql = lsnQuery('sqlServer', inventory('GeneralPurpose'));
  assert.match(sql, /ag\.is_distributed = 1 AND db\.name = @db/);
  assert.match(sql, /CAST\(drs\.last_hardened_lsn AS varchar\(30\)\)/);
  assert.match(sql, /CAST\(drs\.end_of_log_lsn AS varchar\(30\)\)/);
  assert.not.match(lsnQuery('managedInstance', inventory('GeneralPurpose')), /is_primary_replica/);
  assert.match(lsnQuery('managedInstance', inventory('BusinessCritical')), /db\.name = @db AND drs\.is_primary_replica = 1/);
});

test('pickLsnRow prefers the local row and falls back to end of log when hardened is NULL', () => {
  const rows = [
    { is_local: false, last_hardened_lsn: '5', end_of_log_lsn: '5', sync_state: 'SYNCHRONIZED' },
    { is_local: true, last_hardened_lsn: null, end_of_log_lsn: '71000009408100002', sync_state: 'SYNCHRONIZED' },
  ];
  const picked = pickLsnRow('sqlServer', rows, 'db1');
  assert.is(picked.endOfLog, 71000009408100002n);
  assert.is(picked.lastHardened, null);
  assert.is(comparedLsn(picked, 'secondary'), 71000009408100002n);
  assert.throws(() => pickLsnRow('managedInstance', [], 'db1'), (e: unknown) => e instanceof NoLsnRowError && /db1/.test((e as Error).message));
});

test('LSN rows: the exact filter per tier, fallbacks when a column is NULL, the local row, the sync state as text', () => {
  assert.match(lsnQuery('managedInstance', inventory('GeneralPurpose')), /\nWHERE db\.name = @db;$/);
  assert.match(lsnQuery('managedInstance', inventory('BusinessCritical')), /\nWHERE db\.name = @db AND drs\.is_primary_replica = 1;$/);
  assert.is(comparedLsn({ side: 'sqlServer', endOfLog: null, lastHardened: L, syncState: '' }, 'primary'), L);
  assert.is(comparedLsn({ side: 'managedInstance', endOfLog: L + 2n, lastHardened: L, syncState: '' }, 'secondary'), L);
  assert.is(comparedLsn({ side: 'managedInstance', endOfLog: L + 2n, lastHardened: null, syncState: '' }, 'secondary'), L + 2n);
  const row = (isLocal: unknown, lsn: string, sync?: string) => ({ is_local: isLocal, last_hardened_lsn: lsn, end_of_log_lsn: lsn, ...(sync ? { sync_state: sync } : {}) });
  assert.is(pickLsnRow('sqlServer', [row(0, '1'), row(1, '2', 'SYNCHRONIZED')], 'db1').endOfLog, 2n, 'is_local as a number');
  assert.is(pickLsnRow('sqlServer', [row(false, '1'), row(false, '2')], 'db1').endOfLog, 1n, 'no local row: the first');
  assert.is(pickLsnRow('sqlServer', [row(true, '1'), row(true, '2')], 'db1').endOfLog, 1n, 'two local rows: the first');
  assert.is(pickLsnRow('sqlServer', [row(true, '3')], 'db1').syncState, '');
  assert.is(pickLsnRow('sqlServer', [row(true, '3', 'SYNCHRONIZING')], 'db1').syncState, 'SYNCHRONIZING');
  const e = new NoLsnRowError('managedInstance', 'db1');
  assert.is(e.name, 'NoLsnRowError');
  assert.is(e.side, 'managedInstance');
});

test("the primary is judged by its end of log, the secondary by what it hardened", () => {
  // A synchronous primary's own row shows the secondary's hardened LSN: never compare that.
  const primary = { side: 'sqlServer' as const, endOfLog: L + 9n, lastHardened: L, syncState: 'SYNCHRONIZING' };
  const secondary = { side: 'managedInstance' as const, endOfLog: L, lastHardened: L, syncState: 'SYNCHRONIZING' };
  assert.is(comparedLsn(primary, 'primary'), L + 9n);
  assert.is(comparedLsn(secondary, 'secondary'), L);
});

test.run();
