// Names of the lab's objects, shared by the model and by lab/inventory.ts (which must stay free
// of the lab's servers, so it imports only this file).

/** dag1/sql01/ag1/sqlmi1 for the first link, dag2/sql02/ag2/sqlmi2 for the second, ... */
export interface LinkNames {
  dag: string;
  sqlServer: string;
  ag: string;
  mi: string;
  /** The link's database; LAB_DATABASE unless the link shares its servers with others. */
  database?: string;
}

export function linkNames(index: number): LinkNames {
  const n = index + 1;
  return { dag: `dag${n}`, sqlServer: `sql${String(n).padStart(2, '0')}`, ag: `ag${n}`, mi: `sqlmi${n}` };
}

/**
 * A fleet lab: every link on one SQL Server (sql01) and one managed instance (sqlmi1), as a
 * company moving a whole server has it; each link its own DAG, AG and database (a database joins
 * one link, and an AG holds the databases of one link: managed-instance-link-preparation docs).
 */
export function fleetLinkNames(index: number): LinkNames {
  const n = index + 1;
  return { dag: `dag${n}`, sqlServer: 'sql01', ag: `ag${n}`, mi: 'sqlmi1', database: `SalesDb${n}` };
}

export const LAB_SUBSCRIPTION = '00000000-0000-4000-8000-00000000ab01';
export const LAB_RESOURCE_GROUP = 'rg-runbook-lab';
export const LAB_DATABASE = 'SalesDb';
export const LAB_USER = 'runbook';

/** Environment variables holding the lab's throwaway secrets. */
export const LAB_ENV = {
  sqlPassword: 'LAB_SQL_PASSWORD',
  miPassword: 'LAB_MI_PASSWORD',
  armToken: 'LAB_ARM_TOKEN',
  /** The lab's Entra ID application (a service principal): tenant, client id, secret, authority host. */
  entraTenant: 'LAB_ENTRA_TENANT_ID',
  entraClient: 'LAB_ENTRA_CLIENT_ID',
  entraSecret: 'LAB_ENTRA_CLIENT_SECRET',
  entraAuthority: 'LAB_ENTRA_AUTHORITY_HOST',
} as const;
