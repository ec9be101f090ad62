// How an apply run ends: the exit code a failed step maps to, the summary, the journal's last
// record, and closing the connections and the lock.
import { ExitCode, exitCodeMeaning } from '../core/exit-codes.js';
import { errorMessage } from './step-runner.js';
import type { RunSummary } from './events.js';
import { closeResources } from './step-context.js';
import type { ApplyRun } from './state.js';

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

/** The normal end: summary, journal, connections and lock released, the last event. */
export async function finishRun(run: ApplyRun): Promise<RunSummary> {
  const { opts, journal, changed, mayHaveChanged, notices, stoppedAt, exitCode } = run;
  const summary: RunSummary = {
    runId: opts.runId,
    journal: journal.path,
    exitCode,
    meaning: exitCodeMeaning(exitCode),
    durationMs: Date.now() - run.startedAt,
    changed,
    ...(mayHaveChanged.length ? { mayHaveChanged } : {}),
    steps: run.outcomes,
    ...(notices.length ? { notices } : {}),
    ...(stoppedAt ? { stoppedAt } : {}),
  };
  journal.write({
    kind: 'run-finished', exitCode, meaning: summary.meaning, durationMs: summary.durationMs, changed,
    ...(mayHaveChanged.length ? { mayHaveChanged } : {}), ...(stoppedAt ? { stoppedAt } : {}),
  });
  journal.close();
  await closeResources(run.resources);
  await run.lock?.release();
  await opts.reporter.emit({ event: 'run-finished', exitCode, meaning: summary.meaning, summary });
  return summary;
}

/** An internal error (a bug): journaled, resources released, rethrown with whether a change was made. */
export async function finishWithInternalError(run: ApplyRun, error: unknown): Promise<never> {
  const { journal, changed } = run;
  run.exitCode = changed.length ? ExitCode.failedAfterChange : ExitCode.failedBeforeChange;
  journal.write({ kind: 'run-finished', exitCode: run.exitCode, meaning: `internal error: ${errorMessage(error)}`, durationMs: Date.now() - run.startedAt, changed });
  journal.close();
  await closeResources(run.resources);
  await run.lock?.release();
  if (error && typeof error === 'object') Object.assign(error, { changeMade: changed.length > 0 });
  throw error;
}

/**
 * The journal's last word when a second or third Ctrl-C exits from the signal handler, written at
 * once; then the connections and the lock are closed (the exit waits for that only briefly).
 */
export function abandonRun(run: ApplyRun, signal: string, during: string | undefined): Promise<unknown> {
  const { journal, current, changed } = run;
  journal.write({ kind: 'interrupted', signal, ...(current ? (during ? { abandonedDuring: current.id } : { stoppedBefore: current.id }) : {}) });
  if (current && during) {
    journal.write({ kind: 'step-failed', step: current.id, error: `abandoned by ${signal} while it was changing the link: outcome unknown`, outcome: 'unknown', durationMs: 0, attempts: 1 });
  }
  const where = current ? `${during ? 'during' : 'at'} step ${current.id}` : undefined;
  const mayHaveChanged = current && during ? [...run.mayHaveChanged, current.id] : run.mayHaveChanged;
  journal.write({
    kind: 'run-finished', exitCode: ExitCode.interrupted, meaning: 'interrupted (abandoned)', durationMs: Date.now() - run.startedAt, changed,
    ...(mayHaveChanged.length ? { mayHaveChanged } : {}), ...(where ? { stoppedAt: where } : {}),
  });
  journal.close();
  return Promise.allSettled([closeResources(run.resources), run.lock?.release()]);
}
