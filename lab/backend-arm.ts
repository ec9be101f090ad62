// The ArmBackend: each link as the managed instance's `distributedAvailabilityGroups` resource.
// Mutations apply the same model transitions as the T-SQL statements, with Azure's error codes.
import { ArmError, type ArmBackend, type ArmFault, type ArmLink, type ArmOperation } from './arm/contract.js';
import type { LabModel } from './model/lab-model.js';
import type { LinkModel } from './model/link.js';
import type { Side } from './model/types.js';

export interface ArmRequestRecord {
  at: Date;
  method: string;
  path: string;
  apiVersion: string;
  status: number;
}

const role = (r: 'PRIMARY' | 'SECONDARY') => (r === 'PRIMARY' ? 'Primary' : 'Secondary');

export function createArmBackend(model: LabModel): ArmBackend & { requests: ArmRequestRecord[] } {
  const requests: ArmRequestRecord[] = [];
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const linksOf = (sub: string, rg: string, mi: string) =>
    model.links.filter((l) => same(l.id.subscriptionId, sub) && same(l.id.resourceGroup, rg) && same(l.id.miName, mi));
  const find = (a: ArmLink): LinkModel => {
    const link = linksOf(a.subscriptionId, a.resourceGroup, a.managedInstance).find((l) => same(l.name, a.name));
    if (!link || !link.replicas.managedInstance.dagPresent) {
      throw new ArmError(404, 'ResourceNotFound', `The requested resource of type 'Microsoft.Sql/managedInstances/distributedAvailabilityGroups' with name '${a.name}' was not found.`);
    }
    link.advance();
    return link;
  };
  // A role change through ARM drops what the T-SQL one does: sessions in the link's database.
  const drop = (link: LinkModel, sides: Side[]) => model.replicaContext(link.id.index, 'managedInstance').dropLinkDatabaseSessions(sides);

  return {
    requests,
    hasManagedInstance: (sub, rg, mi) => linksOf(sub, rg, mi).length > 0,
    getLink(sub, rg, mi, name) {
      const link = linksOf(sub, rg, mi).find((l) => same(l.name, name));
      if (!link || !link.replicas.managedInstance.dagPresent) return undefined;
      link.advance();
      return toArm(link);
    },
    getManagedInstance(sub, rg, mi) {
      const link = linksOf(sub, rg, mi)[0];
      if (!link) return undefined;
      const spec = link.scenario.managedInstance;
      return {
        subscriptionId: link.id.subscriptionId, resourceGroup: link.id.resourceGroup, name: link.id.miName,
        location: 'westus', tier: link.id.tier, fullyQualifiedDomainName: `${link.id.miName}.lab.database.windows.net`,
        databaseFormat: spec.databaseFormat, timezoneId: timezoneIdFor(spec.utcOffsetMinutes),
      };
    },
    listLinks: (sub, rg, mi) =>
      linksOf(sub, rg, mi).filter((l) => l.replicas.managedInstance.dagPresent).map((l) => (l.advance(), toArm(l))),
    setReplicationMode(a, mode) {
      const link = find(a);
      // The MI's copy of the DAG only (Update-AzSqlInstanceLink -ReplicationMode); SQL Server's
      // copy changes only with T-SQL there ("This command must be repeated on both the primary
      // availability group and secondary availability group instances",
      // alter-availability-group-transact-sql.md).
      link.miReplicationMode = mode;
      link.changed();
    },
    deleteLink(a) {
      find(a).removeDag('managedInstance');
    },
    failover(a, type) {
      const link = find(a);
      const mi = link.replicas.managedInstance;
      if (type === 'ForcedAllowDataLoss') {
        if (mi.role === 'PRIMARY') {
          throw new ArmError(409, 'DistributedAvailabilityGroupSetRoleInstanceAlreadyInRequestedRole', 'The managed instance already is the primary of this link.');
        }
        link.forceFailover('managedInstance');
        drop(link, ['managedInstance']);
        return;
      }
      const partner = link.replicas.sqlServer;
      if (mi.role === partner.role || !link.synchronized()) {
        throw new ArmError(409, 'DistributedAvailabilityGroupFailoverSecondariesNotSynchronizing', 'Planned failover cannot be executed if secondaries are not synchronizing.');
      }
      link.plannedFailover();
      drop(link, ['sqlServer', 'managedInstance']);
    },
    setRole(a, instanceRole, changeType) {
      const link = find(a);
      const mi = link.replicas.managedInstance;
      if (role(mi.role) === instanceRole) {
        throw new ArmError(409, 'DistributedAvailabilityGroupSetRoleInstanceAlreadyInRequestedRole', `The managed instance already is ${instanceRole.toLowerCase()} in this link.`);
      }
      if (instanceRole === 'Primary') {
        if (changeType === 'Planned') {
          throw new ArmError(409, 'DistributedAvailabilityGroupSetRolePrimaryPlannedNotSupported', 'Setting the primary role with a planned role change is not supported; use Forced.');
        }
        link.forceFailover('managedInstance');
      } else link.demote('managedInstance');
      drop(link, ['managedInstance']);
    },
    nextFault: (op: ArmOperation): ArmFault | undefined => model.faults.nextArmFault(op),
    recordRequest(entry) {
      requests.push({ at: new Date(model.clock()), ...entry });
    },
    hold: (method, path, phase) => model.holds.catch({ arm: true }, `${method} ${path}`, phase),
  };
}

