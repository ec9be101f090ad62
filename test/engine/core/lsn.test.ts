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

test('a failed sample resets the window', () => {
  const s = new LsnStability(300);
  s.add({ at: 0, primary: L, secondary: L });
  s.add({ at: 200, primary: L, secondary: L });
  s.reset();
  assert.is(s.add({ at: 350, primary: L, secondary: L }), 'equal');
  assert.is(s.add({ at: 600, primary: L, secondary: L }), 'equal');
  assert.is(s.add({ at: 650, primary: L, secondary: L }), 'stable');
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

test("the primary is judged by its end of log, the secondary by what it hardened", () => {
  // A synchronous primary's own row shows the secondary's hardened LSN: never compare that.
  const primary = sideLsnFromRows('sqlServer', [row({ end_of_log_lsn: String(L + 9n), last_hardened_lsn: String(L) })], 'db1', 'dag1');
  const secondary = sideLsnFromRows('managedInstance', [row({ end_of_log_lsn: String(L), last_hardened_lsn: String(L) })], 'db1', 'dag1');
  assert.is(comparedLsn(primary, 'primary'), L + 9n);
  assert.is(comparedLsn(secondary, 'secondary'), L);
});

test.run();
