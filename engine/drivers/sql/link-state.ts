// The link as the lock reads it on each locked replica (its role in the link and the members'
// availability modes), and how two such readings are compared: what counts as someone else having
// acted while the lock was lost. The journal records these readings at the start and after each
// change (engine/apply/run.ts), and a resume compares the link with the last one
// (engine/apply/resume.ts).
import type { ConnectionPool } from 'mssql';
import { runSql } from './pool.js';
import type { ReplicaSide } from '../../core/types.js';

export const SIDES: readonly ReplicaSide[] = ['sqlServer', 'managedInstance'];

/** The link as one replica sees it: its own role and the members' availability modes. */
const STATE_QUERY = `SELECT rs.role_desc AS link_role, ar.replica_server_name AS member, ar.availability_mode_desc AS mode
FROM sys.availability_groups ag
  JOIN sys.dm_hadr_availability_replica_states rs ON rs.group_id = ag.group_id AND rs.is_local = 1
  JOIN sys.availability_replicas ar ON ar.group_id = ag.group_id
WHERE ag.name = @link;`;

/** The link as one replica shows it: its role in the link (NONE: the link is not there) and the members' availability modes. */
export type SideState = { readable: true; role: string; modes: string } | { readable: false; error: string };
/** The link as the locked replicas show it; a replica that was not locked (unreachable) is absent. */
export type LinkState = Partial<Record<ReplicaSide, SideState>>;

/** One replica's reading of the link; an error is a reading too (the side cannot be compared). */
export async function readSide(pool: ConnectionPool, link: string): Promise<SideState> {
  try {
    const rows = ((await runSql(pool, STATE_QUERY, { link })).recordset ?? []) as Array<Record<string, unknown>>;
    if (rows.length === 0) return { readable: true, role: 'NONE', modes: '' };
    const role = [...new Set(rows.map((r) => String(r.link_role ?? 'NULL').toUpperCase()))].join('+');
    const modes = [...new Set(rows.map((r) => `${String(r.member)}=${String(r.mode)}`))].sort().join(', ');
    return { readable: true, role, modes };
  } catch (error) {
    return { readable: false, error: (error as Error).message.replace(/\.$/, '') };
  }
}

/** What differs between what this run last knew and now; sides it cannot compare are `unchecked`. */
export function compareLinkStates(link: string, before: LinkState, now: LinkState): { changes: string[]; unchecked: string[] } {
  const changes: string[] = [];
  const unchecked: string[] = [];
  for (const side of SIDES) {
    const b = before[side];
    if (!b) continue; // never locked (unreachable at the start): nothing to compare with
    const n = now[side];
    if (!b.readable) unchecked.push(`${side} (what it said before could not be read: ${b.error})`);
    else if (!n || !n.readable) unchecked.push(`${side} (cannot be read now${n ? `: ${n.error}` : ''})`);
    else if (b.role !== n.role) {
      if (n.role === 'NONE') changes.push(`link ${link} is gone from ${side} (${side} was ${b.role} in it)`);
      else if (b.role === 'NONE') changes.push(`link ${link} is back on ${side}, as ${n.role}`);
      else changes.push(`${side} is now ${n.role} in link ${link} (was ${b.role})`);
    } else if (b.modes !== n.modes) changes.push(`the availability modes ${side} reports are now ${n.modes} (were ${b.modes})`);
  }
  return { changes, unchecked };
}

/** The roles the readable sides say, e.g. `sqlServer PRIMARY, managedInstance SECONDARY`. */
export function describeState(state: LinkState): string {
  return SIDES.filter((s) => state[s]?.readable)
    .map((s) => {
      const st = state[s] as Extract<SideState, { readable: true }>;
      return `${s} ${st.role}`;
    })
    .join(', ');
}
