// The HADR catalog views and DMVs as one replica of a link shows them, computed from the model.
// Column names and value sets are SQL Server's; see README "The lab" for the choices made where
// the real server is vague (remote rows, NULLs).
import type { CellValue } from '../sql/contract.js';
import type { LinkModel, ReplicaState } from './link.js';
import { stableGuid } from './ids.js';
import { lsnAfter } from './lsn.js';
import { otherSide, type Side } from './types.js';

type Row = Record<string, CellValue>;

export interface ReplicaTables {
  'sys.databases': Row[];
  'sys.availability_groups': Row[];
  'sys.availability_replicas': Row[];
  'sys.dm_hadr_availability_replica_states': Row[];
  'sys.dm_hadr_database_replica_states': Row[];
  'msdb.dbo.backupset': Row[];
  'msdb.dbo.backupmediafamily': Row[];
}

const SYNC_DESC = ['NOT SYNCHRONIZING', 'SYNCHRONIZING', 'SYNCHRONIZED'] as const;
const ROLE_DESC = ['RESOLVING', 'PRIMARY', 'SECONDARY'] as const;
const HEALTH_DESC = ['NOT_HEALTHY', 'PARTIALLY_HEALTHY', 'HEALTHY'] as const;
const KB_PER_TRANSACTION = 8n;

function group(id: string, name: string, distributed: boolean): Row {
  return {
    group_id: id, name, resource_id: null, resource_group_id: null,
    failure_condition_level: distributed ? null : 3, health_check_timeout: distributed ? null : 30000,
    automated_backup_preference: 2, automated_backup_preference_desc: 'secondary', version: 1,
    basic_features: false, dtc_support: false, db_failover: !distributed, is_distributed: distributed,
    cluster_type: 2, cluster_type_desc: 'none', required_synchronized_secondaries_to_commit: 0,
    sequence_number: 1n, is_contained: false,
  };
}

function replica(o: {
  id: string; group: string; server: string; endpoint: string; mode: string; created: Date;
}): Row {
  const sync = o.mode === 'SYNCHRONOUS_COMMIT';
  return {
    replica_id: o.id, group_id: o.group, replica_metadata_id: 1, replica_server_name: o.server,
    endpoint_url: o.endpoint, availability_mode: sync ? 1 : 0, availability_mode_desc: o.mode,
    failover_mode: 1, failover_mode_desc: 'MANUAL', session_timeout: 20,
    primary_role_allow_connections: 2, primary_role_allow_connections_desc: 'ALL',
    secondary_role_allow_connections: 2, secondary_role_allow_connections_desc: 'ALL',
    create_date: o.created, modify_date: o.created, backup_priority: 50, read_only_routing_url: null,
    seeding_mode: 0, seeding_mode_desc: 'AUTOMATIC',
  };
}

function replicaState(o: {
  id: string; group: string; local: boolean; role: 0 | 1 | 2; connected: boolean; health: 0 | 1 | 2;
}): Row {
  return {
    replica_id: o.id, group_id: o.group, is_local: o.local, role: o.role, role_desc: ROLE_DESC[o.role],
    operational_state: o.local ? 2 : null, operational_state_desc: o.local ? 'ONLINE' : null,
    connected_state: o.connected ? 1 : 0, connected_state_desc: o.connected ? 'CONNECTED' : 'DISCONNECTED',
    recovery_health: o.local ? 1 : null, recovery_health_desc: o.local ? 'ONLINE' : null,
    synchronization_health: o.health, synchronization_health_desc: HEALTH_DESC[o.health],
    last_connect_error_number: o.connected ? null : 10054,
    last_connect_error_description: o.connected ? null : 'An existing connection was forcibly closed by the remote host.',
    last_connect_error_timestamp: null,
  };
}

interface DbStateInput {
  databaseId: number; group: string; replica: string; groupDatabase: string; local: boolean; primaryReplica: boolean;
  sync: 0 | 1 | 2; endOfLog: bigint | null; hardened: bigint | null; received: bigint | null; sent: bigint | null;
  lastCommit: bigint | null; commitTime: Date | null; hardenedTime: Date | null; recovery: bigint;
  sendQueueKb: bigint | null; redoQueueKb: bigint | null; lagSeconds: bigint | null; suspended: boolean; restoring: boolean;
  /** Synchronous-commit replica: SYNCHRONIZING is then only partially healthy. */
  synchronousCommit?: boolean;
}

