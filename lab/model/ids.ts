// Stable GUIDs for a link's groups, replicas and databases: derived from names, so the same
// scenario shows the same ids in every run (handy when comparing a drill's output with a test's).
import { createHash } from 'node:crypto';

export function stableGuid(...parts: string[]): string {
  const h = createHash('sha1').update(parts.join('/')).digest('hex').toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-A${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface LinkIds {
  dagGroup: string;
  sqlAgGroup: string;
  miAgGroup: string;
  /** DAG members (replica_id of the DAG's two availability_replicas rows). */
  dagSqlMember: string;
  dagMiMember: string;
  /** The SQL Server AG's own replica (sql01) and the MI's local replicas (1 or 4). */
  sqlReplica: string;
  miReplicas: string[];
  /** group_database_id per group. */
  dagDatabase: string;
  sqlAgDatabase: string;
  miAgDatabase: string;
}

export function linkIds(linkName: string, localMiReplicas: number): LinkIds {
  const g = (what: string) => stableGuid(linkName, what);
  return {
    dagGroup: g('dag'),
    sqlAgGroup: g('sql-ag'),
    miAgGroup: g('mi-ag'),
    dagSqlMember: g('dag-member-sql'),
    dagMiMember: g('dag-member-mi'),
    sqlReplica: g('sql-replica'),
    miReplicas: Array.from({ length: localMiReplicas }, (_, i) => g(`mi-replica-${i}`)),
    dagDatabase: g('dag-db'),
    sqlAgDatabase: g('sql-ag-db'),
    miAgDatabase: g('mi-ag-db'),
  };
}
