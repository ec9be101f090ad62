// One link's state: two replicas, their roles and modes, the database's log on each side, the
// synthetic workload, replication and the ledger; its backup history is ./backup-history.ts. Time is read from the clock on every access
// (`advance`), so no timers run and tests only wait as long as the scenario's parameters say.
import { linkIds, type LinkIds } from './ids.js';
import { lsnAfter, parseLsn } from './lsn.js';
import { BackupHistory } from './backup-history.js';
import { initialReplica, type BackupRecord, type LedgerEntry, type LinkIdentity, type ReplicaState, type Transaction } from './link-state.js';
import { otherSide, SIDES, type AvailabilityMode, type ReplicationMode, type ScenarioSpec, type Side } from './types.js';

export type { BackupRecord, LedgerEntry, LinkIdentity, ReplicaState, Transaction } from './link-state.js';

export class LinkModel {
  readonly replicas: Record<Side, ReplicaState>;
  /**
   * SQL Server's copy of the DAG's availability modes, per member: what ALTER AVAILABILITY GROUP
   * ... MODIFY on SQL Server changes and its sys.availability_replicas shows. The MI keeps its own
   * copy (`miReplicationMode`): "This command must be repeated on both the primary availability
   * group and secondary availability group instances" (MicrosoftDocs/sql-docs,
   * alter-availability-group-transact-sql.md, MODIFY AVAILABILITY GROUP ON).
   */
  readonly sqlServerModes: Record<Side, AvailabilityMode>;
  /**
   * The MI's copy: ARM's replicationMode (PATCH, as Update-AzSqlInstanceLink -ReplicationMode
   * does), shown for both members in the MI's own sys.availability_replicas.
   */
  miReplicationMode: ReplicationMode;
  /** Commits the application made on an old primary after a forced failover left two primaries. */
  divergentCommits = 0;
  /** Where the application commits: the replica that became primary last (none if no primary). */
  writer: Side | undefined;
  /** Committed on the writer, not yet hardened on its partner, oldest first. */
  pending: Transaction[] = [];
  readonly ledger: LedgerEntry;
  /** msdb's backup history (both sides), automatic MI backups included. */
  readonly backupHistory: BackupHistory;
  readonly ids: LinkIds;
  /** The LSN both replicas started from (recovery/truncation LSNs are shown at or below it). */
  readonly baseLsn: bigint;
  private workloadDone = 0;
  private workloadStart: number;
  private workloadRunning: boolean;
  private workloadStopAt: number | undefined;
  private lagMs: number;
  private stalledUntil: number;
  private catchUpAt: number | undefined;
  private lastAdvance = 0;
  private lastSignature = '';
  private downCheck: (side: Side, now: number) => boolean = () => false;

  constructor(
    readonly id: LinkIdentity,
    readonly scenario: ScenarioSpec,
    readonly clock: () => number,
    /** Called whenever anything visible changed (the SQL engines refresh their tables). */
    readonly changed: () => void,
    /** Called when only the backup history (msdb) changed; `changed` when not given. */
    backupsChanged: () => void = changed,
  ) {
    const start = clock();
    const base = parseLsn(scenario.lsn);
    this.baseLsn = base;
    this.ids = linkIds(id.name, id.tier === 'BusinessCritical' ? 4 : 1);
    this.replicas = { sqlServer: initialReplica(id, 'sqlServer', base, start), managedInstance: initialReplica(id, 'managedInstance', base, start) };
    this.sqlServerModes = { ...scenario.availabilityMode };
    const bothSync = SIDES.every((m) => scenario.availabilityMode[m] === 'SYNCHRONOUS_COMMIT');
    this.miReplicationMode = scenario.managedInstance.replicationMode ?? (bothSync ? 'Sync' : 'Async');
    this.ledger = { link: id.name, committed: 0, lost: 0, lastCommittedLsn: base };
    this.workloadStart = start;
    this.workloadRunning = scenario.workload.running;
    this.workloadStopAt = scenario.workload.stopAfterMs === undefined ? undefined : start + scenario.workload.stopAfterMs;
    this.lagMs = scenario.replication.lagMs;
    this.stalledUntil = scenario.replication.stalled ? Number.POSITIVE_INFINITY : 0;
    this.catchUpAt = scenario.replication.catchUpAfterMs === undefined ? undefined : start + scenario.replication.catchUpAfterMs;
    if (this.catchUpAt !== undefined && scenario.replication.stalled) this.stalledUntil = this.catchUpAt;
    this.lastAdvance = start;
    this.backupHistory = new BackupHistory(id.database, scenario, clock, (side) => this.replicas[side], backupsChanged);

    // Start from "original primary + its secondary", then replay what the roles imply.
    const { roles } = scenario;
    const bothPrimary = roles.sqlServer === 'PRIMARY' && roles.managedInstance === 'PRIMARY';
    const primary: Side = bothPrimary
      ? scenario.originalPrimary
      : roles.sqlServer === 'PRIMARY' ? 'sqlServer' : roles.managedInstance === 'PRIMARY' ? 'managedInstance' : scenario.originalPrimary;
    this.replicas[primary].role = 'PRIMARY';
    this.writer = primary;
    for (let i = 0; i < scenario.backlogTransactions; i++) this.commit(start);
    this.backupHistory.seed(start);
    if (bothPrimary) this.forceFailover(otherSide(primary));
    else if (roles[primary] === 'SECONDARY') this.replicas[primary].role = 'SECONDARY'; // both demoted
  }

