// The lab's inventory without a running lab: the same names as startLab's, with placeholder
// addresses, for `runbook plan --lab` (which starts nothing). Imports nothing of the servers.
import type { ConnectionSpec, Inventory } from '../engine/core/types.js';
import { LAB_DATABASE, LAB_ENV, LAB_RESOURCE_GROUP, LAB_SUBSCRIPTION, LAB_USER, linkNames, type LinkNames } from './model/names.js';

export interface LabInventoryOptions {
  tier?: 'GeneralPurpose' | 'BusinessCritical';
  sqlPort?: number;
  miPort?: number;
  armEndpoint?: string;
  caFile?: string;
  /** Connect without TLS (the lab serves both). */
  encrypt?: boolean;
  /** Names laid over dag1/ag1/... (startLab's `names`). */
  names?: Partial<LinkNames>;
}

export function labInventory(linkIndex = 0, o: LabInventoryOptions = {}): Inventory {
  const names = { ...linkNames(linkIndex), ...o.names };
  const conn = (port: number, passwordEnv: string): ConnectionSpec => ({
    host: 'localhost',
    port,
    auth: 'sql',
    user: LAB_USER,
    passwordEnv,
    encrypt: o.encrypt ?? true,
    ...(o.caFile ? { caFile: o.caFile } : {}),
  });
  return {
    link: {
      name: names.dag,
      database: LAB_DATABASE,
      sqlServer: { name: names.sqlServer, agName: names.ag, connection: conn(o.sqlPort ?? 0, LAB_ENV.sqlPassword) },
      managedInstance: {
        name: names.mi,
        resourceGroup: LAB_RESOURCE_GROUP,
        subscriptionId: LAB_SUBSCRIPTION,
        tier: o.tier ?? 'GeneralPurpose',
        fqdn: `${names.mi}.lab.database.windows.net`,
        connection: conn(o.miPort ?? 0, LAB_ENV.miPassword),
      },
    },
    arm: {
      endpoint: o.armEndpoint ?? 'https://localhost:0',
      credential: 'tokenEnv',
      tokenEnv: LAB_ENV.armToken,
      ...(o.caFile ? { caFile: o.caFile } : {}),
    },
  };
}
