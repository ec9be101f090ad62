import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareLsn, formatLsn, LsnStability, lsnDiff, lsnEqual, parseLsn } from '../../../engine/core/lsn.js';
import {
  comparedLsn,
  LSN_QUERY,
  LsnRowsError,
  lsnQuery,
  notReadyReason,
  pairQueues,
  sideLsnFromRows,
  synchronousCommit,
} from '../../../engine/drivers/sql/lsn-queries.js';
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

test('a sample whose secondary is not ready closes the window even with equal LSNs', () => {
  const s = new LsnStability(300);
  assert.is(s.add({ at: 0, primary: L, secondary: L }), 'equal');
  assert.is(s.add({ at: 200, primary: L, secondary: L, ready: false }), 'unready');
  assert.is(s.equalForMs(), 0);
  assert.is(s.add({ at: 400, primary: L, secondary: L, ready: true }), 'equal');
  assert.is(s.add({ at: 600, primary: L, secondary: L }), 'equal');
  assert.is(s.add({ at: 700, primary: L, secondary: L }), 'stable');
});

const inventory = { link: { name: 'dag1', database: 'db1', managedInstance: { tier: 'BusinessCritical' } } } as unknown as Inventory;

test("LSN query: the link's DAG by name, the local row only, on both sides; LSNs as text; no is_primary_replica filter", () => {
  for (const side of ['sqlServer', 'managedInstance'] as const) {
    const sql = lsnQuery(side, inventory);
    assert.is(sql, LSN_QUERY);
    assert.match(sql, /WHERE ag\.is_distributed = 1 AND ag\.name = @dag AND drs\.is_local = 1 AND db\.name = @db;$/);
    assert.match(sql, /CAST\(drs\.last_hardened_lsn AS varchar\(30\)\)/);
    assert.match(sql, /CAST\(drs\.end_of_log_lsn AS varchar\(30\)\)/);
    assert.not.match(sql, /is_primary_replica/);
  }
});

const row = (over: Record<string, unknown> = {}) => ({
  end_of_log_lsn: '71000009408100002', last_hardened_lsn: null, sync_state: 'SYNCHRONIZED', is_suspended: false,
  suspend_reason_desc: null, last_commit_time: null, log_send_queue_size: null, redo_queue_size: null, secondary_lag_seconds: null,
  partner_log_send_queue_size: null, partner_redo_queue_size: null, partner_secondary_lag_seconds: null, async_members: 2, ...over,
});

test('exactly one row: none and several are refused, never guessed; NULL hardened falls back to end of log', () => {
  const picked = sideLsnFromRows('sqlServer', [row()], 'db1', 'dag1');
  assert.is(picked.endOfLog, 71000009408100002n);
  assert.is(picked.lastHardened, null);
  assert.is(comparedLsn(picked, 'secondary'), 71000009408100002n);
  assert.is(picked.partnerQueues, null);
  assert.throws(
    () => sideLsnFromRows('managedInstance', [], 'db1', 'dag1'),
    (e: unknown) => e instanceof LsnRowsError && (e as Error).name === 'NoLsnRowError' && /db1 in link dag1/.test((e as Error).message),
  );
  assert.throws(
    () => sideLsnFromRows('sqlServer', [row(), row({ end_of_log_lsn: '5' })], 'db1', 'dag1'),
    (e: unknown) => e instanceof LsnRowsError && /2 local rows .* refusing to guess/.test((e as Error).message),
  );
});

test('queues: the primary reports its partner\'s send queue and lag; a display prefers those, else the secondary\'s own', () => {
  const primary = sideLsnFromRows('sqlServer', [row({ partner_log_send_queue_size: 320, partner_redo_queue_size: 0, partner_secondary_lag_seconds: '4' })], 'db1', 'dag1');
  const secondary = sideLsnFromRows('managedInstance', [row({ log_send_queue_size: 300, redo_queue_size: 16, sync_state: 'SYNCHRONIZING' })], 'db1', 'dag1');
  assert.equal(pairQueues(primary, secondary), { logSendQueueKb: 320n, redoQueueKb: 0n, secondaryLagSeconds: 4n });
  const noPartner = sideLsnFromRows('sqlServer', [row()], 'db1', 'dag1');
  assert.equal(pairQueues(noPartner, secondary), { logSendQueueKb: 300n, redoQueueKb: 16n, secondaryLagSeconds: null });
});