function databaseState(i: DbStateInput): Row {
  // synchronization_health as the DMV reference defines it from the state and the replica's mode.
  const health = i.sync === 0 ? 0 : i.sync === 1 && i.synchronousCommit ? 1 : 2;
  return {
    database_id: i.databaseId, group_id: i.group, replica_id: i.replica, group_database_id: i.groupDatabase,
    is_local: i.local, is_primary_replica: i.primaryReplica,
    synchronization_state: i.sync, synchronization_state_desc: SYNC_DESC[i.sync], is_commit_participant: i.sync === 2,
    synchronization_health: health, synchronization_health_desc: HEALTH_DESC[health],
    database_state: i.local ? (i.restoring ? 1 : 0) : null,
    database_state_desc: i.local ? (i.restoring ? 'RESTORING' : 'ONLINE') : null,
    // suspend_reason 1 = SUSPEND_FROM_PARTNER, "suspended after a forced failover" (DMV reference).
    is_suspended: i.suspended, suspend_reason: i.suspended ? 1 : null,
    suspend_reason_desc: i.suspended ? 'SUSPEND_FROM_PARTNER' : null,
    recovery_lsn: i.recovery, truncation_lsn: i.recovery,
    last_sent_lsn: i.sent, last_sent_time: i.sent === null ? null : i.hardenedTime,
    last_received_lsn: i.received, last_received_time: i.received === null ? null : i.hardenedTime,
    last_hardened_lsn: i.hardened, last_hardened_time: i.hardened === null ? null : i.hardenedTime,
    last_redone_lsn: i.received ?? i.endOfLog, last_redone_time: i.hardenedTime,
    log_send_queue_size: i.sendQueueKb, log_send_rate: i.sendQueueKb === null ? null : 1024n,
    redo_queue_size: i.redoQueueKb, redo_rate: i.redoQueueKb === null ? null : 1024n,
    filestream_send_rate: 0n, end_of_log_lsn: i.endOfLog, last_commit_lsn: i.lastCommit, last_commit_time: i.commitTime,
    low_water_mark_for_ghosts: 0n, secondary_lag_seconds: i.lagSeconds,
  };
}

/** Sync state of the DAG's secondary copy: SYNCHRONIZED only in synchronous commit and caught up. */
function secondaryState(link: LinkModel, secondary: ReplicaState, now: number): 0 | 1 | 2 {
  if (secondary.suspended || !link.connected(now) || !link.replicating(now)) return 0;
  return link.synchronousCommit() && link.pending.length === 0 ? 2 : 1;
}

type HadrTables = Pick<ReplicaTables, 'sys.availability_groups' | 'sys.availability_replicas' | 'sys.dm_hadr_availability_replica_states' | 'sys.dm_hadr_database_replica_states'>;
type BackupTables = Pick<ReplicaTables, 'msdb.dbo.backupset' | 'msdb.dbo.backupmediafamily'>;
/** The HADR views, built together (their rows refer to each other). */
export const HADR_TABLES: ReadonlyArray<keyof HadrTables> = ['sys.availability_groups', 'sys.availability_replicas', 'sys.dm_hadr_availability_replica_states', 'sys.dm_hadr_database_replica_states'];
export const BACKUP_TABLES: ReadonlyArray<keyof BackupTables> = ['msdb.dbo.backupset', 'msdb.dbo.backupmediafamily'];

/**
 * The tables `side` of `link` shows at `now`; with `wanted`, only those of them (a catalog asks
 * for the tables one statement reads, and on a fleet's server this runs once per link).
 */
export function replicaTables(link: LinkModel, side: Side, now: number, created: Date): ReplicaTables;
export function replicaTables(link: LinkModel, side: Side, now: number, created: Date, wanted: ReadonlySet<string>): Partial<ReplicaTables>;
export function replicaTables(link: LinkModel, side: Side, now: number, created: Date, wanted?: ReadonlySet<string>): Partial<ReplicaTables> {
  const want = (names: ReadonlyArray<string>) => !wanted || names.some((n) => wanted.has(n));
  const out: Partial<ReplicaTables> = {};
  if (want(['sys.databases'])) out['sys.databases'] = databaseRows(link, side, created);
  if (want(HADR_TABLES)) Object.assign(out, hadrTables(link, side, now, created));
  if (want(BACKUP_TABLES)) Object.assign(out, backupTables(link, side));
  return out;
}

