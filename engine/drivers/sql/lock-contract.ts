// What a link lock offers the run that holds it (engine/drivers/sql/lock.ts takes and keeps it),
// and what taking one needs.
import type { ChangeGuard, ReplicaSide } from '../../core/types.js';
import type { LinkState } from './link-state.js';
import type { LockHolder } from './lock-holder.js';
import type { LockLossEvent, LockLost } from './lock-lost.js';
import type { LockSessions } from './lock-sessions.js';

export interface LinkLock {
  resource: string;
  held: ReplicaSide[];
  unreachable: Array<{ side: ReplicaSide; error: string }>;
  /**
   * Before a step: waits for a re-take in flight and tries again where a lost lock's replica could
   * not be reached. Throws LockLost (exit 5) when, while the lock was lost, someone else took it or
   * the link changed, or when it is now held on no replica.
   */
  ensure(): Promise<void>;
  /**
   * Right before a change: asks each replica whether this run's session still holds the lock
   * (APPLOCK_MODE). A session the server ended without the client hearing of it (a half-open
   * connection) holds nothing: it is handled as a lost lock (taken back, the link compared), and
   * then as ensure().
   */
  confirm(): Promise<void>;
  /**
   * The check every T-SQL change batch sent to `side` carries: the server runs the batch only while
   * this run's lock session there still holds the lock. A batch the check refused is handled as a
   * lost lock (taken back, the link compared).
   */
  changeGuard(side: ReplicaSide): ChangeGuard;
  /** One of this run's steps that may change the link starts now. */
  changing(stepId: string): void;
  /** That step ended: the link as it is now is this run's doing. Returns it as read (undefined once the lock was lost to someone else). */
  changed(): Promise<LinkState | undefined>;
  /** Reads the link now on the locked replicas and takes it as this run's doing (e.g. once a resume accepted it). */
  observe(): Promise<LinkState>;
  /** The link as this run last knew it (at the lock, then after each change or observe). */
  lastKnown(): LinkState;
  /** At the end of the run: why it must not claim success, if the lock was lost to someone else. */
  verdict(): Promise<LockLost | undefined>;
  release(): Promise<void>;
}

export interface AcquireOptions {
  env: NodeJS.ProcessEnv;
  holder: LockHolder;
  /** The step being handled now, named in messages about a lost lock. */
  currentStep?(): string | undefined;
  /** Told when a lock's session ended and the lock was taken again with nothing changed. */
  info?(message: string): void;
  /** Told when a lost lock cannot be taken again (the replica is unreachable). */
  warn?(message: string): void;
  /** Every lost lock session, for the journal. */
  onLoss?(event: LockLossEvent): void;
  /** How often to try again to take back a lock whose replica could not be reached (default 1 s). */
  retryMs?: number;
  /** How long a state read after a change waits for a replica that says RESOLVING to settle (default 10 s). */
  settleMs?: number;
  /** Where the lock's sessions come from: the run's own (default), or a wave's shared per server. */
  sessions?: LockSessions;
  /** The lock is taken for `apply --resume`: steps ran before, in the run it resumes. */
  resuming?: boolean;
  /**
   * Told, once per read, when a read of the link on a lock session has had no answer for
   * `waitNoticeMs` (default 5 s): what the run waits for, instead of silence until the request
   * timeout (attack r4apply A6).
   */
  waiting?(message: string): void;
  waitNoticeMs?: number;
}