  /** Faults decide when a replica is down; the lab model wires this. */
  setDownCheck(check: (side: Side, now: number) => boolean): void {
    this.downCheck = check;
  }

  isDown(side: Side, now = this.clock()): boolean {
    return this.downCheck(side, now);
  }

  get name(): string {
    return this.id.name;
  }

  /** SQL Server 2022 CU13 (16.0.4125) or later: the link can fail over with T-SQL and keeps itself. */
  get supportsLinkFailover(): boolean {
    const [major, , build] = this.id.sqlVersion.split('.').map(Number);
    return major > 16 || (major === 16 && build >= 4125);
  }

  /** Whether log flows from the writer to its partner right now. */
  replicating(now = this.clock()): boolean {
    if (!this.writer) return false;
    const from = this.replicas[this.writer];
    const to = this.replicas[otherSide(this.writer)];
    return (
      to.role === 'SECONDARY' && !to.suspended && from.dagPresent && to.dagPresent &&
      !this.isDown(from.side, now) && !this.isDown(to.side, now) && now >= this.stalledUntil
    );
  }

  /** The availability modes of both members as `holder`'s copy of the DAG says. */
  modesSeenBy(holder: Side): Record<Side, AvailabilityMode> {
    if (holder === 'sqlServer') return { ...this.sqlServerModes };
    const mode: AvailabilityMode = this.miReplicationMode === 'Sync' ? 'SYNCHRONOUS_COMMIT' : 'ASYNCHRONOUS_COMMIT';
    return { sqlServer: mode, managedInstance: mode };
  }

  /**
   * Synchronous commit is in effect only when both copies say so for both members:
   * "both the current primary availability group, and the current secondary availability group
   * must have SYNCHRONOUS_COMMIT availability mode" (MicrosoftDocs/sql-docs,
   * configure-distributed-availability-groups.md, "Fail over to a secondary availability group").
   */
  synchronousCommit(): boolean {
    return SIDES.every((holder) => SIDES.every((m) => this.modesSeenBy(holder)[m] === 'SYNCHRONOUS_COMMIT'));
  }

  /** Whether the two sides of the link are connected (what connected_state_desc reports). */
  connected(now = this.clock()): boolean {
    const a = this.replicas.sqlServer;
    const b = this.replicas.managedInstance;
    return (
      a.dagPresent && b.dagPresent && a.role !== b.role &&
      !this.isDown('sqlServer', now) && !this.isDown('managedInstance', now)
    );
  }

