// Runs one step: per-attempt deadline (AbortSignal + timer), retries with a delay, and the
// mapping of how an attempt ended (refusal, unknown outcome, timeout, interrupt) to a result.
// A timed-out change step is an unknown outcome, never retried: it may have acted. Change steps
// run as non-safe sections: an interrupt waits for them (engine/apply/interrupt.ts).
import type { Impact } from '../core/types.js';
import type { SendGate, StepDefinition, StepRunContext } from '../step-api/types.js';
import { OutcomeUnknown, StepFailure, definitelyNotApplied, errorExitCode, errorMessage } from '../core/errors.js';
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
  /**
   * Called before each attempt, before the step acts (the journal's `started` record); the attempt
   * begins once what it returns settled (the record on disk, when flushed off the thread).
   */
  beforeAttempt(attempt: number): void | Promise<void>;
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
  /**
   * Told when a change step's attempt says it waits to send (`waiting`) and when it sends
   * (`sent`): what an interrupt at that moment is announced as (engine/apply/interrupt.ts).
   */
  onSendState?(state: 'waiting' | 'sent'): void;
  /**
   * Asked before a change attempt that may have acted is tried again: only "not-done" lets it be
   * retried. Absent: such an attempt is never retried.
   */
  verifyBeforeRetry?(): Promise<{ result: 'done' | 'not-done' | 'unknown'; detail?: string }>;
  /** Whether the step sent a batch through its pools: the send gate counts as sent then, whatever the step told it. */
  sentThroughPools?(): boolean;
}

export type StepEnd =
  | { ok: true; outputs: Record<string, unknown>; attempts: number }
  | {
      ok: false; error: unknown; outcome: 'failed' | 'refused' | 'unknown' | 'interrupted'; exitCode?: number; attempts: number;
      /** After a change's timeout: settles when the attempt itself ended (its cancelled request answered). */
      settled?: Promise<unknown>;
      /** A change step that sent nothing in any attempt: the send gate saw every one end before it sent. */
      nothingSent?: true;
    };

/**
 * Whether a change step's attempt has sent anything: 'unknown' until the step says it has not
 * (a step that never says counts as sending from its start), 'waiting' from then until it sends.
 */
type SendState = 'unknown' | 'waiting' | 'sent';

/** What the step runner learns of an attempt while it runs. */
interface AttemptTrack {
  state: SendState;
  /** The step's run(), which may go on after its timeout ended the attempt. */
  running?: Promise<unknown>;
}

/**
 * The attempt's SendGate. While the step waits with nothing sent (a wave's change queued for one
 * of its server's shared sessions: finding r5conn-1), an interrupt ends the wait as for a read,
 * and a timeout is a failure before the change, not an unknown outcome (finding r5conn-3): nothing
 * left the process. `sending()` checks the interrupt and the deadline and marks the state in one
 * synchronous step, so nothing is sent after either once the attempt was ended as not sent.
 */
function sendGate(runSignal: AbortSignal, deadline: AbortSignal, track: AttemptTrack, told?: RunStepOptions['onSendState']): SendGate {
  const signal = AbortSignal.any([runSignal, deadline]);
  return {
    signal,
    notSent() {
      if (track.state !== 'unknown') return;
      track.state = 'waiting';
      told?.('waiting');
    },
    sending() {
      signal.throwIfAborted();
      track.state = 'sent';
      told?.('sent');
    },
  };
}

async function attemptOnce(opts: RunStepOptions, track: AttemptTrack): Promise<Record<string, unknown>> {
  const deadline = new AbortController();
  const signal = opts.nonSafe ? deadline.signal : AbortSignal.any([opts.runSignal, deadline.signal]);
  const gate = opts.nonSafe ? { sendGate: sendGate(opts.runSignal, deadline.signal, track, opts.onSendState) } : {};
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
  const running = Promise.resolve().then(() => opts.definition.run({ ...opts.context, signal, ...gate }, opts.args));
  running.catch(() => undefined);
  track.running = running;
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
    await opts.hooks.beforeAttempt(attempt);
    const track: AttemptTrack = { state: 'unknown' };
    try {
      const outputs = await attemptOnce(opts, track);
      return { ok: true, outputs, attempts: attempt };
    } catch (caught) {
      let error = caught;
      if (track.state === 'waiting' && opts.sentThroughPools?.()) track.state = 'sent';
      if (opts.runSignal.aborted && !opts.nonSafe) return { ok: false, error, outcome: 'interrupted', exitCode: ExitCode.interrupted, attempts: attempt };
      // Journaled with the step's end, so that a resume knows this change never left the process.
      const nothingSent = track.state === 'waiting' && !actedBefore ? { nothingSent: true as const } : {};
      if (track.state === 'waiting') {
        error = notSent(opts.context.stepId, caught);
        if (opts.runSignal.aborted) return { ok: false, error, outcome: 'interrupted', exitCode: ExitCode.interrupted, attempts: attempt, ...nothingSent };
      }
      if (error instanceof StepTimeout && opts.impact !== 'read') {
        const unknown = new OutcomeUnknown(`${error.message}; it may or may not have taken effect`);
        return { ok: false, error: unknown, outcome: 'unknown', exitCode: ExitCode.outcomeUnknown, attempts: attempt, ...(track.running ? { settled: track.running } : {}) };
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
      if (attempt >= maxAttempts) return { ok: false, error, outcome: 'failed', exitCode: code, attempts: attempt, ...nothingSent };
      if (opts.impact !== 'read' && !definitelyNotApplied(error)) {
        // The attempt may have acted (a script that ran in part): sent again only when its verify
        // says it did not take effect (attack r6safety finding 3: three ALTERs in one run).
        const check = opts.verifyBeforeRetry ? await opts.verifyBeforeRetry() : undefined;
        if (check?.result !== 'not-done') {
          const why = !check ? 'nothing can verify it' : check.result === 'done' ? 'its verify says it took effect' : `its verify could not tell${check.detail ? ` (${check.detail})` : ''}`;
          const notRetried = new Error(`${errorMessage(error).replace(/\.$/, '')}; not retried: this attempt may have acted, and ${why}`, { cause: error });
          return { ok: false, error: notRetried, outcome: 'failed', exitCode: code, attempts: attempt };
        }
        actedBefore ??= { attempt, error };
      }
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

/** A change step that ended before it sent anything: it changed nothing, whatever ended it. */
function notSent(stepId: string, error: unknown): StepFailure {
  if (error instanceof StepFailure && error.notApplied === true) return error;
  const why = error instanceof StepTimeout ? `${error.message} while it waited to send its change` : (error as Error)?.name === 'AbortError' ? `step ${stepId} was interrupted before it sent its change` : errorMessage(error).replace(/\.$/, '');
  return new StepFailure('notSent', { error: why }, `${why}; nothing was sent, so it did not take effect`, { notApplied: true, cause: error });
}
