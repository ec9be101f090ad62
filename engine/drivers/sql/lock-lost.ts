// A link lock lost while the run holds it (engine/drivers/sql/lock.ts takes it back): how the loss
// is worded, and what taking it back found, judged: the link compared with what this run last knew
// of it decides whether the run may go on. Nothing here talks to a server.
import { ExitError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import type { ReplicaSide } from '../../core/types.js';
import { compareLinkStates, describeState, type LinkState } from './link-state.js';
import type { LockSessionIdentity } from './lock-guard.js';

/**
 * The lock was lost and this run cannot prove nobody else acted meanwhile: exit 5. Lost while it
 * was being taken, before any step ran, it is a refusal (exit 3): nothing of the run is in question.
 */
export class LockLost extends ExitError {
  constructor(message: string, exitCode: number = ExitCode.outcomeUnknown) {
    super(exitCode, message);
    this.name = 'LockLost';
  }
}

/** What the journal records about a lost lock session. */
export interface LockLossEvent {
  side: ReplicaSide;
  /** The step running when the session ended. */
  during?: string;
  /** Taken again by this run. */
  retaken: boolean;
  /** Who holds it instead, when someone else took it. */
  holder?: string;
  /** What differs on the link from what this run last knew. */
  changes: string[];
  /**
   * This run's own change step that was running when the lock was lost: what changed then may be
   * that step's doing, so the run cannot tell it from someone else's.
   */
  ownStep?: string;
  message: string;
}

/**
 * A side whose lock is lost and not taken back yet: how it was found lost (the opening of every
 * message about it), during which step, which change step of this run was in flight, and whether
 * the operator was told it cannot be reached.
 */
export interface LostLock {
  how: string;
  during?: string;
  ourChange?: string;
  warned?: boolean;
}

/** The lock's session ended (`why`: this process ended it, and why). */
export function sessionEndedLoss(side: ReplicaSide, why: string | undefined, during: string | undefined, ourChange: string | undefined): LostLock {
  return {
    how: `the link lock's session on ${side} ended${why ? ` (${why})` : ''}${during ? ` during step ${during}` : ''}`,
    ...(during ? { during } : {}),
    ...(ourChange ? { ourChange } : {}),
  };
}

/**
 * The server said this run's session does not hold the lock; `when`: at which moment of step `during`
 * it was found (`when step X was about to start`). `ourChange`: this run's change step in flight
 * then, as for a session that ended: what it sent before (an earlier batch of its script, whose
 * check passed) may be what changed the link, so the run cannot tell it from someone else's doing
 * (attack r6safety finding 6: the run's own batch 1 was named as "someone else acted").
 */
export function notHeldLoss(side: ReplicaSide, why: string, during: string | undefined, when: (step: string) => string, ourChange?: string): LostLock {
  return { how: `the link lock on ${side} was no longer held by this run's session (${why})${during ? ` ${when(during)}` : ''}`, ...(during ? { during } : {}), ...(ourChange ? { ourChange } : {}) };
}

export const RETAKE_FAILED = (side: ReplicaSide, error: unknown) =>
  `the link lock's session on ${side} ended and taking it back failed unexpectedly (${(error as Error)?.message ?? String(error)}); this run cannot prove nobody else acted, so it stops here and changes nothing more.`;

export const UNREACHABLE = (loss: LostLock, side: ReplicaSide, error: unknown) =>
  `${loss.how} and ${side} cannot be reached to take it again (${(error as Error).message}); the lock is still held where it was not lost, and it is taken back as soon as ${side} answers`;

export const HELD_NOWHERE = (sides: ReplicaSide[]) =>
  `the link lock is held on no replica now: its sessions ended and ${sides.join(' and ')} cannot be reached to take it again, so this run can neither exclude other operators nor check what they did. It stops here and changes nothing more. Check the link's roles before doing anything.`;

const ADVICE = `Check the link's roles and who is driving it (\`runbook runs\`, sys.dm_tran_locks) before doing anything.`;

/** What taking a lost lock back found. */
export interface Retaken {
  linkName: string;
  resource: string;
  side: ReplicaSide;
  loss: LostLock;
  /** Who holds it now instead, when it could not be taken. */
  otherHolder?: string;
  /**
   * That holder is this run's own earlier lock session, as the server still shows it (it has not
   * yet noticed the session ended, e.g. after this process closed a session that stopped answering).
   */
  ownOldSession?: LockSessionIdentity;
  /** The link as this run last knew it, on the sides whose lock is held (this side included). */
  known: LinkState;
  /** The link as read right after the re-take. */
  now: LinkState;
}

/** `stop`: the run stops (exit 5, or `exitCode`) with this message; else it may go on, and `message` says what happened. */
export interface RetakeVerdict {
  stop: boolean;
  exitCode?: number;
  event: Omit<LockLossEvent, 'message'>;
  message: string;
}

/** Judges a re-take: nothing changed and no one else holds it is the only way on. */
export function judgeRetake(r: Retaken): RetakeVerdict {
  const { how, during, ourChange, warned } = r.loss;
  const { changes, unchecked } = compareLinkStates(r.linkName, r.known, r.now);
  const event = { side: r.side, ...(during ? { during } : {}), changes, ...(ourChange ? { ownStep: ourChange } : {}) };
  if (r.ownOldSession) {
    const old = `session ${r.ownOldSession.sessionId}, connection ${r.ownOldSession.connectionId}`;
    return {
      stop: true,
      // No holder: nobody else took it (a resume is not refused for it; it compares the link itself).
      event: { ...event, retaken: false },
      message: `${how}, and the server still shows this run's earlier lock session (${old}) holding it: the server has not yet noticed that session end, so this run cannot take the lock back now${changes.length ? `; the link has changed since: ${changes.join('; ')}` : ''}. No other operator holds it, but this run cannot hold it either: it stops here and changes nothing more. ${ADVICE}`,
    };
  }
  if (r.otherHolder) {
    return {
      stop: true,
      event: { ...event, retaken: false, holder: r.otherHolder },
      message: `${how}, and before this run could take it back ${r.otherHolder} took it${changes.length ? `; the link has changed since: ${changes.join('; ')}` : ''}. Someone else is driving link ${r.linkName}: this run stops here and changes nothing more. ${ADVICE}`,
    };
  }
  const back = warned ? `it was taken again as soon as ${r.side} answered` : 'it was taken again at once';
  if (changes.length) {
    const who = ourChange
      ? `This run cannot tell whether its step ${ourChange}, which was changing the link then, or someone else did that`
      : 'Someone else acted on the link while this run did not hold the lock';
    return { stop: true, event: { ...event, retaken: true }, message: `${how}; ${back}, but the link had changed: ${changes.join('; ')}. ${who}; it stops here and changes nothing more. ${ADVICE}` };
  }
  if (unchecked.length) {
    return {
      stop: true,
      event: { ...event, retaken: true },
      message: `${how}; ${back}, but ${unchecked.join(' and ')} could not be checked, so this run cannot prove that nobody else acted meanwhile; it stops here and changes nothing more. ${ADVICE}`,
    };
  }
  return { stop: false, event: { ...event, retaken: true }, message: `${how}; ${back} (lock ${r.resource}) and nothing on the link had changed (${describeState(r.now)})` };
}

/**
 * Judges a re-take of a lock lost while it was being taken, before any step ran (e.g. the first
 * read of the link on the lock's session had no answer in time, so the session was ended). The run
 * has read nothing it relies on and sent nothing, so there is nothing to compare: the link as read
 * now is where it starts from, as if the lock had been taken a moment later. Anyone holding the
 * lock now, or a link it cannot read, refuses the run (exit 3), as at any start.
 */
export function judgeRetakeBeforeSteps(r: Retaken, resuming = false): RetakeVerdict {
  const event = { side: r.side, changes: [] };
  // A resume's earlier run did run steps: this one has run none yet, and compares the link with its
  // journal once its lock is held (engine/apply/resume.ts), after any such re-take.
  const start = `${r.loss.how} while the lock was being taken, before ${resuming ? 'this resume ran or restored any step' : 'any step ran'}`;
  const refuse = (why: string): RetakeVerdict => ({
    stop: true,
    exitCode: ExitCode.refused,
    event: { ...event, retaken: false, ...(r.otherHolder && !r.ownOldSession ? { holder: r.otherHolder } : {}) },
    message: `${start}; ${why}. Nothing was sent by this run.`,
  });
  if (r.ownOldSession) {
    return refuse(`the server still shows that session (session ${r.ownOldSession.sessionId}, connection ${r.ownOldSession.connectionId}) holding the lock, so this run cannot take it back now; start the run again once it is gone`);
  }
  if (r.otherHolder) return refuse(`before this run could take it back ${r.otherHolder} took it. Only one run may drive a link at a time`);
  const now = r.now[r.side];
  if (!now?.readable) return refuse(`it was taken again, but ${r.side} cannot be read (${now ? now.error : 'no answer'})`);
  const from = resuming ? 'the resume compares the link as read now with its journal before anything else' : 'the run starts from the link as read now';
  return { stop: false, event: { ...event, retaken: true }, message: `${start}; it was taken again at once (lock ${r.resource}), and ${from} (${describeState(r.now)})` };
}
