// startLab: one process hosting N emulated links. Per link a SQL Server and a Managed Instance
// replica, each a TDS listener on 127.0.0.1 with TLS from a throwaway CA; one HTTPS ARM endpoint
// for all managed instances. Returns inventories that point at them and the secrets' env vars.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArmServer } from './arm/contract.js';
import { startArmServer } from './arm/server.js';
import { createArmBackend, type ArmRequestRecord } from './backend-arm.js';
import { createReplicaBackend, type ReplicaBackend } from './backend-sql.js';
import { createLabCertificates, type LabCertificates } from './certs.js';
import { labFleetInventory, labInventory, type LabFleetInventory, type LabInventory } from './inventory.js';
import type { Hold, HoldSpec } from './model/holds.js';
import { LabModel } from './model/lab-model.js';
import type { LedgerEntry, LinkModel } from './model/link.js';
import { LAB_ENV, LAB_USER, type LinkNames } from './model/names.js';
import type { StatementLogEntry } from './model/statement-log.js';
import { SIDES, type FaultSpec, type ScenarioSpec, type Side } from './model/types.js';
import { loadScenario, type ScenarioOverrides } from './scenario.js';
import { createSqlEngine } from './sql/engine.js';
import type { TdsServer } from './tds/contract.js';
import { startTdsServer } from './tds/server.js';

export { labFleetInventory, labInventory, type LabConnection, type LabFleetInventory, type LabInventory, type LabTier } from './inventory.js';
export { builtInScenarios, loadScenario, ScenarioError, type ScenarioDiagnostic, type ScenarioOverrides } from './scenario.js';
export type { FaultSpec, ScenarioSpec, Side } from './model/types.js';
export type { Hold, HoldSpec } from './model/holds.js';
export { LAB_ENV } from './model/names.js';
export { createLabCertificates, type LabCertificates } from './certs.js';

export interface StartLabOptions {
  /** A built-in scenario name (`healthy`, `lagging`, ...) or a YAML file path. Default `healthy`. */
  scenario?: string;
  /** How many links; default: the scenario's `links` (1). */
  links?: number;
  /** Where the CA and keys go; default a new temp dir, removed by stop(). */
  dir?: string;
  /** Laid over the scenario (tests: short lags, faults). */
  overrides?: ScenarioOverrides;
  /** Serve TLS (default true). Without it the listeners answer NOT_SUP to encryption. */
  tls?: boolean;
  /** Names of the first link's objects instead of dag1/ag1/sql01/sqlmi1 (hostile-name drills). */
  names?: Partial<LinkNames>;
  /** How long after a role change's (or KILL's) reply its sessions are dropped; default 30 ms. */
  dropDelayMs?: number;
  /**
   * A fleet: every link on one SQL Server (sql01) and one managed instance (sqlmi1) endpoint, as in
   * reality, each link with its own DAG, AG and database (SalesDb<n>); up to 100 links.
   */
  fleet?: boolean;
  /** A link's own scenario, by link number from 1 (e.g. { 7: 'lagging', 12: 'split-brain' }). */
  linkScenarios?: Record<number, string>;
  /** A freed session id is given to the next session, as on SQL Server (lab/backend-sql.ts); default: every session a new one. */
  reuseSessionIds?: boolean;
  /** Fixed secrets instead of random ones (secret-redaction tests), by LAB_ENV variable name. */
  secrets?: Partial<Record<(typeof LAB_ENV)[keyof typeof LAB_ENV], string>>;
  /** Certificates made once by createLabCertificates, instead of new ones (three openssl runs) for every lab: a drill starts hundreds. */
  certificates?: LabCertificates;
}

export interface LabReplicaEndpoint {
  host: string;
  port: number;
  serverName: string;
}

