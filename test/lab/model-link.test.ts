// The link model's arithmetic, with a hand-driven clock: workload, lag, catch-up, planned and
// forced failover, split-brain and its fix, and what the DMV rows say about it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LabModel } from '../../lab/model/lab-model.js';
import { lsnAfter } from '../../lab/model/lsn.js';
import { replicaTables } from '../../lab/model/tables.js';
import { loadScenario, type ScenarioOverrides } from '../../lab/scenario.js';

const BASE = 71000009408100001n;

function lab(scenario = 'healthy', overrides: ScenarioOverrides = {}) {
  let now = 1_000_000;
  const model = new LabModel({ scenario: loadScenario(scenario, overrides), links: 1, clock: () => now });
  return { model, link: model.links[0], tick: (ms: number) => { now += ms; model.links[0].advance(); }, now: () => now };
}

test('LSNs are log-block steps above 2^53, exact as bigint', () => {
  assert.is(lsnAfter(BASE, 1), 71000009409700001n);
  assert.is(lsnAfter(BASE, 3) - BASE, 4_800_000n);
  assert.ok(BASE > BigInt(Number.MAX_SAFE_INTEGER));
});

test('the workload commits at its rate on the primary; the secondary hardens what is older than the lag', () => {
  const { link, tick } = lab('healthy', { workload: { running: true, ratePerSecond: 100 }, replication: { lagMs: 200 } });
  tick(1000);
  assert.is(link.ledger.committed, 100);
  assert.is(link.replicas.sqlServer.endOfLog, lsnAfter(BASE, 100));
  assert.is(link.replicas.managedInstance.hardened, lsnAfter(BASE, 80));
  assert.is(link.pending.length, 20);
  assert.is(link.ledger.lastCommittedLsn, lsnAfter(BASE, 100));
});

test('a workload that stops after N ms stops committing; the secondary then catches up', () => {
  const { link, tick } = lab('healthy', { workload: { running: true, ratePerSecond: 100, stopAfterMs: 300 }, replication: { lagMs: 100 } });
  tick(250);
  assert.is(link.ledger.committed, 25);
  tick(1000);
  assert.is(link.ledger.committed, 30);
  assert.is(link.replicas.managedInstance.hardened, link.replicas.sqlServer.endOfLog);
});

test('lagging: behind until catch-up time, then equal and stable', () => {
  const { link, tick } = lab('lagging', { replication: { catchUpAfterMs: 500 } });
  assert.is(link.pending.length, 40);
  tick(499);
  assert.is(link.replicas.managedInstance.hardened, BASE);
  tick(1);
  assert.is(link.pending.length, 0);
  assert.is(link.replicas.managedInstance.hardened, lsnAfter(BASE, 40));
  tick(1000);
  assert.is(link.replicas.managedInstance.hardened, link.replicas.sqlServer.endOfLog);
});

test('planned failover needs synchronous commit in both copies of the DAG and equal LSNs; then swaps with nothing lost', () => {
  const { link } = lab('healthy');
  assert.not.ok(link.synchronized(), 'asynchronous by default');
  link.sqlServerModes.sqlServer = 'SYNCHRONOUS_COMMIT';
  link.sqlServerModes.managedInstance = 'SYNCHRONOUS_COMMIT';
  assert.not.ok(link.synchronized(), "SQL Server's copy alone is not enough: the MI's copy is still Async");
  link.miReplicationMode = 'Sync';
  assert.ok(link.synchronized());
  link.sqlServerModes.managedInstance = 'ASYNCHRONOUS_COMMIT';
  assert.not.ok(link.synchronized(), 'one member asynchronous in one copy is not enough');
  link.sqlServerModes.managedInstance = 'SYNCHRONOUS_COMMIT';
  link.plannedFailover();
  assert.is(link.replicas.managedInstance.role, 'PRIMARY');
  assert.is(link.replicas.sqlServer.role, 'SECONDARY');
  assert.is(link.ledger.lost, 0);
  assert.is(link.writer, 'managedInstance');
});