  /** Brings the state up to `now`: workload commits, replication, catch-up, automatic backups. */
  advance(now = this.clock()): void {
    if (now < this.lastAdvance) now = this.lastAdvance;
    let touched = false;
    for (const side of SIDES) {
      const r = this.replicas[side];
      if (r.suspended && r.resumeAt !== undefined && now >= r.resumeAt) {
        this.resume(side, r.resumeAt);
        touched = true;
      }
    }
    if (this.catchUpAt !== undefined && now >= this.catchUpAt) {
      this.lagMs = 0;
      this.stalledUntil = Math.min(this.stalledUntil, this.catchUpAt);
    }
    if (this.workloadRunning) {
      const rate = this.scenario.workload.ratePerSecond;
      const until = this.workloadStopAt === undefined ? now : Math.min(now, this.workloadStopAt);
      const due = Math.max(0, Math.floor(((until - this.workloadStart) * rate) / 1000));
      const writer = this.writer ? this.replicas[this.writer] : undefined;
      const canWrite = writer && writer.role === 'PRIMARY' && !writer.restoring && !this.isDown(writer.side, now);
      for (let k = this.workloadDone + 1; k <= due; k++) {
        if (canWrite) this.commit(this.workloadStart + (k * 1000) / rate);
      }
      if (due > this.workloadDone) touched = touched || Boolean(canWrite);
      this.workloadDone = Math.max(this.workloadDone, due);
      if (this.workloadStopAt !== undefined && now >= this.workloadStopAt) this.workloadRunning = false;
    }
    if (this.pending.length > 0 && this.writer && this.replicating(now)) {
      const to = this.replicas[otherSide(this.writer)];
      while (this.pending.length > 0 && this.pending[0].at + this.lagMs <= now) {
        const txn = this.pending.shift()!;
        to.endOfLog = txn.lsn;
        to.hardened = txn.lsn;
        to.lastCommitTime = new Date(txn.at);
        to.lastHardenedTime = new Date(Math.max(txn.at + this.lagMs, Math.min(now, this.stalledUntil)));
        touched = true;
      }
    }
    // Backups finishing change msdb only: the history says so itself (backupsChanged).
    this.backupHistory.advance(now);
    // Faults and catch-up change what the DMVs show with time alone.
    const signature = `${this.connected(now)}|${this.replicating(now)}|${this.isDown('sqlServer', now)}|${this.isDown('managedInstance', now)}`;
    if (signature !== this.lastSignature) touched = true;
    this.lastSignature = signature;
    this.lastAdvance = now;
    if (touched) this.changed();
  }

  /** One transaction committed on the writer at time `at`. */
  private commit(at: number): void {
    const writer = this.replicas[this.writer!];
    writer.endOfLog = lsnAfter(writer.endOfLog, 1);
    writer.hardened = writer.endOfLog;
    writer.lastCommitTime = new Date(at);
    writer.lastHardenedTime = new Date(at);
    this.ledger.committed++;
    this.ledger.lastCommittedLsn = writer.endOfLog;
    const partner = this.replicas[otherSide(writer.side)];
    // Two primaries: this commit exists only here and is lost when this side is demoted.
    if (partner.role === 'PRIMARY' && partner.dagPresent && writer.dagPresent) this.divergentCommits++;
    else if (partner.role === 'SECONDARY' && partner.dagPresent && writer.dagPresent) this.pending.push({ lsn: writer.endOfLog, at });
  }

  /** Starts (or restarts) the workload from now; tests and drills use it. */
  setWorkload(running: boolean, ratePerSecond?: number): void {
    this.advance();
    if (ratePerSecond !== undefined) this.scenario.workload.ratePerSecond = ratePerSecond;
    this.workloadRunning = running;
    this.workloadStopAt = undefined;
    // Re-base so that the commit count restarts from now.
    this.workloadStart = this.clock();
    this.workloadDone = 0;
  }

  /** Replication parameters, changeable at run time (drills, tests). */
  setReplication(opts: { lagMs?: number; stalled?: boolean }): void {
    this.advance();
    if (opts.lagMs !== undefined) this.lagMs = opts.lagMs;
    if (opts.stalled !== undefined) this.stalledUntil = opts.stalled ? Number.POSITIVE_INFINITY : 0;
    this.catchUpAt = undefined;
    this.changed();
  }

  /** Synchronous commit in effect (both copies), the secondary resumed and it has hardened everything the primary wrote. */
  synchronized(now = this.clock()): boolean {
    const secondary = this.writer ? this.replicas[otherSide(this.writer)] : undefined;
    return (
      this.synchronousCommit() && this.pending.length === 0 && this.connected(now) && now >= this.stalledUntil &&
      secondary !== undefined && !secondary.suspended
    );
  }

  /**
   * Forced failover to `side`: whatever it had not hardened is lost. Returns the count lost.
   * A partner that already is a secondary (demoted first, as a drill does) is suspended, as
   * the former primary is after a forced failover (MicrosoftDocs/sql-docs, perform-a-forced-
   * manual-failover-of-an-availability-group-sql-server.md). A partner that is still primary
   * and up keeps its application: its commits from now on are divergent, and lost when it is
   * demoted (split-brain). A partner that is down loses its application to `side`.
   */
  forceFailover(side: Side): number {
    const me = this.replicas[side];
    const partner = this.replicas[otherSide(side)];
    let lost = 0;
    if (this.writer && this.writer !== side) {
      lost = this.pending.length;
      this.pending = [];
    }
    this.ledger.lost += lost;
    me.role = 'PRIMARY';
    me.restoring = false;
    me.suspended = false;
    const partnerKeepsWriting = partner.role === 'PRIMARY' && this.writer === partner.side && !this.isDown(partner.side);
    if (!partnerKeepsWriting) this.writer = side;
    if (partner.role === 'SECONDARY' && partner.dagPresent) this.suspend(partner.side, me.endOfLog);
    this.ledger.lastCommittedLsn = me.endOfLog;
    this.primaryChanged(side);
    return lost;
  }

