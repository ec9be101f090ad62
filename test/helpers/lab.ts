// Helpers for tests that drive a started lab with the real mssql client: connect to a replica
// with the lab's CA, run a batch, read LSNs as text, poll for a condition; start and always stop a lab.
import sql from 'mssql';
import { SqlManagementClient } from '@azure/arm-sql';
import type { Lab, StartLabOptions } from '../../lab/index.js';
import { LAB_RESOURCE_GROUP, LAB_SUBSCRIPTION } from '../../lab/model/names.js';
import type { Side } from '../../lab/model/types.js';
import { startTestLab } from './certificates.js';

/** Starts a lab, runs `body` with it and always stops it. */
export async function withStartedLab<T>(options: StartLabOptions, body: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await startTestLab(options);
  try {
    return await body(lab);
  } finally {
    await lab.stop();
  }
}

/** The real @azure/arm-sql client on the lab's ARM endpoint, with the lab's token and CA. */
export function labArmClient(lab: Lab): SqlManagementClient {
  const token = lab.env.LAB_ARM_TOKEN;
  return new SqlManagementClient({ getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3.6e6 }) }, LAB_SUBSCRIPTION, {
    endpoint: lab.endpoints.arm,
    tlsOptions: { ca: lab.ca },
    retryOptions: { retryDelayInMs: 5, maxRetryDelayInMs: 20 },
  });
}

/**
 * The MI side's copy of the link's mode, set as Update-AzSqlInstanceLink -ReplicationMode does
 * (ARM PATCH replicationMode); T-SQL MODIFY on SQL Server changes only SQL Server's copy.
 */
export async function setMiReplicationMode(lab: Lab, mode: 'Sync' | 'Async', link = 0): Promise<void> {
  const mi = lab.inventories[link].link.managedInstance;
  await labArmClient(lab).distributedAvailabilityGroups.beginUpdateAndWait(
    LAB_RESOURCE_GROUP, mi.name, lab.inventories[link].link.name, { replicationMode: mode }, { updateIntervalInMs: 10 },
  );
}

export interface ConnectOptions {
  link?: number;
  encrypt?: boolean;
  password?: string;
  database?: string;
  requestTimeout?: number;
  appName?: string;
}

export function labPoolConfig(lab: Lab, side: Side, o: ConnectOptions = {}): sql.config {
  const ep = lab.endpoints.links[o.link ?? 0][side];
  const password = o.password ?? lab.env[side === 'sqlServer' ? 'LAB_SQL_PASSWORD' : 'LAB_MI_PASSWORD'];
  return {
    server: 'localhost',
    port: ep.port,
    user: 'runbook',
    password,
    database: o.database ?? 'master',
    connectionTimeout: 3000,
    requestTimeout: o.requestTimeout ?? 5000,
    pool: { max: 1, min: 0 },
    options: {
      encrypt: o.encrypt ?? true,
      trustServerCertificate: false,
      cryptoCredentialsDetails: { ca: lab.ca },
      appName: o.appName ?? 'lab-test',
    },
  };
}

export async function connect(lab: Lab, side: Side, o: ConnectOptions = {}): Promise<sql.ConnectionPool> {
  const pool = new sql.ConnectionPool(labPoolConfig(lab, side, o));
  pool.on('error', () => {}); // a failover drops sessions; tests look at the next request's error
  return pool.connect();
}

/** Runs a batch; returns the recordsets. */
export async function run(pool: sql.ConnectionPool, text: string): Promise<Array<Array<Record<string, unknown>>>> {
  const r = await pool.request().batch(text);
  return (r.recordsets as unknown as Array<Array<Record<string, unknown>>>) ?? [];
}

/** Runs a batch that must fail; returns the SQL error number. */
export async function errorNumber(pool: sql.ConnectionPool, text: string): Promise<number> {
  try {
    await pool.request().batch(text);
  } catch (e) {
    const err = e as { number?: number; originalError?: { info?: { number?: number } } };
    return err.number ?? err.originalError?.info?.number ?? -1;
  }
  throw new Error(`expected an error from: ${text}`);
}

/** The link role this replica reports for itself (the procedure's role query). */
export async function linkRole(pool: sql.ConnectionPool, dag = 'dag1'): Promise<string | undefined> {
  const r = await pool.request().input('link', sql.NVarChar, dag).query(
    `SELECT rs.role_desc FROM sys.availability_groups ag JOIN sys.dm_hadr_availability_replica_states rs
       ON ag.group_id = rs.group_id WHERE rs.is_local = 1 AND ag.name = @link`,
  );
  return r.recordset[0]?.role_desc as string | undefined;
}

/** The availability modes of link `dag`'s replicas, as the replica `pool` is connected to reports them. */
export async function linkModes(pool: sql.ConnectionPool, dag = 'dag1'): Promise<string[]> {
  const r = await pool.request().input('link', sql.NVarChar, dag).query(
    `SELECT ar.availability_mode_desc AS mode FROM sys.availability_groups ag
       JOIN sys.availability_replicas ar ON ar.group_id = ag.group_id WHERE ag.is_distributed = 1 AND ag.name = @link`,
  );
  return r.recordset.map((row: { mode: string }) => String(row.mode));
}

/** The local DAG row's LSNs, exactly, as text. */
export async function localLsns(pool: sql.ConnectionPool): Promise<{ endOfLog: bigint; hardened: bigint | null; sync: string }> {
  const r = await pool.request().query(
    `SELECT CAST(drs.end_of_log_lsn AS varchar(30)) AS eol, CAST(drs.last_hardened_lsn AS varchar(30)) AS hardened,
            drs.synchronization_state_desc AS sync
       FROM sys.dm_hadr_database_replica_states drs
       JOIN sys.availability_groups ag ON ag.group_id = drs.group_id
      WHERE ag.is_distributed = 1 AND ag.name = 'dag1' AND drs.is_local = 1`,
  );
  const row = r.recordset[0];
  return { endOfLog: BigInt(row.eol), hardened: row.hardened === null ? null : BigInt(row.hardened), sync: row.sync };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function poll<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000, everyMs = 25): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
