// The managed instance's (and SQL Server's) backup history as msdb.dbo.backupset shows it: the
// backups statements take, and the MI's automatic ones. Azure takes a full backup of the MI's
// database some time after it becomes writable (managed-instance-link-migrate.md, "Known issues
// with migration"), and differential and log backups at its own pace, all with is_copy_only = 0
// (backup-transparency.md). Time is the link's clock: `advance` records what has finished by then.
import type { BackupRecord } from './link-state.js';
import type { ScenarioSpec, Side } from './types.js';

/** A replica's log as a backup records it (first and last LSN). */
export type LogPosition = (side: Side) => { hardened: bigint; endOfLog: bigint };

export class BackupHistory {
  readonly records: BackupRecord[] = [];
  /** Automatic MI full backups under way: they started when the MI became writable, finish later. */
  private due: Array<{ start: number; finish: number }> = [];
  /** When the MI's next automatic log and differential backups finish (undefined: none). */
  private nextAutomatic: Partial<Record<'L' | 'I', number>> = {};
  private nextId = 1;

  constructor(
    private readonly database: string,
    private readonly scenario: ScenarioSpec,
    private readonly clock: () => number,
    private readonly log: LogPosition,
    private readonly changed: () => void,
  ) {}

  /**
   * The history as it stands when the lab starts at `start`: an automatic full backup an hour
   * before, a differential and a log backup taken before it, then more at the scenario's pace.
   */
  seed(start: number): void {
    if (this.scenario.miFullBackup.enabled) this.record('managedInstance', 'D', false, 'automatic', new Date(start - 3_600_000));
    const every = { L: this.scenario.miBackups.logEveryMs, I: this.scenario.miBackups.diffEveryMs };
    for (const type of ['I', 'L'] as const) {
      if (every[type] <= 0) continue;
      this.record('managedInstance', type, false, 'automatic', new Date(start - (type === 'I' ? 1_800_000 : 60_000)));
      this.nextAutomatic[type] = start + every[type];
    }
  }

  /** The MI's database became writable: its first full backup finishes `miFullBackup.afterFailoverMs` from now. */
  scheduleFirstFull(): void {
    if (!this.scenario.miFullBackup.enabled) return;
    const start = this.clock();
    this.due.push({ start, finish: start + this.scenario.miFullBackup.afterFailoverMs });
    this.due.sort((a, b) => a.finish - b.finish);
  }

  /** Records the automatic backups finished by `now`; true when any was. */
  advance(now: number): boolean {
    let recorded = false;
    while (this.due.length > 0 && this.due[0].finish <= now) {
      const due = this.due.shift()!;
      this.record('managedInstance', 'D', false, 'automatic', new Date(due.finish), new Date(due.start));
      recorded = true;
    }
    for (const type of ['I', 'L'] as const) {
      const every = type === 'L' ? this.scenario.miBackups.logEveryMs : this.scenario.miBackups.diffEveryMs;
      let next = this.nextAutomatic[type];
      if (next === undefined || every <= 0) continue;
      // A lab left idle for long records the last few, not thousands.
      if (now - next > every * 20) next += Math.floor((now - next) / every - 20) * every;
      for (; next <= now; next += every) this.record('managedInstance', type, false, 'automatic', new Date(next));
      this.nextAutomatic[type] = next;
    }
    return recorded;
  }

  record(side: Side, type: 'D' | 'I' | 'L', isCopyOnly: boolean, device: string, finish = new Date(this.clock()), started?: Date): BackupRecord {
    const { hardened, endOfLog } = this.log(side);
    const rec: BackupRecord = {
      id: this.nextId++,
      side,
      database: this.database,
      type,
      isCopyOnly,
      device,
      start: started ?? new Date(finish.getTime() - 1000),
      finish,
      firstLsn: hardened,
      lastLsn: endOfLog,
    };
    this.records.push(rec);
    this.changed();
    return rec;
  }
}
