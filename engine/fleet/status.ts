// `runbook status`: every link's health as its servers and ARM see it, read only. One connection
// per server whatever the number of links (the links of one SQL Server are read by one query on
// one session), one ARM client per managed instance, no lock, nothing written. The verdict is a
// pure function of what was read (judgeLink), so it is tested without servers. A set-up problem at
// one server (a login refused, a password variable not set) marks that server's links unreadable
// and `setUp`, never hides the others: one rotated password must not blind a 50-link check.
import type { FleetLink } from './expand.js';
import type { ReplicaSide } from '../core/types.js';

export interface SideStatus {
  /** False when it could not be read: `error` says why. */
  read: boolean;
  error?: string;
  /** The read failed for a reason of ours to fix (settings, passwords, certificates, credentials). */
  setUp?: boolean;
  /** The link's role here (PRIMARY, SECONDARY, RESOLVING), NONE when this server has no such link. */
  role?: string;
  /** The availability mode of this server's member of the link. */
  mode?: string;
  /** The synchronization state of the link's database here. */
  sync?: string;
  /** log_send_queue_size (KB) and secondary_lag_seconds where this server reports them (on the primary, for its secondary). */
  kbBehind?: number | null;
  secondsBehind?: number | null;
}

export interface ArmStatus {
  read: boolean;
  error?: string;
  setUp?: boolean;
  exists?: boolean;
  instanceRole?: string;
  partnerRole?: string;
  mode?: string;
}

export interface LinkStatus {
  link: string;
  database: string;
  sqlServer: SideStatus;
  managedInstance: SideStatus;
  arm: ArmStatus;
  healthy: boolean;
  problems: string[];
}

/**
 * Healthy: both servers read, exactly one says PRIMARY and the other SECONDARY, the secondary's
 * database is SYNCHRONIZING or SYNCHRONIZED, and ARM has the link with the managed instance in the
 * role the managed instance itself reports. Lag alone is reported, not judged: an asynchronous
 * link is behind by design, and the failover runbook waits for it anyway.
 */
export function judgeLink(s: Omit<LinkStatus, 'healthy' | 'problems'>): { healthy: boolean; problems: string[] } {
  const problems: string[] = [];
  const sides: Array<[ReplicaSide, SideStatus]> = [['sqlServer', s.sqlServer], ['managedInstance', s.managedInstance]];
  for (const [side, st] of sides) if (!st.read) problems.push(`${side} cannot be read (${st.error ?? 'unknown'})`);
  const roles = sides.filter(([, st]) => st.read).map(([side, st]) => [side, st.role ?? 'NONE'] as const);
  const primaries = roles.filter(([, r]) => r === 'PRIMARY');
  if (primaries.length === 2) problems.push('split-brain: both sides say PRIMARY');
  else if (roles.length === 2 && primaries.length === 0) problems.push('no side says PRIMARY');
  for (const [side, role] of roles) if (role === 'NONE') problems.push(`${side} has no such link`);
  const secondary = sides.find(([, st]) => st.read && st.role === 'SECONDARY')?.[1];
  if (secondary && !/^SYNCHRONI(Z|S)(ING|ED)$/.test(secondary.sync ?? '')) problems.push(`the secondary's database is ${secondary.sync ?? 'not in the link'}`);
  if (!s.arm.read) problems.push(`ARM cannot be read (${s.arm.error ?? 'unknown'})`);
  else if (!s.arm.exists) problems.push('ARM has no such link on the managed instance');
  else if (s.managedInstance.read && s.arm.instanceRole && s.managedInstance.role && s.arm.instanceRole.toUpperCase() !== s.managedInstance.role) {
    problems.push(`ARM says the managed instance is ${s.arm.instanceRole}, the managed instance says ${s.managedInstance.role}`);
  }
  return { healthy: problems.length === 0, problems };
}

const ROLES_QUERY = `SELECT ag.name AS link_name, rs.role_desc AS link_role, ar.availability_mode_desc AS mode
FROM sys.availability_groups ag
  JOIN sys.dm_hadr_availability_replica_states rs ON rs.group_id = ag.group_id
  JOIN sys.availability_replicas ar ON ar.replica_id = rs.replica_id
WHERE ag.is_distributed = 1 AND rs.is_local = 1;`;

const DATABASES_QUERY = `SELECT ag.name AS link_name, drs.is_local, drs.synchronization_state_desc AS sync_state,
  drs.log_send_queue_size AS kb_behind, drs.secondary_lag_seconds AS seconds_behind
FROM sys.dm_hadr_database_replica_states drs
  JOIN sys.availability_groups ag ON ag.group_id = drs.group_id
WHERE ag.is_distributed = 1;`;

type Rows = Array<Record<string, unknown>>;
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const key = (name: string) => name.toLowerCase();

