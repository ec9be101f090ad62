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
import { intercept, sealedPoolMethod, type Method } from '../drivers/sql/read-only-pool.js';
import { asArmCaller } from '../drivers/arm/read-only-arm.js';
import { armCallerOf } from './step-context.js';

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
  /** The change requests the step sent through its pools and ARM client so far, over all its attempts (engine/apply/step-context.ts changesSent). */
  changesSent?(): ChangesSent | undefined;
}

type ChangesSent = { count: number; multiStatement: number; mayHaveActed: number };

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
  // Once the runner has decided about this attempt (done, failed, timed out, "nothing was sent"),
  // its run() may go on, but nothing more of it reaches a server (attack r7fix finding 9: a change
  // attempt ended as not sent sent its ALTER a second later, after the retry had sent it too).
  let ended = false;
  cleanups.push(() => (ended = true));
  const sql: StepRunContext['sql'] = async (side) => fencedPool(await opts.context.sql(side), () => ended, opts.context.stepId);
  // Its ARM requests are this attempt's, whenever they go out: refused once it ended (attack r7safe finding 3).
  const caller = armCallerOf(opts.context as Parameters<typeof armCallerOf>[0]);
  const run = () => opts.definition.run({ ...opts.context, sql, signal, ...gate }, opts.args);
  const running = Promise.resolve().then(() => (caller ? asArmCaller({ ...caller, ended: () => ended }, run) : run()));
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
    // What this attempt sent: the step's count now, less what the attempts before it sent.
    const base = opts.changesSent?.() ?? { count: 0, multiStatement: 0, mayHaveActed: 0 };
    const sentNow = (): ChangesSent => {
      const now = opts.changesSent?.() ?? base;
      return { count: now.count - base.count, multiStatement: now.multiStatement - base.multiStatement, mayHaveActed: now.mayHaveActed - base.mayHaveActed };
    };
    // What the step sent over all its attempts: an earlier attempt's change is not forgotten (attack r7safe finding 1).
    const sentByStep = (): ChangesSent => opts.changesSent?.() ?? { count: 0, multiStatement: 0, mayHaveActed: 0 };
    try {
      const outputs = await attemptOnce(opts, track);
      return { ok: true, outputs, attempts: attempt };
    } catch (caught) {
      let error = caught;
      if (track.state === 'waiting' && opts.sentThroughPools?.()) track.state = 'sent';
      if (opts.runSignal.aborted && !opts.nonSafe) return { ok: false, error, outcome: 'interrupted', exitCode: ExitCode.interrupted, attempts: attempt };
      // Journaled with the step's end, so that a resume knows this change never left the process.
      const nothingSent = track.state === 'waiting' && !actedBefore ? { nothingSent: true as const } : {};
      if (opts.impact !== 'read') error = answerOfOneRequest(opts.context.stepId, sentByStep(), error);
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
        // A refusal says nothing was changed, and a resume sends a refused step again unverified:
        // not so once this step sent a change (attack r7fix finding 16: a plugin that refused after
        // its ALTER), or an earlier attempt may have acted.
        const sent = opts.impact !== 'read' ? sentByStep().mayHaveActed : 0;
        if (!actedBefore && sent === 0) return { ok: false, error, outcome: 'refused', exitCode: code, attempts: attempt };
        const earlier = actedBefore
          ? `attempt ${actedBefore.attempt} may have changed something before it failed (${errorMessage(actedBefore.error).replace(/\.$/, '')})`
          : `the step had sent ${sent} change request${sent > 1 ? 's' : ''} before it refused, so it may have acted`;
        return { ok: false, error: new Error(`${errorMessage(error).replace(/\.$/, '')}; but ${earlier}`, { cause: error }), outcome: 'failed', exitCode: code, attempts: attempt };
      }
      if (code === ExitCode.outcomeUnknown) return { ok: false, error, outcome: 'unknown', exitCode: code, attempts: attempt };
      if (attempt >= maxAttempts) return { ok: false, error, outcome: 'failed', exitCode: code, attempts: attempt, ...nothingSent };
      if (opts.impact !== 'read' && !definitelyNotApplied(error)) {
        // An attempt that ran in part is never sent again whole: a verify's "not done" says only
        // that the whole effect is not there, not that none of it ran (attack r7fix finding 5: batch
        // 1 of a script sent three times).
        const inPart = ranInPart(error, sentNow());
        if (inPart) {
          const notRetried = new Error(`${errorMessage(error).replace(/\.$/, '')}; not retried: ${inPart}, and sending it again would run that part twice`, { cause: error });
          return { ok: false, error: notRetried, outcome: 'failed', exitCode: code, attempts: attempt };
        }
        // The attempt may have acted: sent again only when its verify says it did not take effect
        // (attack r6safety finding 3: three ALTERs in one run).
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

/**
 * A driver's own error (a plugin lets an mssql RequestError or an ARM RestError through) answers the
 * one request it came on: it shows that the step changed nothing only when every change request the
 * step sent (over all its attempts) was answered by an error of its own that shows it did not run
 * (engine/apply/step-pool.ts, changes.mayHaveActed). Otherwise it is wrapped so that nothing reads it
 * as "not applied" (no blind retry, journaled may-have-acted, exit 4), as sqlExec words its own
 * (attack r7fix finding 1: `ALTER ...; THROW ...` through a plugin's ctx.sql was retried three
 * times and summed up as "Nothing was changed"; attack r7safe finding 1: an ALTER that succeeded,
 * then a read-back that failed, the same).
 */
function answerOfOneRequest(stepId: string, sent: ChangesSent, error: unknown): unknown {
  if (error instanceof StepFailure || !definitelyNotApplied(error)) return error;
  if (sent.mayHaveActed === 0) return error;
  const message = errorMessage(error).replace(/\.$/, '');
  if (sent.multiStatement === 0 && sent.count === 1) {
    return new Error(`${message}; this error answers another request than the change step ${stepId} had sent, so it does not show that nothing of it took effect`, { cause: error });
  }
  const what = sent.multiStatement > 0 ? 'a change batch of more than one statement' : `${sent.count} change requests`;
  return new Error(`${message}; step ${stepId} had sent ${what} by then, so this error does not show that nothing of it took effect`, { cause: error });
}

/** Why an attempt's failure shows it ran in part (a script's batches that completed, more than one change request), if it does. */
function ranInPart(error: unknown, sent: ChangesSent): string | undefined {
  const completed = (error as { batchesCompleted?: unknown })?.batchesCompleted;
  if (typeof completed === 'number' && completed > 0) return `${completed === 1 ? 'batch 1' : `batches 1-${completed}`} of this attempt ran`;
  if (sent.count > 1) return `this attempt had sent ${sent.count} change requests`;
  return undefined;
}

type Pool = Awaited<ReturnType<StepRunContext['sql']>>;

/** `pool`, and every request made on it, refusing to send once `ended()`. */
function fencedPool(pool: Pool, ended: () => boolean, stepId: string): Pool {
  const fence = (send: Method): Method => (...args) => {
    if (ended()) throw new Error(`step ${stepId}: this attempt has ended, so nothing more of it is sent`);
    return send(...args);
  };
  const fencedRequest = (request: object) => intercept(request, (k, send) => (k === 'query' || k === 'batch' || k === 'execute' || k === 'bulk' ? fence(send) : undefined));
  return intercept(pool, (key, method, proxy) => {
    if (key === 'query' || key === 'batch') return fence(method);
    if (key === 'request') return (...args) => fencedRequest(method(...args) as object);
    // The step pool's connect() resolves to the step pool: this view instead, or the fence is gone (attack r7safe finding 2).
    if (key === 'connect' || key === 'close') return sealedPoolMethod(key, method, proxy, () => new Error('unreachable'));
    return undefined;
  });
}

/** A change step that ended before it sent anything: it changed nothing, whatever ended it. */
function notSent(stepId: string, error: unknown): StepFailure {
  if (error instanceof StepFailure && error.notApplied === true) return error;
  const why = error instanceof StepTimeout ? `${error.message} while it waited to send its change` : (error as Error)?.name === 'AbortError' ? `step ${stepId} was interrupted before it sent its change` : errorMessage(error).replace(/\.$/, '');
  return new StepFailure('notSent', { error: why }, `${why}; nothing was sent, so it did not take effect`, { notApplied: true, cause: error });
}