export function toArm(link: LinkModel): ArmLink {
  const mi = link.replicas.managedInstance;
  const sql = link.replicas.sqlServer;
  const connected = link.connected();
  const synced = connected && link.replicating() && link.pending.length === 0;
  const lastBackup = [...link.backups].reverse().find((b) => b.side === 'managedInstance');
  return {
    subscriptionId: link.id.subscriptionId,
    resourceGroup: link.id.resourceGroup,
    managedInstance: link.id.miName,
    name: link.name,
    distributedAvailabilityGroupId: link.ids.dagGroup.toLowerCase(),
    replicationMode: link.miReplicationMode,
    instanceLinkRole: role(mi.role),
    partnerLinkRole: role(sql.role),
    partnerAvailabilityGroupName: link.id.agName,
    instanceAvailabilityGroupName: link.id.miAgName,
    partnerEndpoint: `TCP://${link.id.sqlServerName}:5022`,
    ...failoverModeOf(link),
    seedingMode: 'Automatic',
    databases: [{
      databaseName: link.id.database,
      instanceReplicaId: link.ids.dagMiMember.toLowerCase(),
      partnerReplicaId: link.ids.dagSqlMember.toLowerCase(),
      replicaState: !connected ? 'LinkDisconnected' : synced ? 'LinkSynchronizing' : 'Catchup',
      synchronizationHealth: connected && link.replicating() ? 'HEALTHY' : 'NOT_HEALTHY',
      connectedState: connected ? 'CONNECTED' : 'DISCONNECTED',
      lastReceivedLsn: mi.hardened.toString(),
      lastHardenedLsn: mi.hardened.toString(),
      lastCommitLsn: mi.endOfLog.toString(),
      lastSentLsn: (mi.role === 'PRIMARY' ? sql.hardened : mi.hardened).toString(),
      lastBackupLsn: (lastBackup?.lastLsn ?? link.baseLsn).toString(),
      lastHardenedTime: mi.lastHardenedTime.toISOString(),
    }],
  };
}

/**
 * The link's failoverMode as ARM shows it: the scenario's (`absent` leaves the property out, as the
 * spec's ListByInstance example does for one link), else Manual where SQL Server can fail the link
 * over with T-SQL (2022 CU13 or later) and None below.
 */
function failoverModeOf(link: LinkModel): Pick<ArmLink, 'failoverMode'> {
  const mode = link.scenario.arm.failoverMode;
  if (mode === 'absent') return {};
  return { failoverMode: mode ?? (link.supportsLinkFailover ? 'Manual' : 'None') };
}

/**
 * The MI's timezoneId (a Windows time zone id in Azure): `UTC`, or for the lab's fixed offsets a
 * name that says it is the lab's (no Windows zone keeps one offset all year).
 */
function timezoneIdFor(offsetMinutes: number): string {
  if (offsetMinutes === 0) return 'UTC';
  const sign = offsetMinutes > 0 ? '+' : '-';
  const h = String(Math.floor(Math.abs(offsetMinutes) / 60)).padStart(2, '0');
  const m = String(Math.abs(offsetMinutes) % 60).padStart(2, '0');
  return `Lab Standard Time (UTC${sign}${h}:${m})`;
}
