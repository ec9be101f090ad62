// One operator per link: a session-owned application lock (sp_getapplock, @LockOwner = 'Session',
// @LockTimeout = 0) on every reachable replica, held on a dedicated connection per replica that
// lives for the whole run. The server releases it when the session ends, so a crashed or killed
// run never leaves a stuck lock. The holder is told by the connection's program name
// (`runbook <run-id> <user>@<host> since <iso>`), which a refused run reads back from
// sys.dm_exec_sessions (real servers) or lab.applocks (the lab).
//
// The dedicated connection is its own one-connection mssql pool with no idle timeout: a shared
// pool may close an idle connection and silently drop the lock. Role changes can still end the
// session (the lab drops sessions on FAILOVER; a real server may too), so the run calls ensure()
// at every step boundary: a lost lock is taken again, and if another run took it meanwhile the
// run stops (exit 3).
import { createHash } from 'node:crypto';
import type { ConnectionPool } from 'mssql';
import { ExitError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { classifyConnectFailure, describeConnectError, poolConfig, runSql } from './sql-pool.js';
import type { Inventory, ReplicaSide } from './types.js';

export interface LockHolder {
  runId: string;
  user: string;
  host: string;
  /** ISO time the run started. */
  since: string;
}

export interface LinkLock {
  resource: string;
  held: ReplicaSide[];
  unreachable: Array<{ side: ReplicaSide; error: string }>;
  /** Takes the lock again where its session ended; throws LockRefused if someone else has it now. */
  ensure(): Promise<void>;
  release(): Promise<void>;
}

export class LockRefused extends ExitError {
  constructor(message: string) {
    super(ExitCode.refused, message);
    this.name = 'LockRefused';
  }
}

const SIDES: readonly ReplicaSide[] = ['sqlServer', 'managedInstance'];

/** `runbook:link:<dag>`; long names are shortened with a hash (sp_getapplock takes 255 characters). */
export function lockResource(linkName: string): string {
  const plain = `runbook:link:${linkName}`;
  if (plain.length <= 200) return plain;
  return `runbook:link:${linkName.slice(0, 120)}#${createHash('sha256').update(linkName).digest('hex').slice(0, 16)}`;
}

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
  if (h) return `run ${h.runId} of ${h.user} on host ${h.host}, since ${h.since}`;
  const bits = [programName ? `program "${programName}"` : 'another session'];
  if (extra.login) bits.push(`login ${extra.login}`);
  if (extra.host) bits.push(`host ${extra.host}`);
  if (extra.session !== undefined) bits.push(`session ${extra.session}`);
  return bits.join(', ');
}

const TAKE = `EXEC sp_set_session_context @key = N'description', @value = @holder;
DECLARE @r int;
EXEC @r = sp_getapplock @Resource = @resource, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;
SELECT @r AS result;`;

// Real SQL Server: the lock's row in sys.dm_tran_locks names the first 32 characters of the resource.
const WHO_REAL = `SELECT TOP (1) s.program_name, s.host_name, s.login_name AS login, s.session_id
FROM sys.dm_tran_locks l JOIN sys.dm_exec_sessions s ON s.session_id = l.request_session_id
WHERE l.resource_type = N'APPLICATION' AND l.request_owner_type = N'SESSION'
  AND CHARINDEX(N'[' + LEFT(@resource, 32) + N']', l.resource_description) > 0;`;
const WHO_LAB = `SELECT TOP (1) program_name, host_name, login, session_id FROM lab.applocks WHERE resource = @resource;`;

async function whoHolds(pool: ConnectionPool, resource: string): Promise<string> {
  for (const query of [WHO_REAL, WHO_LAB]) {
    try {
      const rows = (await runSql(pool, query, { resource })).recordset ?? [];
      const r = rows[0] as Record<string, unknown> | undefined;
      if (r) {
        return describeHolder(String(r.program_name ?? ''), {
          host: String(r.host_name ?? ''),
          login: String(r.login ?? ''),
          session: Number(r.session_id),
        });
      }
    } catch {
      // Not this kind of server (or no VIEW SERVER STATE): try the next way of asking.
    }
  }
  return 'another session (its holder could not be read)';
}

