// The procedure's LSN check, one query per side, with the LSN columns CAST to text so that
// tedious never turns them into lossy JS numbers.
import type { ConnectionPool } from 'mssql';
import { parseLsn, type Lsn } from '../../core/lsn.js';
import { runSql } from './pool.js';
import type { Inventory, ReplicaSide } from '../../core/types.js';

const columns = `CAST(drs.end_of_log_lsn AS varchar(30)) AS end_of_log_lsn,
  CAST(drs.last_hardened_lsn AS varchar(30)) AS last_hardened_lsn,
  drs.synchronization_state_desc AS sync_state,
  drs.is_local`;

/** The query for one side: the DAG's rows on SQL Server; on a Business Critical MI, its primary replica's. */
export function lsnQuery(side: ReplicaSide, inventory: Inventory): string {
  if (side === 'sqlServer') {
    return `SELECT ${columns}
FROM sys.dm_hadr_database_replica_states drs
  JOIN sys.databases db ON db.database_id = drs.database_id
  JOIN sys.availability_groups ag ON drs.group_id = ag.group_id
WHERE ag.is_distributed = 1 AND db.name = @db;`;
  }
  const businessCritical = inventory.link.managedInstance.tier === 'BusinessCritical';
  return `SELECT ${columns}
FROM sys.dm_hadr_database_replica_states drs
  JOIN sys.databases db ON db.database_id = drs.database_id
WHERE db.name = @db${businessCritical ? ' AND drs.is_primary_replica = 1' : ''};`;
}

export interface SideLsn {
  side: ReplicaSide;
  endOfLog: Lsn | null;
  lastHardened: Lsn | null;
  syncState: string;
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

/** Raised when a replica has no row for the database: nothing to wait for, so no retry. */
export class NoLsnRowError extends Error {
  constructor(
    readonly side: ReplicaSide,
    readonly database: string,
  ) {
    super(`${side} has no replica state for database ${database} in the link; is the database part of the link there?`);
    this.name = 'NoLsnRowError';
  }
}

/** Picks the local row when the DMV also lists remote replicas (a primary sees its secondaries). */
export function pickLsnRow(side: ReplicaSide, rows: Array<Record<string, unknown>>, database: string): SideLsn {
  if (rows.length === 0) throw new NoLsnRowError(side, database);
  const local = rows.filter((r) => r.is_local === true || r.is_local === 1);
  const row = local.length === 1 ? local[0] : rows[0];
  const endOfLog = parseLsn(row.end_of_log_lsn);
  const lastHardened = parseLsn(row.last_hardened_lsn);
  return { side, endOfLog, lastHardened, syncState: String(row.sync_state ?? '') };
}

export async function readSideLsn(
  pool: ConnectionPool,
  side: ReplicaSide,
  inventory: Inventory,
  signal?: AbortSignal,
): Promise<SideLsn> {
  const database = inventory.link.database;
  const result = await runSql(pool, lsnQuery(side, inventory), { db: database }, signal);
  return pickLsnRow(side, result.recordset ?? [], database);
}
