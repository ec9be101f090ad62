// Which exit code a run's stop maps to (README "Exit codes"), given whether the link may have
// changed by then. Pure: the run (engine/apply/run.ts) asks as it records a step's end or a stop.
import { ExitCode } from '../core/exit-codes.js';

/** How a failed step maps to the run's exit code. */
export function failureExitCode(requested: number | undefined, changeMayHaveHappened: boolean): number {
  if (requested === ExitCode.interrupted) return ExitCode.interrupted;
  if (requested === ExitCode.outcomeUnknown) return ExitCode.outcomeUnknown;
  if (requested === ExitCode.refused) return refusalExitCode(changeMayHaveHappened);
  if (requested === ExitCode.failedAfterChange) return ExitCode.failedAfterChange;
  return changeMayHaveHappened ? ExitCode.failedAfterChange : ExitCode.failedBeforeChange;
}

/**
 * A refusal (a guard, the lock, a missing confirmation) is exit 3 only while the run has changed
 * nothing: once it has, the link is no longer as it was and the state needs a look (exit 4).
 */
export function refusalExitCode(changeMayHaveHappened: boolean): number {
  return changeMayHaveHappened ? ExitCode.failedAfterChange : ExitCode.refused;
}

/** A stop raised with its own exit code in the middle of a run (e.g. the lock lost and taken by another run). */
export function stopExitCode(requested: number, changeMayHaveHappened: boolean): number {
  return requested === ExitCode.refused ? refusalExitCode(changeMayHaveHappened) : requested;
}