/** sys.databases: the system databases and the link's database as this side has it. */
function databaseRows(link: LinkModel, side: Side, created: Date): Row[] {
  const me = link.replicas[side];
  const onSql = side === 'sqlServer';
  return [...systemDatabases(created), {
    name: link.id.database, database_id: link.id.databaseId, source_database_id: null,
    create_date: created, compatibility_level: 160, collation_name: 'SQL_Latin1_General_CP1_CI_AS',
    user_access: 0, user_access_desc: 'MULTI_USER', is_read_only: false,
    state: me.restoring ? 1 : 0, state_desc: me.restoring ? 'RESTORING' : 'ONLINE',
    recovery_model: 1, recovery_model_desc: 'FULL',
    replica_id: me.agPresent ? (onSql ? link.ids.sqlReplica : link.ids.miReplicas[0]) : null,
    group_database_id: me.agPresent ? (onSql ? link.ids.sqlAgDatabase : link.ids.miAgDatabase) : null,
    is_encrypted: false, log_reuse_wait_desc: 'AVAILABILITY_REPLICA',
  }];
}

/**
 * Rows of the HADR views as `side` of `link` shows them at `now`.
 *
 * sys.dm_hadr_database_replica_states lists the database once per group it belongs to (its own
 * AG, the link's DAG, any other link's DAG) and, on a primary of a group, once more per secondary
 * of that group (is_local = 0): "On the primary replica, this view returns a row for each primary
 * database and an additional row for the corresponding secondary database" (MicrosoftDocs/sql-docs,
 * sys-dm-hadr-database-replica-states-transact-sql.md). Their values differ on purpose (the AG
 * row's last_hardened_lsn, the partner's LSNs, another link's progress), and no order is
 * documented: the lab lists the other replicas' rows first, then the local AG's and other links'
 * rows, and the link's own local row last, so a query that takes "the first row" reads a wrong one.
 */
