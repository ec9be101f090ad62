// The link database's state on one replica, read from the link's own row: the LSN columns CAST
// to text so that tedious never turns them into lossy JS numbers, the synchronization state, and
// the queues the replica reports.
//
// Which row. sys.dm_hadr_database_replica_states lists the database once per availability group
// it belongs to (the replica's own AG, the link's DAG, another link's DAG: "use the same
// availability group for all the links, but then create a new distributed availability group for
// each database link", managed-instance-link-configure-how-to-scripts.md) and, on a primary of a
// group, once more per secondary of it (is_local = 0: "On the primary replica, this view returns a
// row for each primary database and an additional row for the corresponding secondary database",
// sys-dm-hadr-database-replica-states-transact-sql.md). The procedure's own queries filter on
// neither (managed-instance-link-failover-how-to.md, "Check LSN values"): the SQL Server one
// keeps every DAG's rows, the MI one every row. So the query here joins the availability group,
// filters on the link's DAG by name (as the troubleshooting guide's "Check link state" query does)
// and on is_local = 1 on both sides, and the reader refuses unless exactly one row remains: no row
// means the database is not in this link here; more than one cannot be told apart, and taking
// one of them could compare the partner's LSN with itself. No is_primary_replica filter (the
// procedure's Business Critical advice): is_local = 1 already leaves the other local replicas
// out, and what that flag holds on a DAG secondary's row is not documented.
import type { ConnectionPool } from 'mssql';
import { parseLsn, type Lsn } from '../../core/lsn.js';
import { runSql } from '../on-demand.js';
import type { Inventory, ReplicaSide } from '../../core/types.js';

/**
 * The link's row on one replica, plus what that replica's copy of the DAG says about the members'
 * availability modes, and, on a primary, what its partner's row reports (the send queue and the
 * lag are reported there).
 */
export const LSN_QUERY = `SELECT CAST(drs.end_of_log_lsn AS varchar(30)) AS end_of_log_lsn,
  CAST(drs.last_hardened_lsn AS varchar(30)) AS last_hardened_lsn,
  drs.synchronization_state_desc AS sync_state,
  drs.is_suspended,
  drs.suspend_reason_desc,
  drs.last_commit_time,
  drs.log_send_queue_size,
  drs.redo_queue_size,
  drs.secondary_lag_seconds,
  partner_drs.log_send_queue_size AS partner_log_send_queue_size,
  partner_drs.redo_queue_size AS partner_redo_queue_size,
  partner_drs.secondary_lag_seconds AS partner_secondary_lag_seconds,
  (SELECT COUNT(*) FROM sys.availability_replicas ar
    WHERE ar.group_id = ag.group_id AND ar.availability_mode_desc <> 'SYNCHRONOUS_COMMIT') AS async_members
FROM sys.dm_hadr_database_replica_states drs
  JOIN sys.databases db ON db.database_id = drs.database_id
  JOIN sys.availability_groups ag ON ag.group_id = drs.group_id
  LEFT JOIN sys.dm_hadr_database_replica_states partner_drs
    ON partner_drs.group_id = drs.group_id AND partner_drs.group_database_id = drs.group_database_id AND partner_drs.is_local = 0
WHERE ag.is_distributed = 1 AND ag.name = @dag AND drs.is_local = 1 AND db.name = @db;`;

/** The query for one side: the same on both (kept as a function for the plans that show it per side). */
export function lsnQuery(_side: ReplicaSide, _inventory: Inventory): string {
  return LSN_QUERY;
}

/** Queue sizes as the DMV reports them: KB for the queues, seconds for the lag; null where not reported. */
export interface ReplicaQueues {
  logSendQueueKb: bigint | null;
  redoQueueKb: bigint | null;
  secondaryLagSeconds: bigint | null;
}

export interface SideLsn {
  side: ReplicaSide;
  endOfLog: Lsn | null;
  lastHardened: Lsn | null;
  /** synchronization_state_desc of the link's row here: SYNCHRONIZED, SYNCHRONIZING, NOT SYNCHRONIZING, ... */
  syncState: string;
  suspended: boolean;
  suspendReason: string | null;
  lastCommit: Date | null;
  /** Members of the DAG this replica's copy does not list as SYNCHRONOUS_COMMIT. */
  asyncMembers: number;
  /** What this replica reports on its own row. */
  queues: ReplicaQueues;
  /** On a primary: what it reports on its partner's row (null when it has none). */
  partnerQueues: ReplicaQueues | null;
}

/**
 * What the stability check compares: everything the primary has written (its end of log) against
 * what the secondary has hardened. Not the primary's own last_hardened_lsn: on a synchronous
 * primary that column already shows the secondary's hardened LSN (and on an asynchronous one it
 * is NULL), so comparing it would call a primary that is still writing "caught up".
 */
export function comparedLsn(s: SideLsn, role: 'primary' | 'secondary'): Lsn | null {
  return role === 'primary' ? s.endOfLog ?? s.lastHardened : s.lastHardened ?? s.endOfLog;
}