export interface AcquireOptions {
  env: NodeJS.ProcessEnv;
  holder: LockHolder;
  /** Told when a lock's session ended and the lock was taken again. */
  info?(message: string): void;
  /** Told when a lost lock cannot be taken again (the replica is unreachable). */
  warn?(message: string): void;
}

export async function acquireLinkLock(inventory: Inventory, opts: AcquireOptions): Promise<LinkLock> {
  const resource = lockResource(inventory.link.name);
  const appName = holderAppName(opts.holder);
  const pools = new Map<ReplicaSide, ConnectionPool>();
  const lost = new Set<ReplicaSide>();
  const unreachable: Array<{ side: ReplicaSide; error: string }> = [];
  const mssql = (await import('mssql')).default;

  async function open(side: ReplicaSide): Promise<ConnectionPool> {
    const spec = side === 'sqlServer' ? inventory.link.sqlServer.connection : inventory.link.managedInstance.connection;
    const config = poolConfig(side, spec, opts.env);
    config.options = { ...config.options, appName };
    config.pool = { min: 0, max: 1, idleTimeoutMillis: 2 ** 31 - 1 };
    // The lock lives and dies with this one connection: note when it ends.
    (config as { beforeConnect?: (c: { on(e: string, f: () => void): void }) => void }).beforeConnect = (conn) =>
      conn.on('end', () => lost.add(side));
    const pool = new mssql.ConnectionPool(config);
    pool.on('error', () => lost.add(side));
    try {
      await pool.connect();
    } catch (error) {
      await pool.close().catch(() => undefined);
      // Carries the classification: only a replica that never answered may go unlocked.
      throw Object.assign(new Error(describeConnectError(side, spec, error, config.password)), classifyConnectFailure(error));
    }
    return pool;
  }

  async function take(side: ReplicaSide, pool: ConnectionPool): Promise<void> {
    const rows = (await runSql(pool, TAKE, { holder: appName, resource })).recordset ?? [];
    const code = Number((rows[0] as Record<string, unknown> | undefined)?.result);
    if (code === 0 || code === 1) return;
    if (code === -1 || code === -2) {
      const who = await whoHolds(pool, resource);
      throw new LockRefused(
        `link ${inventory.link.name} is locked by ${who} (lock ${resource} on ${side}). Only one run may drive a link at a time; nothing was changed by this run. Wait for that run to end (the lock goes when its process ends), or see \`runbook runs\` on its host.`,
      );
    }
    throw new LockRefused(`could not lock link ${inventory.link.name} on ${side}: sp_getapplock returned ${Number.isNaN(code) ? 'nothing' : code}. Nothing was changed.`);
  }

  const closeAll = async () => {
    const all = [...pools.values()];
    pools.clear();
    await Promise.all(all.map((p) => p.close().catch(() => undefined)));
  };

  const results = await Promise.allSettled(
    SIDES.map(async (side) => {
      let pool: ConnectionPool;
      try {
        pool = await open(side);
      } catch (error) {
        if (!classifyConnectFailure(error).unreachable) throw error;
        unreachable.push({ side, error: (error as Error).message });
        return;
      }
      pools.set(side, pool);
      await take(side, pool);
    }),
  );
  const refusal = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (refusal) {
    await closeAll();
    throw refusal.reason;
  }
  lost.clear();

  return {
    resource,
    held: SIDES.filter((s) => pools.has(s)),
    unreachable,
    async ensure() {
      for (const side of [...lost]) {
        const pool = pools.get(side);
        if (!pool) continue;
        lost.delete(side);
        try {
          await take(side, pool);
          opts.info?.(`the lock's session on ${side} had ended; lock ${resource} taken again`);
        } catch (error) {
          if (error instanceof LockRefused) {
            await closeAll();
            throw new LockRefused(`lost the lock of link ${inventory.link.name} on ${side} and could not take it again: ${error.message}`);
          }
          lost.add(side);
          opts.warn?.(`the lock's session on ${side} ended and ${side} cannot be reached to take it again (${(error as Error).message})`);
        }
      }
    },
    release: closeAll,
  };
}