function hadrTables(link: LinkModel, side: Side, now: number, created: Date): HadrTables {
  const me = link.replicas[side];
  const partner = link.replicas[otherSide(side)];
  const ids = link.ids;
  const connected = link.connected(now);
  const synchronized = link.synchronized(now);
  const synchronousCommit = link.synchronousCommit();
  const onSql = side === 'sqlServer';
  const localGroup = onSql ? ids.sqlAgGroup : ids.miAgGroup;
  const localGroupDb = onSql ? ids.sqlAgDatabase : ids.miAgDatabase;
  const localReplicaIds = onSql ? [ids.sqlReplica] : ids.miReplicas;
  const memberId = (s: Side) => (s === 'sqlServer' ? ids.dagSqlMember : ids.dagMiMember);
  const fqdn = `${link.id.miName}.lab.database.windows.net`;
  const endpoints: Record<Side, string> = {
    sqlServer: `TCP://${link.id.sqlServerName}:5022`,
    managedInstance: `tcp://${fqdn}:5022;Server=[${link.id.miName}]`,
  };
  const t: HadrTables = {
    'sys.availability_groups': [], 'sys.availability_replicas': [],
    'sys.dm_hadr_availability_replica_states': [], 'sys.dm_hadr_database_replica_states': [],
  };
  const remoteRows: Row[] = [];
  const localRows: Row[] = [];
  const base = { databaseId: link.id.databaseId, recovery: link.baseLsn };

  if (me.agPresent) {
    t['sys.availability_groups'].push(group(localGroup, me.memberName, false));
    localReplicaIds.forEach((id, i) => {
      const server = onSql ? link.id.sqlServerName : i === 0 ? link.id.miName : `${link.id.miName}-local-${i}`;
      t['sys.availability_replicas'].push(replica({
        id, group: localGroup, server, endpoint: `TCP://${server}:5022`, mode: 'SYNCHRONOUS_COMMIT', created,
      }));
      t['sys.dm_hadr_availability_replica_states'].push(
        replicaState({ id, group: localGroup, local: i === 0, role: i === 0 ? 1 : 2, connected: true, health: 2 }),
      );
    });
    // Business Critical: the MI's own secondaries, trailing it by one transaction.
    const localSecondaryLsn = lsnAfter(me.hardened, -1);
    // The replica is the primary of its own AG, whatever its role in the link: SYNCHRONIZED, and a
    // last_hardened_lsn that is the minimum over that AG's secondaries ("For other synchronous-
    // commit primary databases ... the minimum of the hardened LSN across all the secondary
    // databases"), NULL where the AG has none (General Purpose, the lab's one-replica SQL Server AG).
    localRows.push(databaseState({
      ...base, group: localGroup, replica: localReplicaIds[0], groupDatabase: localGroupDb, local: true, primaryReplica: true,
      sync: 2, endOfLog: me.endOfLog, hardened: localReplicaIds.length > 1 ? localSecondaryLsn : null, received: null, sent: null,
      lastCommit: me.endOfLog, commitTime: me.lastCommitTime, hardenedTime: me.lastHardenedTime,
      sendQueueKb: null, redoQueueKb: null, lagSeconds: null, suspended: false, restoring: me.restoring, synchronousCommit: true,
    }));
    for (let i = 1; i < localReplicaIds.length; i++) {
      remoteRows.push(databaseState({
        ...base, group: localGroup, replica: localReplicaIds[i], groupDatabase: localGroupDb,
        local: false, primaryReplica: false, sync: 2, endOfLog: localSecondaryLsn, hardened: localSecondaryLsn,
        received: localSecondaryLsn, sent: localSecondaryLsn, lastCommit: localSecondaryLsn, commitTime: me.lastCommitTime,
        hardenedTime: me.lastHardenedTime, sendQueueKb: 0n, redoQueueKb: 0n, lagSeconds: 0n, suspended: false, restoring: false,
        synchronousCommit: true,
      }));
    }
    if (onSql) otherLinkRows(link, me, now, created, t, remoteRows, localRows);
  }

  if (me.dagPresent) {
    t['sys.availability_groups'].push(group(ids.dagGroup, link.id.name, true));
    // This side's own copy of the DAG's modes (MODIFY on SQL Server, ARM PATCH on the MI).
    const modes = link.modesSeenBy(side);
    for (const s of ['sqlServer', 'managedInstance'] as Side[]) {
      t['sys.availability_replicas'].push(replica({
        id: memberId(s), group: ids.dagGroup, server: link.replicas[s].memberName, endpoint: endpoints[s],
        mode: modes[s], created,
      }));
    }
    const isPrimary = me.role === 'PRIMARY';
    const health = connected && link.replicating(now) ? 2 : 0;
    t['sys.dm_hadr_availability_replica_states'].push(replicaState({
      id: memberId(side), group: ids.dagGroup, local: true, role: isPrimary ? 1 : 2, connected: true, health,
    }));
    if (isPrimary) {
      t['sys.dm_hadr_availability_replica_states'].push(replicaState({
        id: memberId(partner.side), group: ids.dagGroup, local: false, role: 2, connected, health,
      }));
    }
    const unsentKb = BigInt(link.pending.length) * KB_PER_TRANSACTION;
    const oldest = link.pending[0];
    if (isPrimary) {
      // The DAG's local row on the primary: an async primary reports no last_hardened_lsn; a
      // synchronous one the secondary's (the minimum hardened across secondaries).
      const hardened = synchronousCommit && connected ? partner.hardened : null;
      localRows.push(databaseState({
        ...base, group: ids.dagGroup, replica: memberId(side), groupDatabase: ids.dagDatabase, local: true, primaryReplica: true,
        sync: synchronized ? 2 : connected ? 1 : 0, endOfLog: me.endOfLog, hardened, received: null, sent: null,
        lastCommit: me.endOfLog, commitTime: me.lastCommitTime, hardenedTime: hardened === null ? me.lastHardenedTime : partner.lastHardenedTime,
        sendQueueKb: null, redoQueueKb: null, lagSeconds: null, suspended: false, restoring: me.restoring, synchronousCommit,
      }));
      // The partner's row, as the primary last heard from it: its end of log and hardened LSN lag
      // behind while log is unsent, and only here are the send queue and the lag in seconds shown.
      remoteRows.push(databaseState({
        ...base, group: ids.dagGroup, replica: memberId(partner.side), groupDatabase: ids.dagDatabase,
        local: false, primaryReplica: false, sync: secondaryState(link, partner, now),
        endOfLog: connected ? partner.endOfLog : null, hardened: connected ? partner.hardened : null,
        received: connected ? partner.hardened : null, sent: connected ? partner.hardened : null,
        lastCommit: connected ? partner.endOfLog : null, commitTime: connected ? partner.lastCommitTime : null,
        hardenedTime: partner.lastHardenedTime, sendQueueKb: unsentKb, redoQueueKb: connected ? 0n : null,
        lagSeconds: oldest ? BigInt(Math.floor((now - oldest.at) / 1000)) : 0n,
        suspended: partner.suspended, restoring: false, synchronousCommit,
      }));
    } else {
      // The DAG's local row on the secondary (a forwarder: is_primary_replica 0 here is the lab's
      // choice; the docs do not say what the flag holds on a DAG's secondary row).
      localRows.push(databaseState({
        ...base, group: ids.dagGroup, replica: memberId(side), groupDatabase: ids.dagDatabase, local: true, primaryReplica: false,
        sync: secondaryState(link, me, now), endOfLog: me.endOfLog, hardened: me.hardened, received: me.hardened, sent: null,
        lastCommit: me.endOfLog, commitTime: me.lastCommitTime, hardenedTime: me.lastHardenedTime,
        sendQueueKb: connected ? unsentKb : null, redoQueueKb: 0n, lagSeconds: null,
        suspended: me.suspended, restoring: me.restoring, synchronousCommit,
      }));
    }
  }
  t['sys.dm_hadr_database_replica_states'].push(...remoteRows, ...localRows);
  return t;
}