export interface Lab {
  /** The first link's inventory. */
  inventory: LabInventory;
  /** One inventory per link. */
  inventories: LabInventory[];
  /** The fleet inventory of a fleet lab (`fleet: true`): the shared servers once, every link. */
  fleetInventory?: LabFleetInventory;
  /** LAB_SQL_PASSWORD, LAB_MI_PASSWORD, LAB_ARM_TOKEN: not written to process.env. */
  env: Record<string, string>;
  caFile: string;
  /** The PEM of the CA (for clients configured in code). */
  ca: string;
  dir: string;
  scenario: ScenarioSpec;
  model: LabModel;
  endpoints: { arm: string; links: Array<Record<Side, LabReplicaEndpoint>> };
  /** Every statement every replica received, in order. */
  statements(): StatementLogEntry[];
  /** The ledger of one link (name or index; default the first). */
  ledger(link?: string | number): LedgerEntry;
  link(link?: string | number): LinkModel;
  armRequests(): ArmRequestRecord[];
  /** TLS connections made to the ARM endpoint so far. */
  armConnections(): number;
  /** Successful logins so far, by server name (sql01, sqlmi1, ...). */
  logins(): Record<string, number>;
  /** The most sessions each server had open at once so far, by server name. */
  peakSessions(): Record<string, number>;
  /** Keeps ARM long-running operations in progress until called with false (meet one in flight). */
  holdArmOperations(on: boolean): void;
  /** Takes a replica down (listener refuses, sessions dropped) or brings it back. */
  setDown(side: Side, down: boolean | 'refuse' | 'hang', link?: number): void;
  /**
   * Holds the next SQL (or, with `arm`, ARM) request that matches, before it acts or, with `after`,
   * once it acted with its reply kept back, until `release()`: pins a client at one moment.
   */
  hold(spec: HoldSpec): Hold;
  /** Arms one more fault now, as if the scenario had listed it (for a replica that goes down, use setDown). */
  addFault(spec: FaultSpec): void;
  stop(): Promise<void>;
}

