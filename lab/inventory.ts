// The lab's inventory without a running lab: the same names as startLab's, with placeholder
// addresses, for `runbook plan --lab` (which starts nothing). Imports nothing of the servers.
// The lab is a server: it states the shape it hands out here, in its own terms, and imports
// nothing of the engine. Anything may read it; the engine checks that it reads as an inventory
// (engine/commands/prepare.ts, `inventoryFromLab`).
import { LAB_DATABASE, LAB_ENV, LAB_RESOURCE_GROUP, LAB_SUBSCRIPTION, LAB_USER, linkNames, type LinkNames } from './model/names.js';

export type LabTier = 'GeneralPurpose' | 'BusinessCritical';

/** How a client reaches one emulated replica: a SQL login whose password is in `passwordEnv`. */
export interface LabConnection {
  host: string;
  port: number;
  auth: 'sql';
  user: string;
  /** The environment variable that holds the password (LAB_ENV); never the password itself. */
  passwordEnv: string;
  encrypt: boolean;
  /** The PEM file of the lab's throwaway CA (set once the lab has written it). */
  caFile?: string;
}

/** One emulated link: its SQL Server and Managed Instance replicas and the ARM endpoint. */
export interface LabInventory {
  link: {
    /** The distributed availability group (the link). */
    name: string;
    database: string;
    sqlServer: { name: string; agName: string; connection: LabConnection };
    managedInstance: {
      name: string;
      resourceGroup: string;
      subscriptionId: string;
      tier: LabTier;
      fqdn: string;
      connection: LabConnection;
    };
  };
  /** A static bearer token from `tokenEnv` stands in for an Azure credential. */
  arm: { endpoint: string; credential: 'tokenEnv'; tokenEnv: string; caFile?: string };
}

export interface LabInventoryOptions {
  tier?: LabTier;
  sqlPort?: number;
  miPort?: number;
  armEndpoint?: string;
  caFile?: string;
  /** Connect without TLS (the lab serves both). */
  encrypt?: boolean;
  /** Names laid over dag1/ag1/... (startLab's `names`). */
  names?: Partial<LinkNames>;
}

export function labInventory(linkIndex = 0, o: LabInventoryOptions = {}): LabInventory {
  const names = { ...linkNames(linkIndex), ...o.names };
  const conn = (port: number, passwordEnv: string): LabConnection => ({
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
