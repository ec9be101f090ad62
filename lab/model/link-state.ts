// The plain records a link's state is made of (replicas, in-flight transactions, the ledger,
// backup history, the link's identity), kept apart from the LinkModel that moves them on in time.
import type { LinkRole, Side, Tier } from './types.js';

export interface ReplicaState {
  side: Side;
  /** SERVERPROPERTY('ServerName'), e.g. sql01 or sqlmi1. */
  serverName: string;
  /** The DAG member (availability group) this replica is: ag1 on SQL Server, the MI's AG (by default its name) on the MI. */
  memberName: string;
  role: LinkRole;
  /** Whether this side still has the DAG (the link) in its metadata. */
  dagPresent: boolean;
  /** Whether the local availability group (the DAG member) still exists. */
  agPresent: boolean;
  /** Last log block written locally (on a primary: the last commit). */
  endOfLog: bigint;
  /** Last log block hardened locally (on a secondary: what it has received and hardened). */
  hardened: bigint;
  lastCommitTime: Date;
  lastHardenedTime: Date;
  /** Set by BACKUP LOG ... WITH NORECOVERY until the replica becomes a secondary. */
  restoring: boolean;
  /**
   * A secondary whose data movement is suspended (is_suspended = 1, SUSPEND_FROM_PARTNER), as a
   * forced failover leaves the former primary (MicrosoftDocs/sql-docs, perform-a-forced-manual-
   * failover-of-an-availability-group-sql-server.md: "transition into the SUSPENDED state").
   */
  suspended: boolean;
  /** When it resumes by itself (scenario replication.resumeAfterSuspendMs); undefined: only SET HADR RESUME resumes it. */
  resumeAt?: number;
  /** Where its log stands once resumed: the survivor's log at the fork; its own divergent tail is rolled back. */
  resyncTo?: bigint;
}

export interface Transaction {
  lsn: bigint;
  at: number;
}

export interface LedgerEntry {
  link: string;
  committed: number;
  lost: number;
  lastCommittedLsn: bigint;
}

export interface BackupRecord {
  id: number;
  side: Side;
  database: string;
  /** msdb's backupset.type: D full, I differential, L log. */
  type: 'D' | 'I' | 'L';
  isCopyOnly: boolean;
  /** The TO DISK / TO URL target as given, or `automatic` for the MI's own backups. */
  device: string;
  start: Date;
  finish: Date;
  firstLsn: bigint;
  lastLsn: bigint;
}

export interface LinkIdentity {
  index: number;
  name: string;
  database: string;
  databaseId: number;
  sqlServerName: string;
  agName: string;
  miName: string;
  /** The MI side's availability group: the DAG member ARM calls instanceAvailabilityGroupName. */
  miAgName: string;
  resourceGroup: string;
  subscriptionId: string;
  sqlVersion: string;
  tier: Tier;
}

/** A replica as the link starts: a secondary whose log ends at `base`, both DAG and AG present. */
export function initialReplica(id: LinkIdentity, side: Side, base: bigint, start: number): ReplicaState {
  return {
    side,
    serverName: side === 'sqlServer' ? id.sqlServerName : id.miName,
    memberName: side === 'sqlServer' ? id.agName : id.miAgName,
    role: 'SECONDARY',
    dagPresent: true,
    agPresent: true,
    endOfLog: base,
    hardened: base,
    lastCommitTime: new Date(start),
    lastHardenedTime: new Date(start),
    restoring: false,
    suspended: false,
  };
}
