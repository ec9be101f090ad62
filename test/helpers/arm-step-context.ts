// A StepRunContext for the ARM step tests: the real engine/arm.ts client (real @azure/arm-sql over
// HTTPS) against an ARM endpoint, with the log lines collected so tests can assert progress.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqlManagementClient } from '@azure/arm-sql';
import { createArmClient } from '../../engine/arm.js';
import type { Inventory, StepHistoryEntry, StepRunContext } from '../../engine/types.js';
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
  options: { history?: StepHistoryEntry[]; stepId?: string } = {},
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
