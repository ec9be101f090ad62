// Renders a link as the distributedAvailabilityGroups resource body of a given api-version.
// Old schema (2021-11-01-preview): one database, SQL Server as the "primary"/"source" side, with
// linkState and lastHardenedLsn at the top. New schema: roles per side and databases[] with LSNs
// as strings (they exceed 2^53, so numbers would lose digits).
import type { ArmLink, ArmLinkDatabase, ArmManagedInstance } from './contract.js';
import type { ApiVersionInfo } from './api-versions.js';

export const linkResourceType = 'Microsoft.Sql/managedInstances/distributedAvailabilityGroups';

export function linkResourceId(link: Pick<ArmLink, 'subscriptionId' | 'resourceGroup' | 'managedInstance' | 'name'>): string {
  return (
    `/subscriptions/${link.subscriptionId}/resourceGroups/${link.resourceGroup}` +
    `/providers/Microsoft.Sql/managedInstances/${link.managedInstance}/distributedAvailabilityGroups/${link.name}`
  );
}

function oldProperties(link: ArmLink): Record<string, unknown> {
  // The old API modelled a one-database link seeded from SQL Server: the partner (SQL Server)
  // side is "primary"/"source", the MI side "secondary"/"target", whatever the current roles.
  const db: ArmLinkDatabase | undefined = link.databases[0];
  return {
    targetDatabase: db?.databaseName,
    sourceEndpoint: link.partnerEndpoint,
    primaryAvailabilityGroupName: link.partnerAvailabilityGroupName,
    secondaryAvailabilityGroupName: link.instanceAvailabilityGroupName,
    replicationMode: link.replicationMode,
    distributedAvailabilityGroupId: link.distributedAvailabilityGroupId,
    sourceReplicaId: db?.partnerReplicaId,
    targetReplicaId: db?.instanceReplicaId,
    linkState: db?.replicaState,
    lastHardenedLsn: db?.lastHardenedLsn,
  };
}

function newDatabase(db: ArmLinkDatabase): Record<string, unknown> {
  return {
    databaseName: db.databaseName,
    instanceReplicaId: db.instanceReplicaId,
    partnerReplicaId: db.partnerReplicaId,
    replicaState: db.replicaState,
    synchronizationHealth: db.synchronizationHealth,
    connectedState: db.connectedState,
    lastReceivedLsn: db.lastReceivedLsn,
    lastSentLsn: db.lastSentLsn,
    lastCommitLsn: db.lastCommitLsn,
    lastHardenedLsn: db.lastHardenedLsn,
    lastHardenedTime: db.lastHardenedTime,
    lastBackupLsn: db.lastBackupLsn,
  };
}

function newProperties(link: ArmLink, api: ApiVersionInfo): Record<string, unknown> {
  return {
    distributedAvailabilityGroupName: link.name,
    distributedAvailabilityGroupId: link.distributedAvailabilityGroupId,
    replicationMode: link.replicationMode,
    partnerLinkRole: link.partnerLinkRole,
    partnerAvailabilityGroupName: link.partnerAvailabilityGroupName,
    partnerEndpoint: link.partnerEndpoint,
    instanceLinkRole: link.instanceLinkRole,
    instanceAvailabilityGroupName: link.instanceAvailabilityGroupName,
    ...(link.failoverMode === undefined ? {} : { failoverMode: link.failoverMode }),
    seedingMode: link.seedingMode,
    ...(api.hasLinkMode ? { linkMode: link.databases.length > 1 ? 'MultiDatabase' : 'SingleDatabase' } : {}),
    databases: link.databases.map(newDatabase),
  };
}

export function renderLink(link: ArmLink, api: ApiVersionInfo): Record<string, unknown> {
  return {
    id: linkResourceId(link),
    name: link.name,
    type: linkResourceType,
    properties: api.schema === 'old' ? oldProperties(link) : newProperties(link, api),
  };
}

/** A managed instance as ManagedInstances_Get (2025-01-01) returns it, with the properties the lab models. */
export function renderInstance(mi: ArmManagedInstance): Record<string, unknown> {
  const gp = mi.tier === 'GeneralPurpose';
  return {
    id: `/subscriptions/${mi.subscriptionId}/resourceGroups/${mi.resourceGroup}/providers/Microsoft.Sql/managedInstances/${mi.name}`,
    name: mi.name,
    type: 'Microsoft.Sql/managedInstances',
    location: mi.location,
    sku: { name: gp ? 'GP_Gen5' : 'BC_Gen5', tier: mi.tier, family: 'Gen5', capacity: 8 },
    properties: {
      provisioningState: 'Succeeded',
      fullyQualifiedDomainName: mi.fullyQualifiedDomainName,
      state: 'Ready',
      licenseType: 'LicenseIncluded',
      vCores: 8,
      storageSizeInGB: 256,
      collation: 'SQL_Latin1_General_CP1_CI_AS',
      timezoneId: mi.timezoneId,
      databaseFormat: mi.databaseFormat,
    },
  };
}
