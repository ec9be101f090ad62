// Which results recorded before a crash a resume may keep. A change the journal shows done is not
// repeated, and the reads before it keep their results: they describe the link before that
// change, which is what later steps that name them mean (`steps.before.outputs.secondary`). A read
// after the last done change was a fact about a moment before the crash (LSNs equal and still,
// one primary, a backup taken); the changes still to come must not rest on it, so it runs again
// unless its step type declares that its result holds for the whole run (`resultHolds: run`).
// A change that may have acted decides where "the last done change" is, so it is verified first.
//
// Keeping the reads before the last done change is sound only because the resume first checks
// the link against the journal (engine/apply/resume.ts): that change is verified in effect now,
// and the link's roles, modes and presence on each side are what the journal recorded after it.
// So a role or split-brain check made before it still describes the link it was made on; had
// anyone acted since, the resume would have refused instead of reaching these rules.
import type { Impact } from '../core/types.js';
import type { StepState } from './journal/runs.js';

export interface ResumeStep {
  id: string;
  /** The impact the journal recorded when the step started, else the plan's. */
  impact: Impact;
  resultHolds: 'moment' | 'run';
}

export interface ResumeBoundary {
  /** Index of the last change step the journal shows finished; -1 when none. */
  lastDoneChange: number;
  /**
   * The first change step after it that did not finish but left a record (started, or failed):
   * it may have acted, and whether it did moves the boundary, so it is verified before anything
   * is read again.
   */
  mayHaveActed?: number;
}

const isChange = (step: ResumeStep) => step.impact !== 'read';

export function resumeBoundary(steps: readonly ResumeStep[], states: ReadonlyMap<string, StepState>): ResumeBoundary {
  let lastDoneChange = -1;
  steps.forEach((step, i) => {
    if (isChange(step) && states.get(step.id)?.status === 'finished') lastDoneChange = i;
  });
  for (let i = lastDoneChange + 1; i < steps.length; i++) {
    const step = steps[i]!;
    if (!isChange(step)) continue;
    const state = states.get(step.id);
    if (state && (state.status === 'started' || state.status === 'failed') && !neverSent(state)) return { lastDoneChange, mayHaveActed: i };
    break;
  }
  return { lastDoneChange };
}

/** The finished reads after step `after` whose result held only at the moment they ran. */
export function readsToRunAgain(steps: readonly ResumeStep[], states: ReadonlyMap<string, StepState>, after: number): string[] {
  return steps
    .filter((step, i) => i > after && !isChange(step) && step.resultHolds === 'moment' && states.get(step.id)?.status === 'finished')
    .map((step) => step.id);
}

/**
 * Whether a change the journal shows unfinished may have acted: it started and never ended, it
 * ended with an outcome that leaves it open (unknown, interrupted), or it failed without saying
 * it was not applied (a script that ran in part: attack r6safety finding 3). A `failed` record
 * from before `mayHaveActed` was written counts as may-have-acted: refusing more is the safe side.
 * Such a change whose verification cannot tell is refused; one refused outright, or failed with
 * nothing applied, runs again.
 */
export function mayHaveActed(state: StepState): boolean {
  if (neverSent(state)) return false;
  if (state.status === 'started') return true;
  if (state.status !== 'failed') return false;
  if (state.outcome === 'unknown' || state.outcome === 'interrupted') return true;
  return state.outcome === 'failed' && state.mayHaveActed !== false;
}

/**
 * A change the journal shows ended before it sent anything (interrupted or timed out while it
 * waited for a wave's shared session: its send gate saw it): as good as never begun.
 */
export function neverSent(state: StepState): boolean {
  return state.status === 'failed' && state.nothingSent === true;
}
