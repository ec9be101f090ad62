// Runs one step: per-attempt deadline (AbortSignal + timer), retries with a delay, and the
// mapping of how an attempt ended (refusal, unknown outcome, timeout, interrupt) to a result.
// A timed-out change step is an unknown outcome, never retried: it may have acted. Change steps
// run as non-safe sections: an interrupt waits for them (engine/apply/interrupt.ts).
import type { Impact } from '../core/types.js';
import type { StepDefinition, StepRunContext } from '../step-api/types.js';
import { OutcomeUnknown, definitelyNotApplied, errorExitCode, errorMessage } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { sleep } from '../core/sleep.js';
import { formatDuration } from '../core/duration.js';

export class StepTimeout extends Error {
  constructor(stepId: string, ms: number) {
    super(`step ${stepId} timed out after ${formatDuration(ms)}`);
    this.name = 'StepTimeout';
  }
}

export class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

export interface AttemptHooks {
  /** Called before each attempt, before the step acts (the journal's `started` record). */
  beforeAttempt(attempt: number): void;
  /** Called when an attempt failed and another will follow. */
  onRetry(attempt: number, error: unknown, delayMs: number): void;
}

export interface RunStepOptions {
  definition: StepDefinition<any>;
  args: Record<string, unknown>;
  impact: Impact;
  /** Everything in the context except `signal`, which is made per attempt. */
  context: Omit<StepRunContext, 'signal'>;
  timeoutMs?: number;
  retry?: { count: number; delayMs: number };
  /** Aborted on SIGINT/SIGTERM. */
  runSignal: AbortSignal;
  /** How long to wait for a step to wind down after an interrupt before giving up on it. */
  interruptGraceMs: number;
  /**
   * A non-safe section (change and dataLoss steps): the step never sees the interrupt, so a
   * FAILOVER is not cancelled between being sent and being answered; only its timeout stops it.
   */
  nonSafe?: boolean;
  hooks: AttemptHooks;
}

export type StepEnd =
  | { ok: true; outputs: Record<string, unknown>; attempts: number }
  | { ok: false; error: unknown; outcome: 'failed' | 'refused' | 'unknown' | 'interrupted'; exitCode?: number; attempts: number };

async function attemptOnce(opts: RunStepOptions): Promise<Record<string, unknown>> {
  const deadline = new AbortController();
  const signal = opts.nonSafe ? deadline.signal : AbortSignal.any([opts.runSignal, deadline.signal]);
  const cleanups: Array<() => void> = [];
  const limits = new Promise<never>((_, reject) => {
    if (opts.timeoutMs !== undefined) {
      const timer = setTimeout(() => {
        const error = new StepTimeout(opts.context.stepId, opts.timeoutMs!);
        deadline.abort(error);
        reject(error);
      }, opts.timeoutMs);
      cleanups.push(() => clearTimeout(timer));
    }
    // After an interrupt the step gets a grace period to stop at a safe point.
    const onInterrupt = () => {
      const timer = setTimeout(() => reject(new Interrupted()), opts.interruptGraceMs);
      cleanups.push(() => clearTimeout(timer));
    };
    if (opts.nonSafe) return;
    if (opts.runSignal.aborted) onInterrupt();
    else opts.runSignal.addEventListener('abort', onInterrupt, { once: true });
    cleanups.push(() => opts.runSignal.removeEventListener('abort', onInterrupt));
  });
  limits.catch(() => undefined);
  const running = Promise.resolve().then(() => opts.definition.run({ ...opts.context, signal }, opts.args));
  running.catch(() => undefined);
  try {
    const outputs = await Promise.race([running, limits]);
    return outputs && typeof outputs === 'object' ? outputs : {};
  } finally {
    for (const c of cleanups) c();
  }
}

export async function runStepWithRetry(opts: RunStepOptions): Promise<StepEnd> {
  const maxAttempts = 1 + Math.max(0, opts.retry?.count ?? 0);
  let attempt = 0;
  /** An earlier attempt of a change that failed and may have acted before it did. */
  let actedBefore: { attempt: number; error: unknown } | undefined;
  for (;;) {
    attempt++;
    opts.hooks.beforeAttempt(attempt);
    try {
      const outputs = await attemptOnce(opts);
      return { ok: true, outputs, attempts: attempt };
    } catch (error) {
      if (opts.runSignal.aborted && !opts.nonSafe) return { ok: false, error, outcome: 'interrupted', exitCode: ExitCode.interrupted, attempts: attempt };
      if (error instanceof StepTimeout && opts.impact !== 'read') {
        const unknown = new OutcomeUnknown(`${error.message}; it may or may not have taken effect`);
        return { ok: false, error: unknown, outcome: 'unknown', exitCode: ExitCode.outcomeUnknown, attempts: attempt };
      }
      const code = errorExitCode(error);
      if (code === ExitCode.refused) {
        if (!actedBefore) return { ok: false, error, outcome: 'refused', exitCode: code, attempts: attempt };
        // This attempt did nothing, but an earlier one may have: the step is no refusal (which
        // says nothing was changed, and which a resume would send again unverified).
        const earlier = `attempt ${actedBefore.attempt} may have changed something before it failed (${errorMessage(actedBefore.error).replace(/\.$/, '')})`;
        return { ok: false, error: new Error(`${errorMessage(error).replace(/\.$/, '')}; but ${earlier}`), outcome: 'failed', exitCode: code, attempts: attempt };
      }
      if (code === ExitCode.outcomeUnknown) return { ok: false, error, outcome: 'unknown', exitCode: code, attempts: attempt };
      if (attempt >= maxAttempts) return { ok: false, error, outcome: 'failed', exitCode: code, attempts: attempt };
      if (opts.impact !== 'read' && !definitelyNotApplied(error)) actedBefore ??= { attempt, error };
      const delayMs = opts.retry?.delayMs ?? 0;
      opts.hooks.onRetry(attempt, error, delayMs);
      // An interrupt cuts the delay short (the wait rejects); the check below ends the retries.
      await sleep(delayMs, opts.runSignal).catch(() => undefined);
      if (opts.runSignal.aborted) {
        return { ok: false, error: new Interrupted(), outcome: 'interrupted', exitCode: ExitCode.interrupted, attempts: attempt };
      }
    }
  }
}
