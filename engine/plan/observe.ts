// What `plan --probe` and `apply plan.json` see of a live link, with reads only: each replica's
// own link role, the link's availability modes as each replica lists them, its version
// (SERVERPROPERTY), its LSNs, and whether ARM still has the link. The fingerprint is the part a
// saved plan is bound to; LSNs are shown but left out of it because they move all the time.
import type { ConnectionPool } from 'mssql';
import { observeRoles, SIDES, judgeRoles } from '../drivers/sql/roles.js';
import { readSideLsn } from '../drivers/sql/lsn-queries.js';
import { lsnDiff } from '../core/lsn.js';
import { runSql } from '../drivers/sql/pool.js';
import type { Inventory, ReplicaSide, RunResources } from '../core/types.js';

export const MODES_QUERY = `SELECT ar.replica_server_name, ar.availability_mode_desc
FROM sys.availability_groups ag
  JOIN sys.availability_replicas ar ON ar.group_id = ag.group_id
WHERE ag.is_distributed = 1 AND ag.name = @link
ORDER BY ar.replica_server_name;`;

export const VERSION_QUERY = `SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS version;`;

export interface ObservedReplica {
  reachable: boolean;
  /** It answered but refused us (login, TLS, password not set): not known to be down. */
  setUpError?: true;
  /** Why it could not be asked (connection error, one line). */
  error?: string;
  /** role_desc of the link on this replica; NONE when it has no such link. */
  role?: string;
  /** Each link member's availability mode as this replica lists it, e.g. `ag1=ASYNCHRONOUS_COMMIT`. */
  modes?: string[];
  version?: string;
  endOfLogLsn?: string | null;
  hardenedLsn?: string | null;
}

export interface ObservedArmLink {
  /** False when ARM could not be asked; then `error` says why. */
  read: boolean;
  error?: string;
  exists?: boolean;
  instanceLinkRole?: string | null;
  partnerLinkRole?: string | null;
  replicationMode?: string | null;
}

/** Plan-time facts a saved plan depends on; compared by apply, key by key, in these words. */
export type Fingerprint = Record<string, string>;

export interface ObservedState {
  /** When the probe ran (ISO). */
  at: string;
  replicas: Record<ReplicaSide, ObservedReplica>;
  arm: ObservedArmLink;
  /** The primary's end of log minus the secondary's hardened LSN, when one primary answered. */
  lsnGap?: { primary: ReplicaSide; secondary: ReplicaSide; gap: string | null };
  fingerprint: Fingerprint;
}

/** A fingerprint value that could not be observed; apply does not compare keys that had it at plan time. */
export const NOT_OBSERVED = '(not observed)';

function oneLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0]!.replace(/\.\s*$/, '');
}

async function readReplica(pool: ConnectionPool, side: ReplicaSide, inventory: Inventory, signal?: AbortSignal): Promise<Omit<ObservedReplica, 'reachable' | 'role'>> {
  const out: Omit<ObservedReplica, 'reachable' | 'role'> = {};
  const modes = await runSql(pool, MODES_QUERY, { link: inventory.link.name }, signal);
  out.modes = (modes.recordset ?? []).map((r) => `${String(r.replica_server_name)}=${String(r.availability_mode_desc)}`);
  const version = await runSql(pool, VERSION_QUERY, {}, signal);
  out.version = String((version.recordset ?? [])[0]?.version ?? 'unknown');
  try {
    const lsn = await readSideLsn(pool, side, inventory, signal);
    out.endOfLogLsn = lsn.endOfLog === null ? null : lsn.endOfLog.toString();
    out.hardenedLsn = lsn.lastHardened === null ? null : lsn.lastHardened.toString();
  } catch (error) {
    // No row for the database (link gone on this side): not an error for an observation.
    if ((error as Error).name !== 'NoLsnRowError') throw error;
    out.endOfLogLsn = null;
    out.hardenedLsn = null;
  }
  return out;
}

async function readArm(resources: Pick<RunResources, 'arm'>, inventory: Inventory, signal?: AbortSignal): Promise<ObservedArmLink> {
  const [{ getLinkDetails }, { linkIdsOf }, { isLinkGone }] = await Promise.all([import('../drivers/arm/client.js'), import('../drivers/arm/link-ids.js'), import('../drivers/arm/errors.js')]);
  try {
    const details = await getLinkDetails(await resources.arm(), linkIdsOf(inventory), signal ? { signal } : {});
    return {
      read: true,
      exists: true,
      instanceLinkRole: details.instanceLinkRole ?? null,
      partnerLinkRole: details.partnerLinkRole ?? null,
      replicationMode: details.replicationMode ?? null,
    };
  } catch (error) {
    if (isLinkGone(error)) return { read: true, exists: false };
    return { read: false, error: oneLine(error) };
  }
}

export function fingerprintOf(replicas: Record<ReplicaSide, ObservedReplica>, arm: ObservedArmLink): Fingerprint {
  const fp: Fingerprint = {};
  for (const side of SIDES) {
    const r = replicas[side];
    fp[`${side} role`] = r.reachable ? r.role ?? NOT_OBSERVED : r.setUpError ? NOT_OBSERVED : 'UNREACHABLE';
    fp[`${side} availability mode`] = r.reachable && r.modes ? (r.modes.length ? r.modes.join(', ') : 'none (no link)') : NOT_OBSERVED;
    fp[`${side} version`] = r.reachable && r.version ? r.version : NOT_OBSERVED;
  }
  fp['ARM link'] = !arm.read
    ? NOT_OBSERVED
    : !arm.exists
      ? 'missing'
      : `exists (managed instance ${arm.instanceLinkRole ?? '?'}, SQL Server ${arm.partnerLinkRole ?? '?'}, replication ${arm.replicationMode ?? '?'})`;
  return fp;
}

/** Observes the link with reads only. A replica or ARM that cannot be reached is recorded, not thrown. */
export async function observeLink(resources: Pick<RunResources, 'sql' | 'arm'>, inventory: Inventory, signal?: AbortSignal): Promise<ObservedState> {
  const at = new Date().toISOString();
  const roles = await observeRoles((side) => resources.sql(side), inventory.link.name, signal, { recordSetUpErrors: true });
  const replicas = {} as Record<ReplicaSide, ObservedReplica>;
  await Promise.all(
    roles.map(async (o) => {
      if (!o.reachable) {
        replicas[o.side] = { reachable: false, error: o.error, ...(o.setUp ? { setUpError: true as const } : {}) };
        return;
      }
      const entry: ObservedReplica = { reachable: true, role: o.role };
      try {
        Object.assign(entry, await readReplica(await resources.sql(o.side), o.side, inventory, signal));
      } catch (error) {
        entry.error = oneLine(error);
      }
      replicas[o.side] = entry;
    }),
  );
  const arm = await readArm(resources, inventory, signal);
  const state: ObservedState = { at, replicas, arm, fingerprint: fingerprintOf(replicas, arm) };

  const verdict = judgeRoles(roles);
  if (verdict.ok) {
    const p = replicas[verdict.primary];
    const s = replicas[verdict.secondary];
    let gap: string | null = null;
    // As waitLsnStable compares: what the primary wrote against what the secondary hardened.
    const primaryLsn = p.endOfLogLsn ?? p.hardenedLsn;
    const secondaryLsn = s.hardenedLsn ?? s.endOfLogLsn;
    if (p.reachable && s.reachable && primaryLsn && secondaryLsn) gap = lsnDiff(BigInt(primaryLsn), BigInt(secondaryLsn)).toString();
    state.lsnGap = { primary: verdict.primary, secondary: verdict.secondary, gap };
  }
  return state;
}