test('not synchronized while transactions are in flight', () => {
  const { link } = lab('lagging', { availabilityMode: { sqlServer: 'SYNCHRONOUS_COMMIT', managedInstance: 'SYNCHRONOUS_COMMIT' } });
  assert.not.ok(link.synchronized());
});

test('forced failover loses exactly what the new primary had not hardened and leaves split-brain', () => {
  const { link, tick } = lab('healthy', {
    workload: { running: true, ratePerSecond: 1000, stopAfterMs: 50 }, replication: { lagMs: 20 },
  });
  tick(30); // 30 committed, 10 hardened on the MI (those at least 20 ms old)
  link.setReplication({ stalled: true });
  tick(100); // the workload stops at 50 committed
  assert.is(link.ledger.committed, 50);
  const hardened = link.replicas.managedInstance.hardened;
  const unhardened = Number((link.replicas.sqlServer.endOfLog - hardened) / (lsnAfter(0n, 1)));
  assert.is(unhardened, 40);
  const lost = link.forceFailover('managedInstance');
  assert.is(lost, 40);
  assert.is(link.ledger.lost, 40);
  assert.is(link.replicas.sqlServer.role, 'PRIMARY');
  assert.is(link.replicas.managedInstance.role, 'PRIMARY');
  assert.is(link.ledger.lastCommittedLsn, hardened);
});

test('split-brain scenario: both primary, 12 lost; demoting SQL Server suspends it, and once resumed it resynchronizes from the MI', () => {
  const { link, tick } = lab('split-brain', { replication: { resumeAfterSuspendMs: 300 } });
  assert.is(link.replicas.sqlServer.role, 'PRIMARY');
  assert.is(link.replicas.managedInstance.role, 'PRIMARY');
  assert.is(link.ledger.lost, 12);
  assert.is(link.replicas.sqlServer.endOfLog, lsnAfter(BASE, 12));
  assert.is(link.replicas.managedInstance.endOfLog, BASE);
  link.demote('sqlServer');
  assert.is(link.replicas.sqlServer.role, 'SECONDARY');
  assert.ok(link.replicas.sqlServer.suspended, 'the former primary is suspended (SUSPEND_FROM_PARTNER)');
  assert.is(link.replicas.sqlServer.endOfLog, lsnAfter(BASE, 12), 'its own tail stays until it resumes');
  assert.not.ok(link.replicating(), 'no data movement while suspended');
  assert.ok(link.connected());
  tick(299);
  assert.ok(link.replicas.sqlServer.suspended);
  tick(1);
  assert.not.ok(link.replicas.sqlServer.suspended, 'resumed by itself after resumeAfterSuspendMs');
  assert.is(link.replicas.sqlServer.endOfLog, BASE, 'rolled back to the survivor');
  assert.ok(link.replicating());
});

test('a suspended former primary with resumeAfterSuspendMs null stays suspended until resumed', () => {
  const { link, tick } = lab('split-brain', { replication: { resumeAfterSuspendMs: null } });
  link.demote('sqlServer');
  tick(60_000);
  assert.ok(link.replicas.sqlServer.suspended);
  assert.ok(link.resume('sqlServer'));
  assert.not.ok(link.resume('sqlServer'), 'resuming twice does nothing');
  assert.is(link.replicas.sqlServer.endOfLog, BASE);
});

test('old order (force, then demote the old primary): the commits the old primary took in between are lost', () => {
  const { link, tick } = lab('healthy', { workload: { running: true, ratePerSecond: 100 }, replication: { lagMs: 0 } });
  tick(100);
  assert.is(link.ledger.committed, 10);
  link.forceFailover('managedInstance');
  assert.is(link.ledger.lost, 0, 'everything had reached the MI');
  tick(50); // the application still writes to SQL Server, which still says PRIMARY
  assert.is(link.ledger.committed, 15);
  assert.is(link.divergentCommits, 5);
  link.demote('sqlServer');
  assert.is(link.ledger.lost, 5, 'the 5 commits between the forced failover and the demotion');
  assert.is(link.writer, 'managedInstance');
});

