// Who holds a link lock: the program name a lock's session carries (`runbook <run-id> <user>@<host>
// since <iso>`), read back from the server by a refused run (sys.dm_tran_locks on real servers,
// lab.applocks in the lab) and worded for the operator. A wave's runs share one lock session per
// server (engine/drivers/sql/shared-lock-sessions.ts), named after the wave: `runbook wave:<wave-id>
// <user>@<host> since <iso>`.
import type { ConnectionPool } from 'mssql';
import { runSql } from './pool.js';

export interface LockHolder {
  runId: string;
  user: string;
  host: string;
  /** ISO time the run started. */
  since: string;
}

/** The holder of a wave's shared lock sessions: the wave, by its id. */
export function waveHolder(waveId: string, who: Omit<LockHolder, 'runId'>): LockHolder {
  return { runId: `${WAVE_PREFIX}${waveId}`, ...who };
}

const WAVE_PREFIX = 'wave:';

/** The program name of the lock's session: what a refused second run shows. At most 128 characters. */
export function holderAppName(h: LockHolder): string {
  return `runbook ${h.runId} ${h.user}@${h.host} since ${h.since}`.slice(0, 128);
}

export function parseHolderAppName(text: string): LockHolder | undefined {
  const m = /^runbook (\S+) (\S*)@(\S*) since (\S+)$/.exec(text.trim());
  return m ? { runId: m[1]!, user: m[2]!, host: m[3]!, since: m[4]! } : undefined;
}

export function describeHolder(programName: string, extra: { host?: string; login?: string; session?: number } = {}): string {
  const h = parseHolderAppName(programName);
  if (h?.runId.startsWith(WAVE_PREFIX)) {
    return `wave ${h.runId.slice(WAVE_PREFIX.length)} of ${h.user} on host ${h.host}, since ${h.since} (its record names the run of each link)`;
  }
  if (h) return `run ${h.runId} of ${h.user} on host ${h.host}, since ${h.since}`;
  const bits = [programName ? `program "${programName}"` : 'another session'];
  if (extra.login) bits.push(`login ${extra.login}`);
  if (extra.host) bits.push(`host ${extra.host}`);
  if (extra.session !== undefined) bits.push(`session ${extra.session}`);
  return bits.join(', ');
}

// Real SQL Server: the lock's row in sys.dm_tran_locks names the first 32 characters of the resource.
const WHO_REAL = `SELECT TOP (1) s.program_name, s.host_name, s.login_name AS login, s.session_id
FROM sys.dm_tran_locks l JOIN sys.dm_exec_sessions s ON s.session_id = l.request_session_id
WHERE l.resource_type = N'APPLICATION' AND l.request_owner_type = N'SESSION'
  AND l.resource_database_id = DB_ID() AND l.request_session_id <> @@SPID
  AND CHARINDEX(N'[' + LEFT(@resource, 32) + N']', l.resource_description) > 0;`;
const WHO_LAB = `SELECT TOP (1) program_name, host_name, login, session_id FROM lab.applocks
WHERE resource = @resource AND replica = @@SERVERNAME AND database_name = DB_NAME() AND session_id <> @@SPID;`;

/**
 * Who holds `resource` on this server, in words; never throws. `wave`: the holder is a wave's
 * shared lock session, whose lock on a link goes when the wave's run of that link ends (the
 * wave's process may go on for its other links).
 */
export async function whoHolds(pool: ConnectionPool, resource: string): Promise<{ described: string; wave: boolean }> {
  for (const query of [WHO_REAL, WHO_LAB]) {
    try {
      const rows = (await runSql(pool, query, { resource })).recordset ?? [];
      const r = rows[0] as Record<string, unknown> | undefined;
      if (r) {
        const programName = String(r.program_name ?? '');
        const described = describeHolder(programName, { host: String(r.host_name ?? ''), login: String(r.login ?? ''), session: Number(r.session_id) });
        return { described, wave: parseHolderAppName(programName)?.runId.startsWith(WAVE_PREFIX) === true };
      }
    } catch {
      // Not this kind of server (or no VIEW SERVER STATE): try the next way of asking.
    }
  }
  return { described: 'another session (its holder could not be read)', wave: false };
}
