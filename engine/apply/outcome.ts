// Unknown outcomes: a change step whose connection dropped or whose deadline hit after it sent
// its statement may or may not have acted. The step's verify() is asked, again and again, until
// it says `done` or `not-done` or the deadline passes. Never "failed" while it may have happened.
import type { StepSpec } from '../core/types.js';
import type { StepDefinition, StepRunContext } from '../step-api/types.js';
import { errorMessage } from '../core/errors.js';
import { sleep } from '../core/sleep.js';

export type VerifyResult = 'done' | 'not-done' | 'unknown';

export interface OutcomeOptions {
  /** How long to keep asking before reporting `unknown`. */
  deadlineMs: number;
  /** Pause between two questions. */
  pollMs: number;
  /**
   * An `unknown` answer (the step has no way to tell, e.g. a sqlExec without `verify`) is final;
   * only errors are asked again. For a check of what should be settled (a change finished long ago).
   */
  unknownIsFinal?: boolean;
  /**
   * The step's attempt, still winding down after its timeout (its cancelled request waits for the
   * server's answer): no check is made before it ended. A check on another session meanwhile could
   * read the link before a statement the server cannot stop part-way (a FAILOVER) acts, and call it
   * "not done" while it happens (attack r5conn finding 6: a wave's shared sessions). A single run's
   * one session queued the check behind it anyway; waiting here does the same in both modes, for
   * every step type, without keeping a shared session from the other links meanwhile.
   */
  after?: Promise<unknown>;
}

export const DEFAULT_OUTCOME_DEADLINE_MS = 120_000;
export const DEFAULT_OUTCOME_POLL_MS = 1_000;

export interface Verification {
  result: VerifyResult;
  attempts: number;
  /** Why the last answer was `unknown` (an error, or no verify at all). */
  detail?: string;
}

/** Asks verify() until the outcome is known or the deadline passes; never throws. */
export async function verifyUntilKnown(
  def: StepDefinition<any>,
  context: Omit<StepRunContext, 'signal'>,
  args: Record<string, unknown>,
  opts: OutcomeOptions,
): Promise<Verification> {
  if (!def.verify) return { result: 'unknown', attempts: 0, detail: `step type ${def.type} has no way to verify its effect` };
  const deadline = Date.now() + opts.deadlineMs;
  if (opts.after && !(await settlesWithin(opts.after, opts.deadlineMs))) {
    return { result: 'unknown', attempts: 0, detail: `its cancelled request had not ended after ${Math.round(opts.deadlineMs / 1000)}s, so no check was made` };
  }
  let attempts = 0;
  let detail: string | undefined;
  for (;;) {
    attempts++;
    const left = Math.max(1, deadline - Date.now());
    try {
      context.invalidateRoles?.();
      const result = await def.verify({ ...context, signal: AbortSignal.timeout(left) }, args);
      // No way to check with these arguments: asking once a second for two minutes would only
      // repeat that (attack r7drill #9: 120 lines, and a drill's deadline called it a hang).
      if (result === 'unknowable') return { result: 'unknown', attempts, detail: 'the step has no way to check it' };
      if (result !== 'unknown') return { result, attempts };
      detail = 'the check could not tell';
      if (opts.unknownIsFinal) return { result, attempts, detail };
    } catch (error) {
      detail = errorMessage(error);
    }
    if (Date.now() + opts.pollMs >= deadline) return { result: 'unknown', attempts, ...(detail ? { detail } : {}) };
    context.log.progress(`Outcome of ${context.stepId} not known yet (${detail}); asking again.`);
    await sleep(opts.pollMs);
  }
}

/** What the operator should look at when a change step's outcome stays unknown. */
export function whatToCheck(spec: StepSpec, linkName: string): string {
  const role =
    `the roles on both replicas (SELECT ag.name, rs.role_desc FROM sys.availability_groups ag JOIN ` +
    `sys.dm_hadr_availability_replica_states rs ON ag.group_id = rs.group_id WHERE rs.is_local = 1 AND ag.name = N'${linkName.replace(/'/g, "''")}')`;
  if (spec.type.startsWith('arm')) return `the link in Azure (armGetLink or Get-AzSqlInstanceLink) and ${role}`;
  return role;
}

/** Verify answers rendered for the journal and messages. */
export function verificationText(v: Verification): string {
  if (v.result === 'done') return `verified done (after ${v.attempts} check${v.attempts === 1 ? '' : 's'})`;
  if (v.result === 'not-done') return 'verified NOT done';
  return `still unknown${v.detail ? ` (${v.detail})` : ''}`;
}

/** Whether `work` settles (either way) within `ms`. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([work.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