/** No row, or more than one, for the database in the link on a replica: nothing to compare, so no retry. */
export class LsnRowsError extends Error {
  constructor(
    readonly side: ReplicaSide,
    readonly database: string,
    readonly link: string,
    readonly rows: number,
  ) {
    super(
      rows === 0
        ? `${side} has no replica state for database ${database} in link ${link}; is the database part of the link there?`
        : `${side} has ${rows} local rows for database ${database} in link ${link}, where exactly one was expected; refusing to guess which one is the link's`,
    );
    this.name = rows === 0 ? 'NoLsnRowError' : 'AmbiguousLsnRowsError';
  }
}

function asBigInt(v: unknown): bigint | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return BigInt(v.trim());
  return null;
}

function asDate(v: unknown): Date | null {
  if (v instanceof Date) return v;
  if (typeof v === 'string' && v !== '') return new Date(v);
  return null;
}

const isTrue = (v: unknown) => v === true || v === 1 || v === '1';

/** The one row of LSN_QUERY, or a refusal when there is not exactly one. */
export function sideLsnFromRows(side: ReplicaSide, rows: Array<Record<string, unknown>>, database: string, link: string): SideLsn {
  if (rows.length !== 1) throw new LsnRowsError(side, database, link, rows.length);
  const row = rows[0]!;
  const partnerReported = row.partner_log_send_queue_size !== null && row.partner_log_send_queue_size !== undefined;
  return {
    side,
    endOfLog: parseLsn(row.end_of_log_lsn),
    lastHardened: parseLsn(row.last_hardened_lsn),
    syncState: String(row.sync_state ?? ''),
    suspended: isTrue(row.is_suspended),
    suspendReason: row.suspend_reason_desc === null || row.suspend_reason_desc === undefined ? null : String(row.suspend_reason_desc),
    lastCommit: asDate(row.last_commit_time),
    asyncMembers: Number(row.async_members ?? 0),
    queues: {
      logSendQueueKb: asBigInt(row.log_send_queue_size),
      redoQueueKb: asBigInt(row.redo_queue_size),
      secondaryLagSeconds: asBigInt(row.secondary_lag_seconds),
    },
    partnerQueues: partnerReported
      ? {
          logSendQueueKb: asBigInt(row.partner_log_send_queue_size),
          redoQueueKb: asBigInt(row.partner_redo_queue_size),
          secondaryLagSeconds: asBigInt(row.partner_secondary_lag_seconds),
        }
      : null,
  };
}

export async function readSideLsn(
  pool: ConnectionPool,
  side: ReplicaSide,
  inventory: Inventory,
  signal?: AbortSignal,
): Promise<SideLsn> {
  const { database, name } = inventory.link;
  const result = await runSql(pool, LSN_QUERY, { dag: name, db: database }, signal);
  return sideLsnFromRows(side, result.recordset ?? [], database, name);
}

/**
 * Synchronous commit is in effect only when both replicas' copies of the DAG list both members as
 * SYNCHRONOUS_COMMIT: "both the current primary availability group, and the current secondary
 * availability group must have SYNCHRONOUS_COMMIT availability mode" (configure-distributed-
 * availability-groups.md). Each side's copy is read on that side.
 */
export function synchronousCommit(primary: SideLsn, secondary: SideLsn): boolean {
  return primary.asyncMembers === 0 && secondary.asyncMembers === 0;
}

/**
 * Why a paired sample cannot count toward a stable window even with equal LSNs, or undefined
 * when it can. The secondary's own row decides. Suspended: no data moves. In synchronous commit it
 * must be SYNCHRONIZED ("Do not proceed until the synchronization_state_desc = SYNCHRONIZED",
 * configure-distributed-availability-groups.md); in asynchronous commit SYNCHRONIZING is the healthy
 * state (an asynchronous secondary never reports SYNCHRONIZED), and NOT SYNCHRONIZING, REVERTING
 * or INITIALIZING never count (forcing a failover on a REVERTING or INITIALIZING secondary leaves
 * a database that cannot start, sys-dm-hadr-database-replica-states-transact-sql.md).
 */
export function notReadyReason(primary: SideLsn, secondary: SideLsn): string | undefined {
  if (secondary.suspended) return `suspended (${secondary.suspendReason ?? 'reason not given'})`;
  const state = secondary.syncState.toUpperCase();
  if (synchronousCommit(primary, secondary)) {
    return state === 'SYNCHRONIZED' ? undefined : `${secondary.syncState || 'in no state'}, not SYNCHRONIZED in synchronous commit`;
  }
  return state === 'SYNCHRONIZING' || state === 'SYNCHRONIZED' ? undefined : secondary.syncState || 'in no state';
}

/** The queues of a pair as a display shows them: the primary's view of its partner where it has one, else the secondary's own. */
export function pairQueues(primary: SideLsn, secondary: SideLsn): ReplicaQueues {
  const p = primary.partnerQueues;
  const s = secondary.queues;
  return {
    logSendQueueKb: p?.logSendQueueKb ?? s.logSendQueueKb,
    redoQueueKb: p?.redoQueueKb ?? s.redoQueueKb,
    secondaryLagSeconds: p?.secondaryLagSeconds ?? s.secondaryLagSeconds,
  };
}