export async function startLab(options: StartLabOptions = {}): Promise<Lab> {
  const scenario = loadScenario(options.scenario ?? 'healthy', options.overrides);
  const linkCount = options.links ?? scenario.links;
  const fleet = options.fleet === true;
  const maxLinks = fleet ? 100 : 16;
  if (!Number.isInteger(linkCount) || linkCount < 1 || linkCount > maxLinks) throw new RangeError(`links must be 1 to ${maxLinks}${fleet ? '' : ' (a fleet lab takes up to 100)'}, not ${linkCount}`);
  const perLink = new Map<number, ScenarioSpec>();
  for (const [n, name] of Object.entries(options.linkScenarios ?? {})) {
    const index = Number(n) - 1;
    if (!Number.isInteger(index) || index < 0 || index >= linkCount) throw new RangeError(`linkScenarios: there is no link ${n} in a lab of ${linkCount}`);
    perLink.set(index, loadScenario(name, options.overrides));
  }
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'runbook-lab-')));
  const tds: TdsServer[][] = [];
  const backends: ReplicaBackend[] = [];
  let arm: ArmServer | undefined;

  // Certificates first: they take the longest, and the scenario's clock starts with the model.
  const certs = options.certificates ?? await createLabCertificates(dir).catch(async (e) => {
    if (ownDir) await rm(dir, { recursive: true, force: true });
    throw e;
  });
  const model = new LabModel({
    scenario,
    links: linkCount,
    ...(options.names ? { names: (i: number) => (i === 0 ? options.names! : {}) } : {}),
    ...(options.dropDelayMs !== undefined ? { dropDelayMs: options.dropDelayMs } : {}),
    ...(fleet ? { sharedServers: true } : {}),
    ...(perLink.size ? { scenarioOf: (i: number) => perLink.get(i) } : {}),
    dropSessions: (linkIndex, side, which) =>
      tds[fleet ? 0 : linkIndex]?.[SIDES.indexOf(side)]?.dropSessions((s) => which((s as { sessionId?: number }).sessionId ?? -1)),
  });
  const secret = () => randomBytes(18).toString('base64url');
  const env: Record<string, string> = {
    [LAB_ENV.sqlPassword]: `Lab-${secret()}`,
    [LAB_ENV.miPassword]: `Lab-${secret()}`,
    [LAB_ENV.armToken]: secret() + secret(),
    [LAB_ENV.entraTenant]: '00000000-0000-4000-8000-0000000e1a01',
    [LAB_ENV.entraClient]: '00000000-0000-4000-8000-0000000c1e01',
    [LAB_ENV.entraSecret]: `Lab~${secret()}`,
    ...options.secrets,
  };

  // A replica down in 'refuse' mode stops listening, so a client's TCP connect is refused as by a
  // stopped server. Scenario windows change that on a timer at each boundary; setDown at once.
  const timers: NodeJS.Timeout[] = [];
  const syncListeners = () => {
    const now = model.clock();
    tds.forEach((pair, i) => SIDES.forEach((side, k) => pair[k]?.setListening(model.faults.downState(i, side, now) !== 'refuse')));
  };

  const stop = async () => {
    for (const t of timers) clearTimeout(t);
    await Promise.allSettled([...tds.flat().map((s) => s.close()), arm?.close()]);
    for (const b of backends) b.close();
    if (ownDir) await rm(dir, { recursive: true, force: true });
  };

  try {
    const tls = options.tls === false ? undefined : { key: certs.key, cert: certs.cert };
    for (let i = 0; i < (fleet ? 1 : linkCount); i++) {
      const pair: TdsServer[] = [];
      tds.push(pair);
      for (const side of SIDES) {
        const backend = createReplicaBackend({
          model, linkIndex: i, side, user: LAB_USER,
          ...(fleet ? { linkIndexes: model.links.map((_, k) => k) } : {}),
          password: env[side === 'sqlServer' ? LAB_ENV.sqlPassword : LAB_ENV.miPassword],
          createEngine: createSqlEngine,
          ...(options.reuseSessionIds ? { reuseSessionIds: true } : {}),
        });
        backends.push(backend);
        pair.push(await startTdsServer({ backend, tls }));
      }
    }
    syncListeners();
    const started = model.startedAt.getTime();
    for (const f of scenario.faults) {
      if (f.kind !== 'replicaDown') continue;
      for (const at of [f.fromMs ?? 0, f.untilMs]) {
        if (at === undefined) continue;
        // Just past the boundary, where downState has already turned.
        const timer = setTimeout(syncListeners, Math.max(0, started + at - model.clock()) + 5);
        timer.unref();
        timers.push(timer);
      }
    }
    const armBackend = createArmBackend(model);
    arm = await startArmServer({
      tls: { key: certs.key, cert: certs.cert },
      token: env[LAB_ENV.armToken],
      entra: { tenantId: env[LAB_ENV.entraTenant]!, clientId: env[LAB_ENV.entraClient]!, clientSecret: env[LAB_ENV.entraSecret]! },
      backend: armBackend,
      lroDurationMs: scenario.arm.lroDurationMs,
      retryAfterSeconds: scenario.arm.retryAfterSeconds,
    });
    const armServer = arm;
    const armEndpoint = arm.endpoint;
    env[LAB_ENV.entraAuthority] = armEndpoint;
    const pairOf = (i: number) => tds[fleet ? 0 : i]!;
    const inventoryOptions = (i: number) => ({
      tier: scenario.managedInstance.tier, sqlPort: pairOf(i)[0]!.port, miPort: pairOf(i)[1]!.port,
      armEndpoint, caFile: certs.caFile, encrypt: options.tls !== false,
    });
    const inventories = model.links.map((_, i) =>
      labInventory(i, { ...inventoryOptions(i), ...(fleet ? { fleet: true } : {}), ...(i === 0 && options.names ? { names: options.names } : {}) }),
    );
    const pick = (l?: string | number) => model.link(l ?? 0);
    return {
      inventory: inventories[0],
      inventories,
      ...(fleet ? { fleetInventory: labFleetInventory(linkCount, inventoryOptions(0)) } : {}),
      env,
      caFile: certs.caFile,
      ca: certs.ca,
      dir,
      scenario,
      model,
      endpoints: {
        arm: armEndpoint,
        links: model.links.map((link, i) => ({
          sqlServer: { host: pairOf(i)[0]!.host, port: pairOf(i)[0]!.port, serverName: link.replicas.sqlServer.serverName },
          managedInstance: { host: pairOf(i)[1]!.host, port: pairOf(i)[1]!.port, serverName: link.replicas.managedInstance.serverName },
        })),
      },
      statements: () => model.statementLog.all(),
      ledger: (l) => {
        const link = pick(l);
        link.advance();
        return { ...link.ledger };
      },
      link: pick,
      armRequests: () => [...armBackend.requests],
      armConnections: () => armServer.connections(),
      logins: () => Object.fromEntries(model.logins),
      peakSessions: () => Object.fromEntries(model.peakSessions),
      holdArmOperations: (on) => armServer.holdOperations(on),
      setDown: (side, down, link = 0) => {
        model.setDown(link, side, down);
        syncListeners();
      },
      hold: (spec) => model.holds.add(spec),
      addFault: (spec) => model.faults.add(spec),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