test('ready: SYNCHRONIZED needed in synchronous commit (both copies), SYNCHRONIZING enough in asynchronous, never suspended', () => {
  const side = (over: Record<string, unknown>) => sideLsnFromRows('managedInstance', [row(over)], 'db1', 'dag1');
  const syncPrimary = side({ async_members: 0 });
  const asyncPrimary = side({ async_members: 2 });
  assert.is(notReadyReason(syncPrimary, side({ async_members: 0, sync_state: 'SYNCHRONIZED' })), undefined);
  assert.match(notReadyReason(syncPrimary, side({ async_members: 0, sync_state: 'SYNCHRONIZING' }))!, /SYNCHRONIZING, not SYNCHRONIZED in synchronous commit/);
  // One copy synchronous, the other not: synchronous commit is not in effect, so SYNCHRONIZING is the healthy state.
  assert.is(notReadyReason(syncPrimary, side({ async_members: 2, sync_state: 'SYNCHRONIZING' })), undefined);
  assert.ok(synchronousCommit(syncPrimary, side({ async_members: 0 })));
  assert.not.ok(synchronousCommit(asyncPrimary, side({ async_members: 0 })));
  assert.is(notReadyReason(asyncPrimary, side({ sync_state: 'SYNCHRONIZING' })), undefined);
  assert.is(notReadyReason(asyncPrimary, side({ sync_state: 'NOT SYNCHRONIZING' })), 'NOT SYNCHRONIZING');
  assert.is(notReadyReason(asyncPrimary, side({ sync_state: 'REVERTING' })), 'REVERTING');
  assert.is(
    notReadyReason(asyncPrimary, side({ sync_state: 'NOT SYNCHRONIZING', is_suspended: true, suspend_reason_desc: 'SUSPEND_FROM_PARTNER' })),
    'suspended (SUSPEND_FROM_PARTNER)',
  );
});