test('new order (demote the old primary, then force): no write lands in between, nothing is lost', () => {
  const { link, tick } = lab('healthy', { workload: { running: true, ratePerSecond: 100 }, replication: { lagMs: 0 } });
  tick(100);
  link.demote('sqlServer');
  assert.not.ok(link.replicas.sqlServer.suspended, 'no primary to be suspended from');
  tick(50); // no primary: the application's writes are refused
  assert.is(link.ledger.committed, 10);
  assert.is(link.forceFailover('managedInstance'), 0);
  assert.ok(link.replicas.sqlServer.suspended, 'the old primary is suspended after the forced failover');
  tick(50);
  assert.is(link.ledger.lost, 0);
  assert.is(link.writer, 'managedInstance');
  assert.is(link.ledger.committed, 15, 'the application writes to the MI now');
});

test('primary-down: replication stops; the MI forced over loses the 25', () => {
  const { link } = lab('primary-down');
  assert.ok(link.isDown('sqlServer'));
  assert.not.ok(link.connected());
  assert.is(link.forceFailover('managedInstance'), 25);
});

test("DMV rows: async primary has no last_hardened_lsn; sync primary shows the secondary's; remote row only on the primary", () => {
  const { link, now } = lab('lagging');
  const created = new Date(0);
  let sql = replicaTables(link, 'sqlServer', now(), created)['sys.dm_hadr_database_replica_states'];
  const dag = link.ids.dagGroup;
  const local = sql.find((r) => r.group_id === dag && r.is_local === true)!;
  assert.is(local.last_hardened_lsn, null);
  assert.is(local.end_of_log_lsn, lsnAfter(BASE, 40));
  const remote = sql.find((r) => r.group_id === dag && r.is_local === false)!;
  assert.is(remote.last_hardened_lsn, BASE);
  assert.is(remote.log_send_queue_size, 320n);
  link.sqlServerModes.sqlServer = 'SYNCHRONOUS_COMMIT';
  link.sqlServerModes.managedInstance = 'SYNCHRONOUS_COMMIT';
  sql = replicaTables(link, 'sqlServer', now(), created)['sys.dm_hadr_database_replica_states'];
  assert.is(sql.find((r) => r.group_id === dag && r.is_local === true)!.last_hardened_lsn, null, "SQL Server's copy alone does not make it synchronous");
  link.miReplicationMode = 'Sync';
  sql = replicaTables(link, 'sqlServer', now(), created)['sys.dm_hadr_database_replica_states'];
  assert.is(sql.find((r) => r.group_id === dag && r.is_local === true)!.last_hardened_lsn, BASE);
  const mi = replicaTables(link, 'managedInstance', now(), created);
  const miRows = mi['sys.dm_hadr_database_replica_states'];
  assert.is(miRows.length, 2, "General Purpose MI: its own AG's row and the link's DAG row");
  assert.equal(miRows.map((r) => r.group_id), [link.ids.miAgGroup, dag]);
  assert.is(mi['sys.dm_hadr_availability_replica_states'].filter((r) => r.group_id === dag).length, 1, 'secondary: local rows only');
  const miDag = miRows.find((r) => r.group_id === dag)!;
  assert.is(miDag.synchronization_state_desc, 'NOT SYNCHRONIZING', 'stalled');
  assert.is(miDag.is_primary_replica, false);
  const miAg = miRows.find((r) => r.group_id === link.ids.miAgGroup)!;
  assert.is(miAg.synchronization_state_desc, 'SYNCHRONIZED', 'primary of its own AG');
  assert.is(miAg.last_hardened_lsn, null, 'an AG with no secondaries');
});