// msdb as each side keeps it. On the MI (backup-transparency.md, "Included information" and
// "Removed fields"): automatic full, differential and log backups with is_copy_only = 0, manual
// ones COPY_ONLY; fields of the logged-in user, of the backup file's path and of the machine are
// not populated (NULL here); a row appears once its backup has finished. Times are the server's
// local time (the MI's timezoneId: managedInstance.utcOffsetMinutes).
function backupTables(link: LinkModel, side: Side): BackupTables {
  const me = link.replicas[side];
  const t: BackupTables = { 'msdb.dbo.backupset': [], 'msdb.dbo.backupmediafamily': [] };
  const onMi = side === 'managedInstance';
  const localTime = (d: Date) => serverLocalTime(link, side, d);
  for (const b of link.backups.filter((x) => x.side === side)) {
    const automatic = b.device === 'automatic';
    t['msdb.dbo.backupset'].push({
      backup_set_id: b.id, media_set_id: b.id, name: automatic ? 'Automatic backup' : null,
      description: null, user_name: onMi ? null : 'runbook',
      database_name: b.database, server_name: me.serverName, machine_name: onMi ? null : me.serverName,
      type: b.type, is_copy_only: b.isCopyOnly, backup_start_date: localTime(b.start), backup_finish_date: localTime(b.finish),
      first_lsn: b.firstLsn, last_lsn: b.lastLsn, checkpoint_lsn: b.firstLsn, database_backup_lsn: link.baseLsn,
      backup_size: 1_048_576n, recovery_model: 'FULL', database_guid: link.ids.dagDatabase,
    });
    // device_type: 2 disk, 9 URL (Azure Storage), 7 virtual device (the MI's automatic backups).
    t['msdb.dbo.backupmediafamily'].push({
      media_set_id: b.id, family_sequence_number: 1, media_family_id: null,
      physical_device_name: onMi ? null : b.device,
      device_type: automatic ? 7 : /^https:\/\//i.test(b.device) ? 9 : 2, physical_block_size: automatic ? null : 512,
    });
  }
  return t;
}

/** A moment as the side's server clock shows it (the lab's clock is UTC; the MI may be ahead). */
export function serverLocalTime(link: LinkModel, side: Side, d: Date): Date {
  const offset = side === 'managedInstance' ? link.scenario.managedInstance.utcOffsetMinutes : 0;
  return offset ? new Date(d.getTime() + offset * 60_000) : d;
}

