// Session-owned application locks (sp_getapplock / sp_releaseapplock), per replica. A runbook
// takes one so that two operators cannot drive the same link at once; the lab lets a refused
// caller see who holds it through `lab.applocks`.

export type LockMode = 'Shared' | 'Update' | 'IntentShared' | 'IntentExclusive' | 'Exclusive';
export const LOCK_MODES: readonly LockMode[] = ['Shared', 'Update', 'IntentShared', 'IntentExclusive', 'Exclusive'];

export interface LockHolder {
  sessionId: number;
  login: string;
  hostName: string;
  programName: string;
  description: string | null;
  mode: LockMode;
  /** sp_getapplock calls minus sp_releaseapplock calls by this session. */
  count: number;
  acquiredAt: Date;
}

// Which held mode (row) is compatible with which requested mode (column), as SQL Server's lock
// compatibility matrix says for these five.
const compatible: Record<LockMode, LockMode[]> = {
  Shared: ['Shared', 'Update', 'IntentShared'],
  Update: ['Shared', 'IntentShared'],
  IntentShared: ['Shared', 'Update', 'IntentShared', 'IntentExclusive'],
  IntentExclusive: ['IntentShared', 'IntentExclusive'],
  Exclusive: [],
};

export interface AppLockRow {
  replica: string;
  database: string;
  resource: string;
  holder: LockHolder;
}

/** sp_getapplock's return codes. */
export const GRANTED = 0;
export const TIMED_OUT = -1;

export class AppLocks {
  /** Keyed by replica, database and resource; resource names compare exactly, as on SQL Server. */
  private readonly locks = new Map<string, { row: Omit<AppLockRow, 'holder'>; holders: LockHolder[] }>();

  constructor(private readonly changed: () => void) {}

  acquire(replica: string, database: string, resource: string, who: Omit<LockHolder, 'count' | 'acquiredAt'>, now: Date): number {
    const key = `${replica}\0${database}\0${resource}`;
    let entry = this.locks.get(key);
    if (!entry) {
      entry = { row: { replica, database, resource }, holders: [] };
      this.locks.set(key, entry);
    }
    const mine = entry.holders.find((h) => h.sessionId === who.sessionId);
    const others = entry.holders.filter((h) => h.sessionId !== who.sessionId);
    if (others.some((h) => !compatible[h.mode].includes(who.mode))) return TIMED_OUT;
    if (mine) {
      mine.count++;
      if (who.description) mine.description = who.description;
    } else entry.holders.push({ ...who, count: 1, acquiredAt: now });
    this.changed();
    return GRANTED;
  }

  /** Returns false when this session does not hold the lock. */
  release(replica: string, database: string, resource: string, sessionId: number): boolean {
    const key = `${replica}\0${database}\0${resource}`;
    const entry = this.locks.get(key);
    const mine = entry?.holders.find((h) => h.sessionId === sessionId);
    if (!entry || !mine) return false;
    if (--mine.count === 0) entry.holders = entry.holders.filter((h) => h !== mine);
    if (entry.holders.length === 0) this.locks.delete(key);
    this.changed();
    return true;
  }

  /** The session ended: everything it held goes. */
  releaseSession(replica: string, sessionId: number): void {
    let any = false;
    for (const [key, entry] of this.locks) {
      if (entry.row.replica !== replica) continue;
      const before = entry.holders.length;
      entry.holders = entry.holders.filter((h) => h.sessionId !== sessionId);
      if (entry.holders.length !== before) any = true;
      if (entry.holders.length === 0) this.locks.delete(key);
    }
    if (any) this.changed();
  }

  /** The mode this session holds on the resource (APPLOCK_MODE's answer), or NoLock. */
  modeOf(replica: string, database: string, resource: string, sessionId: number): LockMode | 'NoLock' {
    const entry = this.locks.get(`${replica}\0${database}\0${resource}`);
    return entry?.holders.find((h) => h.sessionId === sessionId)?.mode ?? 'NoLock';
  }

  rows(): AppLockRow[] {
    const out: AppLockRow[] = [];
    for (const entry of this.locks.values()) for (const holder of entry.holders) out.push({ ...entry.row, holder });
    return out;
  }
}
