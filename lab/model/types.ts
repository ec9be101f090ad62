// The lab's scenario, as the model consumes it after loading, validation and defaults
// (lab/scenario.ts). schemas/scenario.schema.json describes the same shape for YAML authors.
import type { ArmOperation } from '../arm/contract.js';

export type Side = 'sqlServer' | 'managedInstance';
export type LinkRole = 'PRIMARY' | 'SECONDARY';
export type AvailabilityMode = 'SYNCHRONOUS_COMMIT' | 'ASYNCHRONOUS_COMMIT';
export type Tier = 'GeneralPurpose' | 'BusinessCritical';
export type DatabaseFormat = 'SQLServer2022' | 'SQLServer2025' | 'AlwaysUpToDate';

export type ReplicationMode = 'Async' | 'Sync';

/** A second link of SQL Server's database (see ScenarioSpec.sqlServer.otherLinks). */
export interface OtherLinkSpec {
  /** Its distributed AG's name. */
  name: string;
  /** How many of SQL Server's transactions its managed instance has not hardened. */
  behindTransactions: number;
}

export const SIDES: readonly Side[] = ['sqlServer', 'managedInstance'];

export function otherSide(side: Side): Side {
  return side === 'sqlServer' ? 'managedInstance' : 'sqlServer';
}

/** SQL faults apply to every link unless `link` (0-based) says which. */
export type FaultSpec =
  /** The replica's listener refuses (or never answers) new connections in [fromMs, untilMs). */
  | { kind: 'replicaDown'; replica: Side; link?: number; fromMs?: number; untilMs?: number; mode?: 'refuse' | 'hang' }
  /**
   * The Nth statement matching `match` (case-insensitive regex) drops the connection, `count` times;
   * with `after: true` the statement is carried out first and the reply never arrives (so the
   * client cannot tell whether e.g. a FAILOVER happened).
   */
  | { kind: 'dropConnection'; replica?: Side; link?: number; match: string; nth?: number; count?: number; after?: boolean }
  /** Statements matching `match` answer `delayMs` late, `count` times (absent: always). */
  | { kind: 'slow'; replica?: Side; link?: number; match?: string; delayMs: number; count?: number }
  /** The Nth statement matching `match` never answers (until the client cancels or closes). */
  | { kind: 'hang'; replica?: Side; link?: number; match: string; nth?: number; count?: number }
  /** The next `count` ARM requests of operation `op` get this HTTP status. */
  | { kind: 'armStatus'; op: ArmOperation; status: 429 | 500 | 503; code?: string; retryAfterSeconds?: number; count?: number }
  /** The next `count` long-running ARM operations of `op` are accepted, then fail when polled. */
  | { kind: 'armLroFails'; op: ArmOperation; code: string; message?: string; count?: number };

export interface ScenarioSpec {
  name: string;
  description: string;
  /** How many links `startLab` creates when the caller does not say. */
  links: number;
  sqlServer: {
    /** ProductVersion, e.g. 16.0.4125.3 (2022 CU13) or 15.0.4312.2 (2019 CU20). */
    version: string;
    /**
     * Other links (distributed AGs) of the same SQL Server database and AG, each to a managed
     * instance the lab does not run: only SQL Server's DMVs show them, with their own LSNs.
     */
    otherLinks?: OtherLinkSpec[];
  };
  managedInstance: {
    tier: Tier;
    /**
     * The MI side's availability group, the DAG member ARM calls instanceAvailabilityGroupName
     * (default: the managed instance's name, as the link's set-up scripts create it).
     */
    availabilityGroupName?: string;
    /** The MI's copy of the link's mode (ARM replicationMode); default Sync only when availabilityMode says both members are synchronous. */
    replicationMode?: ReplicationMode;
    /**
     * The instance's update policy as ARM shows it (ManagedInstances.json 2025-01-01,
     * `databaseFormat`): SQLServer2022 (the default policy), SQLServer2025 or AlwaysUpToDate.
     */
    databaseFormat: DatabaseFormat;
    /**
     * Minutes the instance's local time (its timezoneId) is ahead of UTC: GETDATE(),
     * SYSDATETIME() and msdb show local time, GETUTCDATE() and SYSUTCDATETIME() UTC.
     */
    utcOffsetMinutes: number;
  };
  /** Each side's role in the link (DAG). Both PRIMARY = split-brain after a forced failover. */
  roles: Record<Side, LinkRole>;
  /** When both are PRIMARY: the one that was primary before the forced failover. */
  originalPrimary: Side;
  /**
   * Each DAG member's availability mode in SQL Server's copy of the DAG (links are asynchronous
   * by default). The MI keeps its own copy: managedInstance.replicationMode.
   */
  availabilityMode: Record<Side, AvailabilityMode>;
  /** End of log of both replicas before the backlog, as decimal text. */
  lsn: string;
  /** Transactions committed on the primary at start that the secondary has not hardened yet. */
  backlogTransactions: number;
  workload: {
    running: boolean;
    ratePerSecond: number;
    /** The workload stops by itself this long after the lab starts. */
    stopAfterMs?: number;
  };
  replication: {
    /** A commit is hardened on the secondary this long after it was committed on the primary. */
    lagMs: number;
    /** Nothing reaches the secondary (until catchUpAfterMs, when set). */
    stalled: boolean;
    /** From this long after start, replication runs with no lag (a lagging link catches up). */
    catchUpAfterMs?: number;
    /**
     * A secondary suspended by a forced failover (SUSPEND_FROM_PARTNER) resumes by itself this
     * long after; null: it stays suspended until ALTER DATABASE ... SET HADR RESUME on SQL Server.
     */
    resumeAfterSuspendMs?: number | null;
  };
  /** Automatic full backups on the managed instance (the break-link guard reads msdb.dbo.backupset). */
  miFullBackup: {
    enabled: boolean;
    /** How long after the MI becomes primary its first automatic full backup finishes. */
    afterFailoverMs: number;
  };
  /**
   * The MI's automatic backups besides the full one (backup-transparency.md: automatic full,
   * differential and log backups appear in msdb with is_copy_only = 0, each once it has
   * finished): a log backup every `logEveryMs`, a differential every `diffEveryMs` (0: none).
   */
  miBackups: { logEveryMs: number; diffEveryMs: number };
  /**
   * How long statements that take long on a real server take here: a BACKUP (its msdb row
   * appears when it ends, with the start time it was sent at), a FAILOVER or
   * FORCE_FAILOVER_ALLOW_DATA_LOSS until the target accepts it (the statement returns then:
   * alter-availability-group-transact-sql.md, "A failover command returns as soon as the
   * failover target has accepted the command"). A client that cancels (ATTENTION) before the end
   * stops the statement: nothing happens.
   */
  longStatements: { backupMs: number; failoverMs: number };
  arm: {
    lroDurationMs: number;
    retryAfterSeconds: number;
    /**
     * The link's failoverMode as ARM shows it (DistributedAvailabilityGroups.json: Manual for
     * two-way failover, None for one way to Azure); `absent` leaves the property out, as the
     * spec's ListByInstance example does for one link. Default: Manual on SQL Server 2022 CU13
     * or later, else None.
     */
    failoverMode?: 'Manual' | 'None' | 'absent';
  };
  faults: FaultSpec[];
}