/**
 * Other links of SQL Server's database (scenario sqlServer.otherLinks): "use the same availability
 * group for all the links, but then create a new distributed availability group for each database
 * link" (MicrosoftDocs/sql-docs, managed-instance-link-configure-how-to-scripts.md). Each is an
 * asynchronous DAG whose managed instance the lab does not run; SQL Server's role in it follows
 * its role in the lab's link, and its partner lags `behindTransactions` behind.
 */
function otherLinkRows(link: LinkModel, me: ReplicaState, now: number, created: Date, t: HadrTables, remoteRows: Row[], localRows: Row[]): void {
  for (const other of link.scenario.sqlServer.otherLinks ?? []) {
    const groupId = stableGuid(link.id.name, 'other', other.name);
    const local = stableGuid(link.id.name, 'other', other.name, 'sql');
    const remote = stableGuid(link.id.name, 'other', other.name, 'mi');
    const groupDb = stableGuid(link.id.name, 'other', other.name, 'db');
    const behind = other.behindTransactions ?? 0;
    const partnerLsn = lsnAfter(me.endOfLog, -behind) < link.baseLsn ? link.baseLsn : lsnAfter(me.endOfLog, -behind);
    const isPrimary = me.role === 'PRIMARY';
    t['sys.availability_groups'].push(group(groupId, other.name, true));
    t['sys.availability_replicas'].push(
      replica({ id: local, group: groupId, server: me.memberName, endpoint: `TCP://${me.serverName}:5022`, mode: 'ASYNCHRONOUS_COMMIT', created }),
      replica({ id: remote, group: groupId, server: `${other.name}_mi`, endpoint: `tcp://${other.name}-mi.lab.database.windows.net:5022`, mode: 'ASYNCHRONOUS_COMMIT', created }),
    );
    t['sys.dm_hadr_availability_replica_states'].push(replicaState({ id: local, group: groupId, local: true, role: isPrimary ? 1 : 2, connected: true, health: 2 }));
    const common = { databaseId: link.id.databaseId, recovery: link.baseLsn, group: groupId, groupDatabase: groupDb, restoring: false, suspended: false };
    localRows.push(databaseState({
      ...common, replica: local, local: true, primaryReplica: isPrimary, sync: isPrimary ? 2 : 1,
      endOfLog: me.endOfLog, hardened: isPrimary ? null : me.hardened, received: isPrimary ? null : me.hardened, sent: null,
      lastCommit: me.endOfLog, commitTime: me.lastCommitTime, hardenedTime: me.lastHardenedTime,
      sendQueueKb: null, redoQueueKb: isPrimary ? null : 0n, lagSeconds: null,
    }));
    if (isPrimary) {
      t['sys.dm_hadr_availability_replica_states'].push(replicaState({ id: remote, group: groupId, local: false, role: 2, connected: true, health: 2 }));
      remoteRows.push(databaseState({
        ...common, replica: remote, local: false, primaryReplica: false, sync: 1,
        endOfLog: partnerLsn, hardened: partnerLsn, received: partnerLsn, sent: partnerLsn, lastCommit: partnerLsn,
        commitTime: me.lastCommitTime, hardenedTime: me.lastHardenedTime,
        sendQueueKb: BigInt(behind) * KB_PER_TRANSACTION, redoQueueKb: 0n, lagSeconds: BigInt(Math.floor(behind > 0 ? (now - me.lastCommitTime.getTime()) / 1000 : 0)),
      }));
    }
  }
}

function systemDatabases(created: Date): Row[] {
  return (['master', 'tempdb', 'model', 'msdb'] as const).map((name, i) => ({
    name, database_id: i + 1, source_database_id: null, create_date: created,
    compatibility_level: 160, collation_name: 'SQL_Latin1_General_CP1_CI_AS', user_access: 0,
    user_access_desc: 'MULTI_USER', is_read_only: false, state: 0, state_desc: 'ONLINE',
    recovery_model: name === 'tempdb' || name === 'master' ? 3 : 1,
    recovery_model_desc: name === 'tempdb' || name === 'master' ? 'SIMPLE' : 'FULL',
    replica_id: null, group_database_id: null, is_encrypted: false, log_reuse_wait_desc: 'NOTHING',
  }));
}
