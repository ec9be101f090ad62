// A StepRunContext for the ARM step tests: the real engine/drivers/arm/client.ts client (real @azure/arm-sql over
// HTTPS) against an ARM endpoint, with the log lines collected so tests can assert progress.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqlManagementClient } from '@azure/arm-sql';
import type { Test } from 'uvu';
import { createArmClient } from '../../engine/drivers/arm/client.js';
import type { Impact, Inventory } from '../../engine/core/types.js';
import type { StepHistoryEntry, StepRunContext } from '../../engine/step-api/types.js';
import { managedInstance, resourceGroup, subscriptionId, token, type ArmFixture } from './arm-backend.js';

export interface CollectedLog {
  progress: string[];
  info: string[];
  warn: string[];
}

/** Short pipeline retries so fault tests stay fast; the retry count stays Azure's default (3). */
export const fastRetryEnv = { RUNBOOK_ARM_RETRY_DELAY_MS: '5', RUNBOOK_ARM_MAX_RETRY_DELAY_MS: '20' };

/** An inventory for the plain ARM fixture's managed instance, with the CA written to a file. */
export async function fixtureInventory(fixture: ArmFixture, linkName = 'dag_sales'): Promise<{ inventory: Inventory; env: NodeJS.ProcessEnv }> {
  const dir = await mkdtemp(join(tmpdir(), 'arm-step-'));
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, fixture.ca);
  const inventory: Inventory = {
    link: {
      name: linkName,
      database: 'sales',
      sqlServer: { name: 'sql01', agName: 'AG_sales', connection: { host: '127.0.0.1' } },
      managedInstance: {
        name: managedInstance,
        resourceGroup,
        subscriptionId,
        tier: 'GeneralPurpose',
        connection: { host: '127.0.0.1' },
      },
    },
    arm: { endpoint: fixture.endpoint, credential: 'tokenEnv', tokenEnv: 'LAB_ARM_TOKEN', caFile },
  };
  return { inventory, env: { LAB_ARM_TOKEN: token, ...fastRetryEnv } };
}

export interface ArmStepContext extends StepRunContext {
  logs: CollectedLog;
  abort(): void;
  client(): Promise<SqlManagementClient>;
}

export function armStepContext(
  inventory: Inventory,
  env: NodeJS.ProcessEnv,
  /** `impact`: what the engine would have resolved (the ARM steps that change the link: change, the default). */
  options: { history?: StepHistoryEntry[]; stepId?: string; impact?: Impact } = {},
): ArmStepContext {
  const logs: CollectedLog = { progress: [], info: [], warn: [] };
  const controller = new AbortController();
  let client: Promise<SqlManagementClient> | undefined;
  const arm = () => (client ??= createArmClient(inventory, { ...fastRetryEnv, ...env }));
  return {
    stepId: options.stepId ?? 'arm-step',
    runId: 'test-run',
    inventory,
    inputs: {},
    impact: options.impact ?? 'change',
    log: {
      progress: (m) => logs.progress.push(m),
      info: (m) => logs.info.push(m),
      warn: (m) => logs.warn.push(m),
    },
    signal: controller.signal,
    sql: () => Promise.reject(new Error('The ARM steps do not use SQL connections.')),
    arm,
    resolveTarget: () => Promise.reject(new Error('The ARM steps do not resolve targets.')),
    outputs: {},
    history: options.history ?? [],
    env,
    logs,
    abort: () => controller.abort(),
    client: arm,
  };
}

/** Runs a child Node process that imports `modulePath` and reports which @azure modules got loaded. */
export async function azureModulesLoadedBy(modulePath: string): Promise<{ loaded: string[]; error?: string }> {
  const { spawn } = await import('node:child_process');
  const { pathToFileURL } = await import('node:url');
  const dir = await mkdtemp(join(tmpdir(), 'azure-probe-'));
  const hooks = join(dir, 'hooks.mjs');
  // ESM imports go through the resolve hook (it runs off-thread, so it writes to a file);
  // CommonJS requires land in require.cache, read after the import.
  const log = join(dir, 'resolved.txt');
  await writeFile(
    hooks,
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.includes('/@azure/')) appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}
`,
  );
  const probe = `
