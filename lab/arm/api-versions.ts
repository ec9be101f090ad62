// The api-versions the lab answers for distributedAvailabilityGroups, and what each one can do.
// 2021-11-01-preview is what @azure/arm-sql 10.0.0 pins (old schema); the rest use the schema with
// instanceLinkRole and databases[]. setRole arrived in 2022-05-01-preview and failover in
// 2023-08-01, so the old version has neither.
export type LinkSchema = 'old' | 'new';

export interface ApiVersionInfo {
  version: string;
  schema: LinkSchema;
  hasSetRole: boolean;
  hasFailover: boolean;
  /** 2025-08-01-preview adds `linkMode` to the resource. */
  hasLinkMode: boolean;
}

export const supportedApiVersions: readonly ApiVersionInfo[] = [
  { version: '2021-11-01-preview', schema: 'old', hasSetRole: false, hasFailover: false, hasLinkMode: false },
  { version: '2023-08-01', schema: 'new', hasSetRole: true, hasFailover: true, hasLinkMode: false },
  { version: '2025-01-01', schema: 'new', hasSetRole: true, hasFailover: true, hasLinkMode: false },
  { version: '2025-02-01-preview', schema: 'new', hasSetRole: true, hasFailover: true, hasLinkMode: false },
  { version: '2025-08-01-preview', schema: 'new', hasSetRole: true, hasFailover: true, hasLinkMode: true },
];

/** ARM compares api-versions case-insensitively. */
export function findApiVersion(value: string): ApiVersionInfo | undefined {
  const wanted = value.toLowerCase();
  return supportedApiVersions.find((v) => v.version === wanted);
}

export function versionsWith(feature: 'hasSetRole' | 'hasFailover'): string[] {
  return supportedApiVersions.filter((v) => v[feature]).map((v) => v.version);
}

/**
 * The api-versions the lab answers for the managed instance resource itself (ManagedInstances_Get):
 * only 2025-01-01, the one the engine sends and whose `databaseFormat` knows SQLServer2025
 * (azure-rest-api-specs, Microsoft.Sql/stable/2025-01-01/ManagedInstances.json). The lab serves
 * no other version of this resource, so it answers none.
 */
export const instanceApiVersions: readonly string[] = ['2025-01-01'];