test('DMV rows on the primary MI: the partner row comes first, with its own (lagging) LSNs', () => {
  const { link, now } = lab('healthy', {
    roles: { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' }, backlogTransactions: 30, replication: { stalled: true },
  });
  const rows = replicaTables(link, 'managedInstance', now(), new Date(0))['sys.dm_hadr_database_replica_states'];
  assert.equal(rows.map((r) => [r.group_id === link.ids.dagGroup ? 'dag' : 'ag', r.is_local]), [['dag', false], ['ag', true], ['dag', true]]);
  assert.is(rows[0].end_of_log_lsn, BASE, "SQL Server's end of log as the MI last heard it");
  assert.is(rows[2].end_of_log_lsn, lsnAfter(BASE, 30));
  assert.is(rows[0].log_send_queue_size, 240n);
});

test('a second link of the same SQL Server database shows in its DMVs with its own LSNs', () => {
  const { link, now } = lab('healthy', { backlogTransactions: 5, sqlServer: { otherLinks: [{ name: 'dag_dr', behindTransactions: 3 }] } });
  const t = replicaTables(link, 'sqlServer', now(), new Date(0));
  assert.equal(t['sys.availability_groups'].filter((g) => g.is_distributed).map((g) => g.name).sort(), ['dag1', 'dag_dr']);
  const rows = t['sys.dm_hadr_database_replica_states'];
  const otherGroup = t['sys.availability_groups'].find((g) => g.name === 'dag_dr')!.group_id;
  const otherPartner = rows.find((r) => r.group_id === otherGroup && r.is_local === false)!;
  assert.is(otherPartner.end_of_log_lsn, lsnAfter(BASE, 2), '3 behind SQL Server');
  assert.is(rows.filter((r) => r.is_local === true).length, 3, 'its AG, the other link, this link');
  assert.is(replicaTables(link, 'managedInstance', now(), new Date(0))['sys.availability_groups'].filter((g) => g.name === 'dag_dr').length, 0);
});

test('Business Critical: local secondaries appear with is_primary_replica = 0 and an older LSN; the AG row reads their minimum', () => {
  const { link, now } = lab('business-critical');
  const rows = replicaTables(link, 'managedInstance', now(), new Date(0))['sys.dm_hadr_database_replica_states'];
  assert.is(rows.length, 5, 'three local secondaries, its AG row, the DAG row');
  assert.is(rows.filter((r) => r.is_primary_replica === true).length, 1, "only its AG's row: the DAG row of a secondary is not primary");
  const others = rows.filter((r) => r.is_local === false);
  assert.is(others.length, 3);
  assert.ok(others.every((r) => (r.last_hardened_lsn as bigint) < BASE));
  assert.ok((rows.find((r) => r.group_id === link.ids.miAgGroup && r.is_local === true)!.last_hardened_lsn as bigint) < BASE);
});

test('MI full backups: one at start, another after the MI becomes primary, started then and finished later', () => {
  const { link, tick, now } = lab('healthy', { miFullBackup: { afterFailoverMs: 500 }, miBackups: { logEveryMs: 0 } });
  const fulls = () => link.backups.filter((b) => b.side === 'managedInstance' && b.type === 'D');
  assert.is(fulls().length, 1);
  const at = now();
  link.forceFailover('managedInstance');
  tick(499);
  assert.is(fulls().length, 1);
  tick(1);
  assert.is(fulls().length, 2);
  assert.equal([fulls()[1].start.getTime(), fulls()[1].finish.getTime(), fulls()[1].isCopyOnly], [at, at + 500, false]);
  const none = lab('healthy', { miFullBackup: { enabled: false }, miBackups: { logEveryMs: 0 } });
  assert.is(none.link.backups.length, 0);
});

test('MI full backup after the link is removed while the MI is secondary: its database is on its own and writable then', () => {
  const { link, tick } = lab('healthy', { miFullBackup: { afterFailoverMs: 300 }, miBackups: { logEveryMs: 0 } });
  link.removeDag('managedInstance');
  tick(300);
  assert.is(link.backups.filter((b) => b.type === 'D').length, 2);
});

test('MI automatic log and differential backups: regular (not copy-only), at the scenario pace, none on SQL Server', () => {
  const { link, tick } = lab('healthy', { miBackups: { logEveryMs: 100, diffEveryMs: 250 } });
  const count = (type: string) => link.backups.filter((b) => b.side === 'managedInstance' && b.type === type).length;
  assert.equal([count('L'), count('I')], [1, 1]);
  tick(500);
  assert.equal([count('L'), count('I')], [6, 3]);
  assert.ok(link.backups.every((b) => b.side === 'managedInstance' && !b.isCopyOnly && b.device === 'automatic'));
});

test.run();