/** What one server says about every link on it, by link name (lower case). */
function sideStatuses(roles: Rows, databases: Rows): Map<string, SideStatus> {
  const out = new Map<string, SideStatus>();
  for (const r of roles) out.set(key(String(r.link_name)), { read: true, role: String(r.link_role ?? 'NULL').toUpperCase(), mode: String(r.mode ?? '') });
  for (const d of databases) {
    const s = out.get(key(String(d.link_name)));
    if (!s) continue;
    if (d.is_local === true || d.is_local === 1) s.sync = String(d.sync_state ?? '');
    const kb = num(d.kb_behind);
    const sec = num(d.seconds_behind);
    if (kb !== null) s.kbBehind = Math.max(s.kbBehind ?? 0, kb);
    if (sec !== null) s.secondsBehind = Math.max(s.secondsBehind ?? 0, sec);
  }
  return out;
}

export async function readFleetStatus(links: FleetLink[], env: NodeJS.ProcessEnv): Promise<LinkStatus[]> {
  const { createRunResources } = await import('../drivers/run-resources.js');
  const { runSql } = await import('../drivers/sql/pool.js');
  const { classifyConnectFailure } = await import('../drivers/sql/connect-failure.js');
  const { getLinkDetails } = await import('../drivers/arm/client.js');
  const { linkIdsOf } = await import('../drivers/arm/link-ids.js');
  const { isLinkGone } = await import('../drivers/arm/errors.js');
  // One run-resources per server: its connection to that server serves every link on it.
  const servers = new Map<string, ReturnType<typeof createRunResources>>();
  const resourcesOf = (serverKey: string, link: FleetLink) => {
    let r = servers.get(serverKey);
    if (!r) servers.set(serverKey, (r = createRunResources(link.inventory, { env })));
    return r;
  };
  type Unread = { error: string; setUp: boolean };
  const read = async (side: ReplicaSide, serverKey: string, link: FleetLink): Promise<Map<string, SideStatus> | Unread> => {
    try {
      const pool = await resourcesOf(`${side}:${serverKey}`, link).sql(side);
      const [roles, databases] = [await runSql(pool, ROLES_QUERY), await runSql(pool, DATABASES_QUERY)];
      return sideStatuses(roles.recordset ?? [], databases.recordset ?? []);
    } catch (error) {
      const message = (error as Error).message.replace(/\.$/, '');
      return { error: message, setUp: !classifyConnectFailure(error).unreachable && isSetUp(error) };
    }
  };
  const perServer = new Map<string, Promise<Map<string, SideStatus> | Unread>>();
  const serverRead = (side: ReplicaSide, serverKey: string, link: FleetLink) => {
    const k = `${side}:${serverKey}`;
    let p = perServer.get(k);
    if (!p) perServer.set(k, (p = read(side, serverKey, link)));
    return p;
  };
  try {
    return await Promise.all(
      links.map(async (link): Promise<LinkStatus> => {
        const side = async (s: ReplicaSide, serverKey: string): Promise<SideStatus> => {
          const all = await serverRead(s, serverKey, link);
          if ('error' in all) return { read: false, error: all.error as string, ...(all.setUp ? { setUp: true } : {}) };
          return all.get(key(link.name)) ?? { read: true, role: 'NONE' };
        };
        const [sqlServer, managedInstance] = await Promise.all([side('sqlServer', link.sqlServerKey), side('managedInstance', link.managedInstanceKey)]);
        let arm: ArmStatus;
        try {
          const client = await resourcesOf(`managedInstance:${link.managedInstanceKey}`, link).arm();
          const d = await getLinkDetails(client, linkIdsOf(link.inventory), {});
          arm = { read: true, exists: true, ...(d.instanceLinkRole ? { instanceRole: d.instanceLinkRole } : {}), ...(d.partnerLinkRole ? { partnerRole: d.partnerLinkRole } : {}), ...(d.replicationMode ? { mode: d.replicationMode } : {}) };
        } catch (error) {
          if (isLinkGone(error)) arm = { read: true, exists: false };
          else arm = { read: false, error: (error as Error).message.replace(/\.$/, ''), ...(isSetUp(error) ? { setUp: true } : {}) };
        }
        const observed = { link: link.name, database: link.inventory.link.database, sqlServer, managedInstance, arm };
        return { ...observed, ...judgeLink(observed) };
      }),
    );
  } finally {
    await Promise.all([...servers.values()].map((r) => r.close()));
  }
}

/** The set-up problems the statuses met, each once, named by where they were met. */
export function setUpProblems(statuses: readonly LinkStatus[]): string[] {
  const seen = new Set<string>();
  for (const s of statuses) {
    // The drivers' messages name the server (its side, name and address); one per server, however many links it has.
    for (const side of [s.sqlServer, s.managedInstance]) if (side.setUp) seen.add(side.error ?? 'unknown');
    if (s.arm.setUp) seen.add(`ARM: ${s.arm.error ?? 'unknown'}`);
  }
  return [...seen];
}

/** A failure that is ours to fix, not the link's: settings, passwords, certificates, credentials. */
function isSetUp(error: unknown): boolean {
  const e = error as { name?: string; code?: string; number?: number; statusCode?: number; message?: string };
  if (e?.name === 'ConnectionSetupError' || e?.name === 'ConnectionError') return true;
  if (e?.statusCode === 401 || e?.statusCode === 403) return true;
  return /18456|Login failed|certificate|is not set|credential/i.test(e?.message ?? '');
}