  /** Planned failover from the current primary to its partner; callers check `synchronized` first. */
  plannedFailover(): void {
    const from = this.writer!;
    const to = otherSide(from);
    this.replicas[from].role = 'SECONDARY';
    this.replicas[to].role = 'PRIMARY';
    this.replicas[to].endOfLog = this.replicas[from].endOfLog;
    this.replicas[to].hardened = this.replicas[from].endOfLog;
    this.pending = [];
    this.writer = to;
    this.primaryChanged(to);
  }

  /**
   * SET (ROLE = SECONDARY): the replica gives up the primary role. With its partner primary (a
   * split-brain resolved), it is the former primary after a forced failover: its commits since
   * then are rolled back (counted lost if the application wrote them here) and it is suspended
   * until it resumes, then resynchronizes from the survivor. With its partner secondary (a drill
   * demoting the old primary before forcing the other side, configure-distributed-availability-
   * groups.md), no side is primary: nothing is written, and what was sent keeps hardening.
   */
  demote(side: Side): void {
    this.advance();
    const me = this.replicas[side];
    const partner = this.replicas[otherSide(side)];
    me.role = 'SECONDARY';
    me.restoring = false;
    if (partner.role === 'PRIMARY') {
      if (this.writer === side) this.ledger.lost += this.divergentCommits;
      this.divergentCommits = 0;
      this.writer = partner.side;
      this.pending = [];
      this.suspend(side, partner.endOfLog);
    }
    this.changed();
  }

  /** Data movement to `side` stops (SUSPEND_FROM_PARTNER); once resumed its log stands at `resyncTo`. */
  suspend(side: Side, resyncTo: bigint): void {
    const r = this.replicas[side];
    const after = this.scenario.replication.resumeAfterSuspendMs;
    r.suspended = true;
    r.resyncTo = resyncTo;
    r.resumeAt = after === null || after === undefined ? undefined : this.clock() + after;
    this.changed();
  }

  /**
   * Resumes a suspended secondary (by itself at `resumeAt`, or ALTER DATABASE ... SET HADR
   * RESUME): it rolls back what the new primary never had ("The secondary database rolls back
   * any log records that were never committed on the new primary database", same article) and
   * receives what the primary wrote since. Returns false when it was not suspended.
   */
  resume(side: Side, at = this.clock()): boolean {
    const r = this.replicas[side];
    if (!r.suspended) return false;
    r.suspended = false;
    r.resumeAt = undefined;
    if (r.resyncTo !== undefined) {
      r.endOfLog = r.resyncTo;
      r.hardened = r.resyncTo;
      r.lastHardenedTime = new Date(at);
      r.resyncTo = undefined;
    }
    this.changed();
    return true;
  }

  /** The MI's database became writable (primary, or on its own once the link is removed): Azure takes its first full backup after that. */
  private primaryChanged(side: Side): void {
    if (side === 'managedInstance') this.backupHistory.scheduleFirstFull();
    this.changed();
  }

  /** msdb.dbo.backupset's rows, oldest first. */
  get backups(): readonly BackupRecord[] {
    return this.backupHistory.records;
  }

  recordBackup(side: Side, type: 'D' | 'I' | 'L', isCopyOnly: boolean, device: string, finish?: Date, started?: Date): BackupRecord {
    return this.backupHistory.record(side, type, isCopyOnly, device, finish, started);
  }

  /**
   * Breaks the link on one side (ARM delete on MI, DROP AVAILABILITY GROUP on SQL Server). Nothing
   * flows any more: what the secondary had not hardened never reaches it, and is counted as lost
   * (Remove-AzSqlInstanceLink: "may cause data loss if the link is dropped and replica's LSNs are
   * not synchronized with the primary"). Returns the count lost.
   */
  removeDag(side: Side): number {
    this.advance();
    const becomesWritable = side === 'managedInstance' && this.replicas.managedInstance.dagPresent && this.replicas.managedInstance.role === 'SECONDARY';
    this.replicas[side].dagPresent = false;
    if (becomesWritable) this.backupHistory.scheduleFirstFull();
    const lost = this.pending.length;
    this.ledger.lost += lost;
    this.pending = [];
    this.changed();
    return lost;
  }

  /** Whether the database on `side` accepts writes (primary, or no link on that side). */
  readWrite(side: Side): boolean {
    const r = this.replicas[side];
    return !r.dagPresent || r.role === 'PRIMARY';
  }

  sides(): Side[] {
    return [...SIDES];
  }
}
