// The lab's inventory without a running lab: the same names as startLab's, with placeholder
// addresses, for `runbook plan --lab` (which starts nothing). Imports nothing of the servers.
// The lab is a server: it states the shape it hands out here, in its own terms, and imports
// nothing of the engine. Anything may read it; the engine checks that it reads as an inventory
// (engine/commands/prepare.ts, `inventoryFromLab`).
import { fleetLinkNames, LAB_DATABASE, LAB_ENV, LAB_RESOURCE_GROUP, LAB_SUBSCRIPTION, LAB_USER, linkNames, type LinkNames } from './model/names.js';

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
  /** A fleet lab's link: sql01 and sqlmi1 shared, database SalesDb<n>. */
  fleet?: boolean;
}

/** A fleet lab's inventory: the two shared servers declared once, one entry per link. */
export interface LabFleetInventory {
  sqlServers: Record<string, { name: string; connection: LabConnection }>;
  managedInstances: Record<string, { name: string; resourceGroup: string; subscriptionId: string; tier: LabTier; fqdn: string; connection: LabConnection }>;
  links: Array<{ name: string; database: string; agName: string; sqlServer: string; managedInstance: string }>;
  arm: LabInventory['arm'];
}

/** The fleet inventory of `links` links on one SQL Server and one managed instance. */
export function labFleetInventory(links: number, o: Omit<LabInventoryOptions, 'names' | 'fleet'> = {}): LabFleetInventory {
  const each = Array.from({ length: links }, (_, i) => labInventory(i, { ...o, fleet: true }));
  const first = each[0]!.link;
  return {
    sqlServers: { [first.sqlServer.name]: { name: first.sqlServer.name, connection: first.sqlServer.connection } },
    managedInstances: { [first.managedInstance.name]: { ...first.managedInstance } },
    links: each.map(({ link }) => ({ name: link.name, database: link.database, agName: link.sqlServer.agName, sqlServer: link.sqlServer.name, managedInstance: link.managedInstance.name })),
    arm: each[0]!.arm,
  };
}

export function labInventory(linkIndex = 0, o: LabInventoryOptions = {}): LabInventory {
  const names = { ...(o.fleet ? fleetLinkNames(linkIndex) : linkNames(linkIndex)), ...o.names };
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
      database: names.database ?? LAB_DATABASE,
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