test('LSN rows: each column read as the DMV gives it (flags as bit, numbers as text, NULL as null); a missing column is null or 0', () => {
  const one = (over: Record<string, unknown>) => sideLsnFromRows('sqlServer', [row(over)], 'db1', 'dag1');
  assert.is(comparedLsn({ ...one({}), endOfLog: null, lastHardened: L }, 'primary'), L, 'no end of log: what it hardened');
  assert.is(comparedLsn({ ...one({}), endOfLog: L + 2n, lastHardened: L }, 'secondary'), L);
  assert.is(comparedLsn({ ...one({}), endOfLog: L + 2n, lastHardened: null }, 'secondary'), L + 2n);
  for (const flag of [true, 1, '1']) assert.ok(one({ is_suspended: flag }).suspended, String(flag));
  for (const flag of [false, 0, '0', null, 'true']) assert.not.ok(one({ is_suspended: flag }).suspended, String(flag));
  assert.is(one({}).suspendReason, null);
  assert.is(one({ suspend_reason_desc: undefined }).suspendReason, null);
  assert.is(one({ suspend_reason_desc: 'SUSPEND_FROM_USER' }).suspendReason, 'SUSPEND_FROM_USER');
  const when = new Date('2026-12-06T12:00:00Z');
  assert.is(one({ last_commit_time: when }).lastCommit, when);
  assert.equal(one({ last_commit_time: '2026-12-06T12:00:00Z' }).lastCommit, when);
  assert.is(one({ last_commit_time: '' }).lastCommit, null);
  assert.is(one({ last_commit_time: 5 }).lastCommit, null);
  assert.is(one({ async_members: undefined }).asyncMembers, 0);
  assert.is(one({ async_members: 1 }).asyncMembers, 1);
  assert.is(one({ sync_state: undefined }).syncState, '');
  const queues = (log: unknown) => one({ log_send_queue_size: log }).queues.logSendQueueKb;
  assert.is(queues(7n), 7n);
  assert.is(queues(7), 7n);
  assert.is(queues(' 71000009408100001 '), 71000009408100001n, 'numeric text, exactly');
  assert.is(queues('-3'), -3n);
  for (const junk of [1.5, '1.5', 'x7', '7x', '', true, undefined]) assert.is(queues(junk), null, JSON.stringify(junk));
  assert.equal(one({ redo_queue_size: 16, secondary_lag_seconds: '4' }).queues, { logSendQueueKb: null, redoQueueKb: 16n, secondaryLagSeconds: 4n });
  // The partner's row is there when its send queue is reported, even as 0.
  assert.equal(one({ partner_log_send_queue_size: 0 }).partnerQueues, { logSendQueueKb: 0n, redoQueueKb: null, secondaryLagSeconds: null });
  assert.is(one({ partner_log_send_queue_size: undefined, partner_redo_queue_size: 5 }).partnerQueues, null);
  const none = new LsnRowsError('managedInstance', 'db1', 'dag1', 0);
  assert.equal([none.name, none.side, none.database, none.link, none.rows], ['NoLsnRowError', 'managedInstance', 'db1', 'dag1', 0]);
  assert.is(none.message, 'managedInstance has no replica state for database db1 in link dag1; is the database part of the link there?');
  const two = new LsnRowsError('sqlServer', 'db1', 'dag1', 2);
  assert.is(two.name, 'AmbiguousLsnRowsError');
  assert.is(two.message, "sqlServer has 2 local rows for database db1 in link dag1, where exactly one was expected; refusing to guess which one is the link's");
});

test('ready: the state compared without case; no state and no suspend reason are said so; a pair\'s queues fall back one by one', () => {
  const side = (over: Record<string, unknown>) => sideLsnFromRows('managedInstance', [row(over)], 'db1', 'dag1');
  const syncPrimary = side({ async_members: 0 });
  const asyncPrimary = side({ async_members: 1 });
  assert.is(notReadyReason(syncPrimary, side({ async_members: 0, sync_state: 'synchronized' })), undefined);
  assert.is(notReadyReason(syncPrimary, side({ async_members: 0, sync_state: '' })), 'in no state, not SYNCHRONIZED in synchronous commit');
  assert.is(notReadyReason(asyncPrimary, side({ sync_state: 'synchronizing' })), undefined);
  assert.is(notReadyReason(asyncPrimary, side({ sync_state: 'SYNCHRONIZED' })), undefined);
  assert.is(notReadyReason(asyncPrimary, side({ sync_state: '' })), 'in no state');
  assert.is(notReadyReason(syncPrimary, side({ async_members: 0, is_suspended: 1 })), 'suspended (reason not given)');
  assert.not.ok(synchronousCommit(syncPrimary, side({ async_members: 1 })));
  const partial = side({ partner_log_send_queue_size: 9 });
  const secondary = side({ log_send_queue_size: 1, redo_queue_size: 2, secondary_lag_seconds: 3 });
  assert.equal(pairQueues(partial, secondary), { logSendQueueKb: 9n, redoQueueKb: 2n, secondaryLagSeconds: 3n });
});

test("the primary is judged by its end of log, the secondary by what it hardened", () => {
  // A synchronous primary's own row shows the secondary's hardened LSN: never compare that.
  const primary = sideLsnFromRows('sqlServer', [row({ end_of_log_lsn: String(L + 9n), last_hardened_lsn: String(L) })], 'db1', 'dag1');
  const secondary = sideLsnFromRows('managedInstance', [row({ end_of_log_lsn: String(L), last_hardened_lsn: String(L) })], 'db1', 'dag1');
  assert.is(comparedLsn(primary, 'primary'), L + 9n);
  assert.is(comparedLsn(secondary, 'secondary'), L);
});

test.run();
