// The run's connections: one mssql pool per replica, opened on first use and kept for the run,
// and one ARM client. mssql and the ARM module are imported lazily, inside the first call, so
// the registry, `validate` and `plan` never load a driver.
import type { ConnectionPool } from 'mssql';
import type { SqlManagementClient } from '@azure/arm-sql';
import { GuardRefusal, StepFailure } from '../core/errors.js';
import {
  describeObservations,
  judgeRoles,
  loneSecondary,
  observeRoles,
  type RoleObservation,
} from './sql/roles.js';
import type { ServerSessions } from './sql/server-sessions.js';
import type { ArmShared } from './arm/shared-pipeline.js';
import { classifyConnectFailureProbed, describeConnectError, passwordFor, poolConfig } from './sql/pool.js';
import { classifyConnectFailure, ConnectionSetupError, type ConnectFailure } from './sql/connect-failure.js';
import { keepFirstLogin } from './sql/kept-login.js';
import { mssqlPackage } from './packages.js';
import type { Inventory, ReplicaSide, ReplicaTarget, RunResources } from '../core/types.js';

export interface RunResourcesOptions {
  env: NodeJS.ProcessEnv;
  /** Where a pool's errors outside any request are said (the run's log). */
  log?: { warn(message: string): void };
  /**
   * A wave's sessions per server (engine/drivers/sql/server-sessions.ts), which this run borrows
   * instead of opening its own; absent, the run has its own session per replica.
   */
  sessions?: ServerSessions;
  /** A wave's ARM HTTP client and credentials, which this run's ARM client uses (engine/drivers/arm/shared-pipeline.ts). */
  arm?: ArmShared;
  /** The run's interrupt: it ends a wait for one of a wave's sessions (the live check) at once. */
  signal?: AbortSignal;
}

/**
 * A replica the run could not connect to; the message says where and what to check, `unreachable`
 * whether it never answered (engine/drivers/sql/pool.ts classifyConnectFailureProbed) or answered
 * (or accepted the TCP connection) and refused or ignored us.
 */
export class ReplicaConnectError extends Error {
  readonly unreachable: boolean;
  readonly reason: string;
  constructor(
    readonly side: ReplicaSide,
    message: string,
    readonly code?: string,
    failure: ConnectFailure = { unreachable: false, reason: message },
  ) {
    super(message);
    this.name = 'ConnectionError';
    this.unreachable = failure.unreachable;
    this.reason = failure.reason;
  }
}

export interface LinkRunResources extends RunResources {
  /** What each replica said about its role at the last check (cached until invalidateRoles). */
  observeRoles(): Promise<RoleObservation[]>;
}

export function createRunResources(inventory: Inventory, opts: RunResourcesOptions): LinkRunResources {
  const pools = new Map<ReplicaSide, Promise<ConnectionPool>>();
  let armClient: Promise<SqlManagementClient> | undefined;
  let roles: Promise<RoleObservation[]> | undefined;
  let closed = false;

  function specOf(side: ReplicaSide) {
    return side === 'sqlServer' ? inventory.link.sqlServer.connection : inventory.link.managedInstance.connection;
  }

  /** The wave's servers this run has found live (its first ask of each: the connect preflight's). */
  const checkedLive = new Map<ReplicaSide, Promise<void>>();

  async function open(side: ReplicaSide): Promise<ConnectionPool> {
    const spec = specOf(side);
    if (opts.sessions) {
      const sessions = opts.sessions;
      try {
        let live = checkedLive.get(side);
        if (!live) {
          live = sessions.live(side, spec, opts.env, opts.signal);
          checkedLive.set(side, live);
          // A server not live now is asked again by the run's next call, as a run's own pool is opened again.
          live.catch(() => checkedLive.get(side) === live && checkedLive.delete(side));
        }
        await live;
        return await sessions.borrower(side, spec, opts.env);
      } catch (error) {
        if (error instanceof ConnectionSetupError || opts.signal?.aborted) throw error;
        const failure = classifyConnectFailure(error);
        throw new ReplicaConnectError(side, (error as Error).message, (error as { code?: string }).code, failure);
      }
    }
    const config = poolConfig(side, spec, opts.env);
    const mssql = mssqlPackage();
    const pool = keepFirstLogin(new mssql.ConnectionPool(config));
    // A pool emits 'error' for failures outside a request; unhandled, that would end the process.
    pool.on('error', (error: Error) => opts.log?.warn(describeConnectError(side, spec, error, config.password)));
    try {
      await pool.connect();
    } catch (error) {
      const code = (error as { code?: string }).code;
      // A login timeout is asked again of the network: did the TCP connect itself succeed?
      const failure = await classifyConnectFailureProbed(error, spec);
      throw new ReplicaConnectError(side, describeConnectError(side, spec, error, config.password, failure), code, failure);
    }
    return pool;
  }

  async function sql(side: ReplicaSide): Promise<ConnectionPool> {
    if (closed) throw new Error(`The run's connections are closed; cannot open ${side}.`);
    // Each caller gets its own handle on a wave's sessions: a script holding one is that step's alone.
    if (opts.sessions) return open(side);
    let pool = pools.get(side);
    if (!pool) {
      pool = open(side);
      pools.set(side, pool);
      // A failed open is forgotten so that the next call tries again (the replica may come back).
      pool.catch(() => {
        if (pools.get(side) === pool) pools.delete(side);
      });
    }
    return pool;
  }

  async function currentRoles(): Promise<RoleObservation[]> {
    if (!roles) {
      roles = observeRoles(sql, inventory.link.name);
      roles.catch(() => (roles = undefined));
    }
    return roles;
  }

  async function resolveTarget(target: ReplicaTarget): Promise<ReplicaSide> {
    if (target === 'sqlServer' || target === 'managedInstance') return target;
    const observations = await currentRoles();
    const verdict = judgeRoles(observations);
    if (verdict.ok) return target === 'primary' ? verdict.primary : verdict.secondary;
    const said = describeObservations(observations);
    if (observations.every((o) => !o.reachable)) {
      throw new StepFailure('unreachable', { target, said }, `Cannot resolve ${target}: no replica could be reached (${said}).`);
    }
    if (verdict.problem === 'split-brain') {
      throw new GuardRefusal('splitBrain', { target, said }, `Cannot resolve ${target}: both replicas say PRIMARY (split-brain): ${said}.`);
    }
    if (target === 'secondary') {
      const lone = loneSecondary(observations);
      if (lone) return lone;
    }
    throw new GuardRefusal('noPrimary', { target, said }, `Cannot resolve ${target}: no replica says PRIMARY (${said}).`);
  }

  async function arm(): Promise<SqlManagementClient> {
    if (!armClient) {
      armClient = import('./arm/client.js').then((m) => m.createArmClient(inventory, opts.env, opts.arm ? { shared: opts.arm } : {}));
      armClient.catch(() => (armClient = undefined));
    }
    return armClient;
  }

  async function close(): Promise<void> {
    closed = true;
    const open = [...pools.values()];
    pools.clear();
    await Promise.all(
      open.map(async (p) => {
        try {
          await (await p).close();
        } catch {
          // A pool that never opened or already lost its socket has nothing left to close.
        }
      }),
    );
  }

  return {
    sql,
    arm,
    resolveTarget,
    observeRoles: currentRoles,
    invalidateRoles: () => {
      roles = undefined;
    },
    close,
  };
}

export { ConnectionSetupError, passwordFor };