import { register, createRequire } from 'node:module';
import { readFileSync, existsSync } from 'node:fs';
register(${JSON.stringify(pathToFileURL(hooks).href)});
await import(${JSON.stringify(pathToFileURL(modulePath).href)});
const cjs = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('/@azure/'));
const esm = existsSync(${JSON.stringify(log)}) ? readFileSync(${JSON.stringify(log)}, 'utf8').split('\\n').filter(Boolean) : [];
process.stdout.write(JSON.stringify([...esm, ...cjs]));
`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', probe], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      if (code !== 0) return resolve({ loaded: [], error: err || `exit ${code}` });
      resolve({ loaded: JSON.parse(out || '[]') as string[] });
    });
  });
}

/** What the ARM step tests need from a lab: an inventory, the link's state, faults, the request log. */
export interface ArmWorld {
  inventory: Inventory;
  env: NodeJS.ProcessEnv;
  /** The link as the lab holds it (undefined when deleted). */
  link(): { instanceLinkRole: string; partnerLinkRole: string; synchronized: boolean } | undefined;
  requests(): Array<{ method: string; path: string; status: number }>;
  stop(): Promise<void>;
}

export interface LabWorldOptions {
  scenario?: string;
  /** How long the lab's long-running operations stay InProgress (default 20 ms). */
  lroDurationMs?: number;
  faults?: import('../../lab/model/types.js').FaultSpec[];
  /** Laid over the scenario's `arm` (e.g. the link's failoverMode). */
  arm?: { failoverMode?: 'Manual' | 'None' | 'absent' };
  /** Laid over the scenario's `managedInstance` (e.g. its databaseFormat). */
  managedInstance?: { databaseFormat?: 'SQLServer2022' | 'SQLServer2025' | 'AlwaysUpToDate' };
}

/** An ArmWorld over the whole lab (startLab): the link model answers ARM as it answers T-SQL. */
export async function startLabWorld(options: LabWorldOptions = {}): Promise<ArmWorld & { lab: import('../../lab/index.js').Lab }> {
  const { startTestLab } = await import('./certificates.js');
  const lab = await startTestLab({
    scenario: options.scenario ?? 'healthy',
    overrides: {
      arm: { lroDurationMs: options.lroDurationMs ?? 20, retryAfterSeconds: 0, ...options.arm },
      faults: options.faults ?? [],
      ...(options.managedInstance ? { managedInstance: options.managedInstance } : {}),
    },
  });
  const role = (r: string) => (r === 'PRIMARY' ? 'Primary' : 'Secondary');
  return {
    lab,
    inventory: lab.inventory,
    env: { ...lab.env, ...fastRetryEnv },
    link: () => {
      const l = lab.link();
      if (!l.replicas.managedInstance.dagPresent) return undefined;
      return {
        instanceLinkRole: role(l.replicas.managedInstance.role),
        partnerLinkRole: role(l.replicas.sqlServer.role),
        synchronized: l.synchronized(),
      };
    },
    requests: () => lab.armRequests().map((r) => ({ method: r.method, path: r.path, status: r.status })),
    stop: () => lab.stop(),
  };
}

/**
 * For a test file whose tests each start their own lab world: returns the starter and, after each
 * test, stops the world that test started.
 */
export function labWorldPerTest(suite: Test): (options?: LabWorldOptions) => ReturnType<typeof startLabWorld> {
  let world: Awaited<ReturnType<typeof startLabWorld>> | undefined;
  suite.after.each(async () => {
    await world?.stop();
    world = undefined;
  });
  return async (options = {}) => (world = await startLabWorld(options));
}

/**
 * Switches the link to synchronous commit on both sides, as the procedure's scripts do: T-SQL
 * MODIFY on SQL Server (its copy of the DAG) and Update-AzSqlInstanceLink's PATCH (the MI's copy,
 * here through arm-sql 10.0.0).
 */
export async function setSyncOnBothSides(world: ArmWorld & { lab: import('../../lab/index.js').Lab }): Promise<void> {
  const { connect, run } = await import('./lab.js');
  const pool = await connect(world.lab, 'sqlServer');
  try {
    await run(pool, `ALTER AVAILABILITY GROUP [${world.inventory.link.name}] MODIFY AVAILABILITY GROUP ON
      N'${world.inventory.link.sqlServer.agName}' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT),
      N'${world.inventory.link.managedInstance.name}' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)`);
  } finally {
    await pool.close();
  }
  const client = await createArmClient(world.inventory, world.env);
  const mi = world.inventory.link.managedInstance;
  await client.distributedAvailabilityGroups.beginUpdateAndWait(mi.resourceGroup, mi.name, world.inventory.link.name, { replicationMode: 'Sync' }, { updateIntervalInMs: 10 });
}
