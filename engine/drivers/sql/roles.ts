// Which replica of the link is primary, as each replica says for itself. The query is the one
// the failover procedure has a DBA paste on both sides; the verdict is pure so it can be tested
// without servers, and both assertRole and the engine's `primary`/`secondary` aliases use it.
import type { ConnectionPool } from 'mssql';
import { classifyConnectFailure } from './connect-failure.js';
import { runSql } from '../on-demand.js';
import type { ReplicaSide } from '../../core/types.js';

export const SIDES: readonly ReplicaSide[] = ['sqlServer', 'managedInstance'];

export function otherSide(side: ReplicaSide): ReplicaSide {
  return side === 'sqlServer' ? 'managedInstance' : 'sqlServer';
}

/** The procedure's role check, parameterised by the link (DAG) name. */
export const ROLE_QUERY = `SELECT ag.name AS link_name, rs.role_desc AS link_role
FROM sys.availability_groups ag
  JOIN sys.dm_hadr_availability_replica_states rs ON ag.group_id = rs.group_id
WHERE rs.is_local = 1 AND ag.name = @link;`;

/** What one replica said: its role_desc (`PRIMARY`, `SECONDARY`, `RESOLVING`), `NONE` when it has no such link, or why it could not be asked. */
export type RoleObservation =
  | { side: ReplicaSide; reachable: true; role: string }
  /** `setUp`: it answered but refused us (only when observeRoles was asked to record that). */
  | { side: ReplicaSide; reachable: false; error: string; setUp?: true };

export type RoleVerdict =
  | { ok: true; primary: ReplicaSide; secondary: ReplicaSide; observations: RoleObservation[] }
  | { ok: false; problem: 'split-brain' | 'no-primary'; observations: RoleObservation[] };

/** Turns the rows of ROLE_QUERY into one role word. */
export function roleFromRows(rows: Array<Record<string, unknown>>): string {
  if (rows.length === 0) return 'NONE';
  const roles = [...new Set(rows.map((r) => String(r.link_role ?? 'NULL').toUpperCase()))];
  return roles.join('+');
}

/**
 * Exactly one replica saying PRIMARY makes a verdict; the other side is the secondary whether it
 * said SECONDARY or could not be reached. Two PRIMARYs is split-brain; none is no-primary.
 */
export function judgeRoles(observations: RoleObservation[]): RoleVerdict {
  const primaries = observations.filter((o) => o.reachable && o.role === 'PRIMARY');
  if (primaries.length > 1) return { ok: false, problem: 'split-brain', observations };
  if (primaries.length === 0) return { ok: false, problem: 'no-primary', observations };
  const primary = primaries[0].side;
  return { ok: true, primary, secondary: otherSide(primary), observations };
}

/** `sqlServer (127.0.0.1:1433) says PRIMARY; managedInstance says SECONDARY`. */
export function describeObservations(observations: RoleObservation[]): string {
  return observations
    .map((o) => (o.reachable ? `${o.side} says ${o.role}` : `${o.side} is unreachable (${o.error})`))
    .join('; ');
}

/**
 * For the `secondary` alias when no replica is primary (the primary is down, e.g. before a
 * forced failover): the one reachable replica that says SECONDARY, if exactly one does.
 */
export function loneSecondary(observations: RoleObservation[]): ReplicaSide | undefined {
  const secondaries = observations.filter((o) => o.reachable && o.role === 'SECONDARY');
  return secondaries.length === 1 ? secondaries[0].side : undefined;
}

/**
 * Asks both replicas at once; a replica that cannot be reached becomes an observation, not an
 * error. Only one that never answered (engine/drivers/sql/pool.ts classifyConnectFailure) is unreachable: a
 * refused login, a missing password or a certificate we do not trust throws, because a replica
 * that answers may well be a primary.
 */
export async function observeRoles(
  sql: (side: ReplicaSide) => Promise<ConnectionPool>,
  linkName: string,
  signal?: AbortSignal,
  /** For observers (plan --probe) that report what they could not read rather than stop. */
  opts: { recordSetUpErrors?: boolean } = {},
): Promise<RoleObservation[]> {
  return Promise.all(
    SIDES.map(async (side): Promise<RoleObservation> => {
      let pool: ConnectionPool;
      try {
        pool = await sql(side);
      } catch (error) {
        const error1 = (error as Error).message.replace(/\.$/, '');
        if (classifyConnectFailure(error).unreachable) return { side, reachable: false, error: error1 };
        if (opts.recordSetUpErrors) return { side, reachable: false, error: error1, setUp: true };
        throw error;
      }
      // A SQL error on a reachable replica is not "unreachable": it propagates.
      const result = await runSql(pool, ROLE_QUERY, { link: linkName }, signal);
      return { side, reachable: true, role: roleFromRows(result.recordset ?? []) };
    }),
  );
}
