// How a step that did not succeed ends, once an unclear outcome was verified: the outcome the
// summary shows, the message, the exit code it asks for, and whether it may have changed the link.
// Pure; the run (engine/apply/run.ts) records it. (An unclear outcome verified done is a success.)
import type { Impact, StepSpec } from '../core/types.js';
import { definitelyNotApplied, errorMessage } from '../core/errors.js';
import type { StepEnd } from './step-runner.js';
import { whatToCheck, type Verification } from './outcome.js';

export interface FailedStep {
  outcome: 'failed' | 'refused' | 'unknown' | 'interrupted';
  message: string;
  /** The exit code the step's end asks for; undefined: decided by whether anything changed. */
  requested?: number;
  /** The step may have changed the link: the summary must say so, and the exit code is at least 4. */
  mayHaveChanged: boolean;
}

export function failedStepEnd(
  end: Extract<StepEnd, { ok: false }>,
  verification: Verification | undefined,
  step: {
    spec: StepSpec;
    impact: Impact;
    linkName: string;
    /** On resume: the journal shows the step started before (or ended unclear), so it may have acted then, whatever this attempt did. */
    actedBefore?: boolean;
  },
): FailedStep {
  let message = errorMessage(end.error);
  // A clause added below follows the error's words, not its closing full stop ("...else.; outcome").
  const words = () => message.replace(/\.\s*$/, '');
  let outcome = end.outcome;
  let requested = end.exitCode;
  if (verification?.result === 'not-done') {
    message = `${words()}; verified that it did NOT take effect`;
    outcome = 'failed';
    requested = undefined;
  } else if (verification) {
    message = `${words()}; outcome still unknown after ${verification.attempts} check(s)${verification.detail ? ` (${verification.detail})` : ''}. Check ${whatToCheck(step.spec, step.linkName)} before anything else`;
  }
  // Did this step change anything? Not if it only reads, if the server refused it outright, or if
  // its verification says it did not take effect; otherwise it may have, and the summary says so.
  const thisAttempt = step.impact !== 'read' && outcome !== 'refused' && verification?.result !== 'not-done' && !definitelyNotApplied(end.error);
  // A check's "not done" is a snapshot (an ARM delete in progress does not show on the link): what
  // the stopped run sent may still act, so "Nothing was changed" would be a promise it cannot keep.
  const before = step.actedBefore === true && step.impact !== 'read';
  if (before && !thisAttempt) {
    message = `${message.replace(/\.$/, '')}. The run that stopped had started this step before this resume, so that attempt may have acted (or may still be acting): check ${whatToCheck(step.spec, step.linkName)}`;
  }
  return { outcome, message, ...(requested !== undefined ? { requested } : {}), mayHaveChanged: thisAttempt || before };
}
