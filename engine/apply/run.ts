// Apply: runs a Plan's steps in order against real resources. Checks the whole plan for
// data-loss steps and the connections before anything else, takes the link lock, asks the
// operator (or refuses) before the steps, re-renders each step's `when:`/`with:` with real outputs,
// journals every step before it acts, stops at the next step boundary on SIGINT/SIGTERM, and ends
// with a summary and an exit code.
//
// `ApplyRun` is the run loop: it takes each step in turn and decides what happens to it. What each
// step came to (the summary lines, what changed, the outputs later steps read, the exit code) is
// the run's record (engine/apply/run-record.ts), which only the loop tells. What it asks along the
// way does not change them: the guards (engine/apply/guards.ts), the operator's gates
// (engine/apply/gates.ts), the resume's verifications (engine/apply/resume.ts), the step runner
// (engine/apply/step-runner.ts), the outcome verifier (engine/apply/outcome.ts) and the pure
// decisions (exit-code.ts, step-end.ts, summary.ts) return what they found, and the run records it.
import type { Impact, RunResources } from '../core/types.js';
import type { PlannedStep } from '../plan/types.js';
import { resolveImpact } from '../step-api/impact.js';
import type { TemplateContext } from '../template/context.js';
import { runTimeContext } from '../template/context.js';
import { renderStepAtRunTime } from '../template/step-render.js';
import type { LinkLock, LinkState } from '../drivers/sql/lock.js';
import { ExitError, StepFailure, errorMessage } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { openJournal, type Journal, type JournalOpening } from './journal/write.js';
import type { ApplyOptions, ApplyResult, ResumeFrom } from './types.js';
import { checkDataLossAcknowledged, takeLinkLock } from './guards.js';
import { connectPreflight } from './preflight.js';
import { ResumeCourse, type ResumeServices } from './resume.js';
import { sentThroughPools, stepContext, type SentStatement, type StepContext } from './step-context.js';
import { runStepWithRetry, type StepEnd } from './step-runner.js';
import { DEFAULT_OUTCOME_DEADLINE_MS, DEFAULT_OUTCOME_POLL_MS, verificationText, verifyUntilKnown, type OutcomeOptions, type Verification } from './outcome.js';
import { runFinishedRecord } from './summary.js';
import { runStartRecord } from './run-start.js';
import { OperatorGates, type GateRefusal } from './gates.js';
import { RunRecord, type StepAtHand } from './run-record.js';
import { foresee, FORESEE_DEADLINE_MS } from './foresee.js';
import { noteSplitBrain } from './split-brain.js';

export async function applyPlan(options: ApplyOptions): Promise<ApplyResult> {
  const { plan, inventory } = options;
  checkDataLossAcknowledged(plan, options.allowDataLoss);
  // The run's connections, opened now: a replica that refuses us is exit 2 before anything else.
  const resources = options.resources ?? (await import('../drivers/run-resources.js')).createRunResources(inventory, { env: options.env, signal: options.signal, ...(options.stepSessions ? { sessions: options.stepSessions } : {}), ...(options.armShared ? { arm: options.armShared } : {}) });
  try {
    await connectPreflight(resources, inventory, plan);
    // A plan saved with --probe is bound to the link as it was then (engine/plan/drift.ts).
    await (await import('../plan/drift.js')).refuseIfDrifted({ plan, inventory, env: options.env, resources, signal: options.signal });
  } catch (error) {
    await resources.close().catch(() => undefined);
    // Ctrl-C while the connections were checked (a wave's run waiting for a session): nothing began.
    if (options.signal.aborted) throw new ExitError(ExitCode.interrupted, 'interrupted while the replicas were being checked, before anything ran. Nothing was run.');
    throw error;
  }
  const journal = openJournal(options.journalDir, options.runId, { ...journalOpening(options.resume), ...(options.flushOffThread ? { flushOffThread: true } : {}) });
  return new ApplyRun(options, resources, journal).execute();
}

/** A new run creates its journal; a resume appends to it where the read ended. */
function journalOpening(resume: ResumeFrom | undefined): JournalOpening {
  if (!resume) return { create: true };
  return resume.journal ? { continueAfter: resume.journal } : {};
}

/** The step being handled now (for interrupts and lock messages). */
interface CurrentStep {
  id: string;
  impact: string;
}

class ApplyRun {
  private readonly startedAt = Date.now();
  private readonly total: number;
  /** What each step came to, what changed, the outputs later steps read, the exit code. */
  private readonly record: RunRecord;
  /** Statements already journaled (engine/apply/step-context.ts SentStatement, as JSON). */
  private readonly statementsSent = new Set<string>();
  private readonly ctx: TemplateContext;
  private readonly outcomeOpts: OutcomeOptions;
  /** What the run hands to the services it asks (step contexts, the resume's verifications). */
  private readonly services: ResumeServices;
  private readonly gates: OperatorGates;
  private current: CurrentStep | undefined;
  private lock: LinkLock | undefined;
  /** What a resume decided before the first step, made at each step (engine/apply/resume.ts). */
  private resumed = ResumeCourse.none();

  constructor(
    private readonly opts: ApplyOptions,
    private readonly resources: RunResources,
    private readonly journal: Journal,
  ) {
    this.total = opts.plan.steps.length;
    this.ctx = runTimeContext(opts.inventory, opts.inputs, { id: opts.runId, started: opts.resume?.startedAt ?? new Date(this.startedAt).toISOString() });
    this.record = new RunRecord(opts.plan.steps, this.ctx, {
      journal, reporter: opts.reporter, linkName: opts.inventory.link.name, signalName: () => opts.interrupts?.signalName, invalidateRoles: () => resources.invalidateRoles(),
    });
    this.outcomeOpts = opts.outcome ?? { deadlineMs: DEFAULT_OUTCOME_DEADLINE_MS, pollMs: DEFAULT_OUTCOME_POLL_MS };
    this.gates = new OperatorGates(opts, journal);
    this.services = {
      opts,
      resources,
      journal,
      started: String(this.ctx.run.started),
      outcome: this.outcomeOpts,
      notice: (line) => this.record.notices.push(line),
      sent: (statement) => this.journalStatement(statement),
      observeLink: async () => this.lock?.observe(),
      changeGuard: (side) => this.lock?.changeGuard(side),
      answeredBefore: (step, question) => this.gates.answeredBefore(step, question),
      confirm: this.gates.confirm,
    };
  }

  /**
   * Journals a statement a step is about to send, once per step, target, text and parameters: a
   * poll sent a thousand times is one record (`runbook runs show` lists what was sent, for a change
   * ticket). Written before the statement goes out, so a crash cannot hide one that did.
   */
  private journalStatement(statement: SentStatement): void {
    const key = JSON.stringify([statement.step, statement.target, statement.text, statement.params ?? null]);
    if (this.statementsSent.has(key)) return;
    this.statementsSent.add(key);
    this.journal.write({ kind: 'statement', ...statement });
  }

  /** The whole run: its first journal record, the lock, every step, and the end. */
  async execute(): Promise<ApplyResult> {
    const { opts } = this;
    this.journal.write(runStartRecord(opts, String(this.ctx.run.started)));
    if (opts.lock) {
      this.lock = await takeLinkLock({
        inventory: opts.inventory, env: opts.env, holder: opts.lock.holder, ...(opts.lock.sessions ? { sessions: opts.lock.sessions } : {}), journal: this.journal, reporter: opts.reporter, notices: this.record.notices, startedAt: this.startedAt,
        currentStep: () => this.current?.id, ...(opts.resume ? { resuming: true } : {}),
        ...(opts.interrupts ? { say: (line: string) => opts.interrupts!.say(line) } : {}),
      });
    }
    const lock = this.lock;
    // What a resume of this run compares the link with; a resume records it once it accepted the link.
    if (lock && !opts.resume) this.recordLinkState(lock.lastKnown());
    await opts.reporter.emit({
      event: 'run-started', runId: opts.runId, runbook: opts.plan.runbook.name, link: opts.inventory.link.name, journal: this.journal.path, steps: this.total,
      ...(opts.resume ? { resumed: true } : {}),
      ...(lock ? { lock: { resource: lock.resource, held: lock.held, unreachable: lock.unreachable } } : {}),
    });

    // An abandoning second/third Ctrl-C exits from the signal handler: the journal gets its last word here.
    const unregister = opts.interrupts?.onAbandon((signal, during) => this.abandon(signal, during));
    try {
      // Before the first step: whether the link is still as the journal says, and which finished
      // reads a resume runs again (this may verify changes).
      if (opts.resume) {
        this.resumed = await ResumeCourse.decide(this.services, opts.resume);
        const accepted = this.resumed.acceptedState;
        if (accepted) this.recordLinkState(accepted);
      }
      let stopped = !(await this.askBeforeSteps());
      for (const [i, planned] of (stopped ? [] : opts.plan.steps).entries()) {
        if (!(await this.step(planned, i))) {
          stopped = true;
          break;
        }
      }
      const refusalLeft = stopped ? undefined : this.resumed.refusalLeft();
      if (refusalLeft !== undefined) throw new ExitError(ExitCode.refused, refusalLeft);
    } catch (error) {
      unregister?.();
      if (!(error instanceof ExitError)) return this.failInternally(error);
      this.record.stopped(error, this.current?.id);
    }
    unregister?.();
    await this.decideExitCode();
    return this.finish();
  }

  /** The one question before the steps (engine/apply/gates.ts); false when the run stops here. */
  private async askBeforeSteps(): Promise<boolean> {
    if (this.resumed.refuses) return true;
    const pending = (s: PlannedStep) => this.resumed.pending(s.id);
    // A resume's steps depend on what ran before: a prediction from the first step would mislead.
    const deadlineMs = this.opts.foreseeDeadlineMs ?? FORESEE_DEADLINE_MS;
    const refusal = await this.gates.beforeSteps(pending, this.opts.resume ? undefined : () => foresee(this.opts, deadlineMs), deadlineMs);
    if (refusal) this.refuseAtGate(refusal);
    return refusal === undefined;
  }

  private refuseAtGate(refusal: GateRefusal): void {
    this.record.refuse({ outcome: this.record.outcomes.find((o) => o.id === refusal.step)! }, refusal.error, refusal.journal);
  }

  /** Handles one planned step; false when the run stops here. */
  private async step(planned: PlannedStep, i: number): Promise<boolean> {
    const { opts } = this;
    const outcome = this.record.outcomes[i]!;
    const current = (this.current = { id: planned.id, impact: planned.impact });
    if (opts.signal.aborted) {
      this.record.interruptedBefore(planned);
      return false;
    }
    const spec = opts.runbook.steps.find((s) => s.id === planned.id);
    const loaded = opts.steps.get(planned.type);
    if (!spec || !loaded) throw new Error(`step ${planned.id} is in the plan but not in the runbook`);
    const step: StepAtHand = { planned, spec, def: loaded.definition, outcome };
    const resumed = this.resumed.at(spec.id);
    if (resumed.course === 'refuse') {
      this.record.refuse(step, resumed.message);
      return false;
    }
    if (resumed.course === 'restore') {
      await this.record.restore(step, resumed.earlier);
      return true;
    }
    const { earlier, readAgain } = resumed;
    await this.lock?.ensure();

    const rendered = renderStepAtRunTime(spec, this.ctx);
    if (rendered.skip) {
      await this.record.skip(step, rendered.reason);
      return true;
    }
    const impact = rendered.error ? planned.impact : resolveImpact(step.def, rendered.args, this.record.history);
    outcome.impact = impact;
    current.impact = impact;

    if (impact === 'dataLoss' && opts.allowDataLoss !== opts.inventory.link.name) {
      this.record.refuse(step, `data-loss step needs --allow-data-loss ${opts.inventory.link.name}`);
      return false;
    }

    const context = stepContext(this.services, spec, impact, this.record.history, this.record.outputs, earlier?.status === 'finished' ? earlier.outputs : undefined);

    if (impact !== 'read' && !rendered.error) {
      const check = await this.resumed.beforeChange(this.services, { spec, def: step.def, ...(earlier ? { earlier } : {}), args: rendered.args, context });
      if (check.verdict === 'done') {
        this.record.verifiedDone(step, 'it had already taken effect (verified on resume); not run again');
        return true;
      }
      if (check.verdict === 'refuse') {
        this.record.refuse(step, check.error);
        return false;
      }
    }

    if (impact !== 'read') {
      const refusal = await this.gates.beforeChange(planned, spec);
      if (refusal) {
        this.refuseAtGate(refusal);
        return false;
      }
    }

    const nonSafe = impact !== 'read';
    if (nonSafe) {
      // The confirmation may have taken minutes: the lock must still be this run's as the change
      // starts, as the servers say (a session a server ended without a word to the client holds nothing).
      await this.lock?.confirm();
      this.lock?.changing(spec.id);
    }
    const stepStarted = Date.now();
    const attempt = async (): Promise<{ end: StepEnd; verification?: Verification }> => {
      if (rendered.error) {
        this.journal.write({ kind: 'step-started', step: spec.id, type: spec.type, index: planned.index, impact, attempt: 1 });
        // Nothing was sent: the step could not even be rendered.
        return { end: { ok: false, error: new StepFailure('renderFailed', { error: rendered.error }, rendered.error, { notApplied: true }), outcome: 'failed', attempts: 1 } };
      }
      return this.attempt(step, { args: rendered.args, impact, context, nonSafe, readAgain, stepStarted });
    };
    // What a change step leaves on the link is this run's doing: a lock lost later is compared with
    // it, and the journal records it after the step's end (what a resume compares the link with).
    let leftBehind: LinkState | undefined;
    const attemptAndRecord = async (): Promise<{ end: StepEnd; verification?: Verification }> => {
      try {
        return await attempt();
      } finally {
        if (nonSafe) leftBehind = await this.lock?.changed();
      }
    };
    const label = `step ${spec.id} (${spec.type})`;
    const { end, verification } = nonSafe && opts.interrupts ? await opts.interrupts.nonSafe(label, attemptAndRecord) : await attemptAndRecord();
    const durationMs = Date.now() - stepStarted;
    outcome.durationMs = durationMs;
    outcome.attempts = end.attempts;

    if (end.ok) {
      await this.record.succeeded(step, impact, end.outputs, durationMs, end.attempts);
      if (leftBehind) this.recordLinkState(leftBehind, spec.id);
      return true;
    }
    if (verification?.result === 'done') {
      this.record.verifiedDone(step, `the answer was lost, but it took effect (${verificationText(verification)})`);
      this.record.notices.push(`${spec.id}: the connection was lost after the change was sent; verified that it took effect`);
      if (leftBehind) this.recordLinkState(leftBehind, spec.id);
      return true;
    }
    // A change the stopped run had started may have acted then, whatever this attempt did.
    const actedBefore = impact !== 'read' && this.resumed.actedBefore(spec.id);
    await this.record.failed(step, impact, end, verification, durationMs, actedBefore);
    if (leftBehind) this.recordLinkState(leftBehind, spec.id);
    return false;
  }

  private recordLinkState(state: LinkState, after?: string): void {
    this.journal.write({ kind: 'link-state', ...(after !== undefined ? { after } : {}), state });
    noteSplitBrain(this.record.notices, this.opts.inventory.link.name, state);
  }

  /**
   * The step's attempts (the step runner: deadlines, retries), each journaled before it acts;
   * when a change's outcome is unknown, its verify() is asked until the outcome is known.
   */
  private async attempt(
    { planned, spec, def }: StepAtHand,
    how: { args: Record<string, unknown>; impact: Impact; context: StepContext; nonSafe: boolean; readAgain: boolean; stepStarted: number },
  ): Promise<{ end: StepEnd; verification?: Verification }> {
    const { opts, journal, total } = this;
    const { args, impact, context, nonSafe, readAgain, stepStarted } = how;
    const end = await runStepWithRetry({
      definition: def,
      args,
      impact,
      context,
      nonSafe,
      ...(planned.timeout ? { timeoutMs: planned.timeout.ms } : {}),
      ...(planned.retry ? { retry: { count: planned.retry.count, delayMs: planned.retry.delayMs } } : {}),
      runSignal: opts.signal,
      interruptGraceMs: opts.interruptGraceMs ?? 10_000,
      ...(opts.interrupts ? { onSendState: (state: 'waiting' | 'sent') => opts.interrupts!.sendState(state) } : {}),
      sentThroughPools: () => sentThroughPools(context),
      ...(def.verify
        ? {
            verifyBeforeRetry: async () => {
              const v = await verifyUntilKnown(def, context, args, { ...this.outcomeOpts, unknownIsFinal: true });
              journal.write({ kind: 'step-verified', step: spec.id, result: v.result, why: 'retry', ...(v.detail ? { detail: v.detail } : {}) });
              return v;
            },
          }
        : {}),
      hooks: {
        beforeAttempt: (attempt) => {
          journal.write({ kind: 'step-started', step: spec.id, type: spec.type, index: planned.index, impact, attempt, ...(spec.target ? { target: spec.target } : {}) });
          void opts.reporter.emit({
            event: 'step-started', step: spec.id, index: planned.index, total, type: spec.type, impact, attempt,
            ...(spec.target ? { target: spec.target } : {}), ...(readAgain ? { readAgain: true } : {}),
          });
          // A change acts only once its started record is on disk (flushed off the thread in a wave).
          return impact === 'read' ? undefined : journal.durable();
        },
        onRetry: (attempt, error, delayMs) => {
          const message = errorMessage(error);
          journal.write({ kind: 'step-failed', step: spec.id, error: message, outcome: 'failed', durationMs: Date.now() - stepStarted, attempts: attempt, willRetry: true });
          void opts.reporter.emit({ event: 'step-failed', step: spec.id, error: `${message} (retrying in ${delayMs}ms)`, outcome: 'failed', durationMs: Date.now() - stepStarted, attempt, willRetry: true });
        },
      },
    });
    // The statement may have acted: ask the step's verify() until the outcome is known.
    if (!end.ok && end.outcome === 'unknown' && nonSafe) {
      context.log.progress(`${errorMessage(end.error).replace(/\.$/, '')}; verifying whether it took effect (for up to ${Math.round(this.outcomeOpts.deadlineMs / 1000)}s)`);
      const verification = await verifyUntilKnown(def, context, args, end.settled ? { ...this.outcomeOpts, after: end.settled } : this.outcomeOpts);
      journal.write({ kind: 'step-verified', step: spec.id, result: verification.result, why: 'unknown-outcome', ...(verification.detail ? { detail: verification.detail } : {}) });
      return { end, verification };
    }
    return { end };
  }

  /** After the steps: the lock's verdict, and an interrupt that came after the last step began. */
  private async decideExitCode(): Promise<void> {
    this.record.afterSteps(await this.lock?.verdict(), this.opts.signal.aborted);
  }

  /** The normal end: summary, journal, connections and lock released, the last event. */
  private async finish(): Promise<ApplyResult> {
    const { opts } = this;
    const summary = this.record.summary(opts.runId, this.journal.path, Date.now() - this.startedAt, { resumed: opts.resume !== undefined, lab: opts.identity?.inventory.lab === true });
    this.journal.write(runFinishedRecord(summary));
    await this.journal.close();
    await this.closeResources();
    await this.lock?.release();
    await this.opts.reporter.emit({ event: 'run-finished', exitCode: summary.exitCode, meaning: summary.meaning, summary });
    return { exitCode: summary.exitCode, summary };
  }

  /** An internal error (a bug): journaled, resources released, rethrown with whether a change was made. */
  private async failInternally(error: unknown): Promise<never> {
    const { journal } = this;
    const { changed } = this.record;
    const exitCode = this.record.failedInternally();
    journal.write({ kind: 'run-finished', exitCode, meaning: `internal error: ${errorMessage(error)}`, durationMs: Date.now() - this.startedAt, changed });
    await journal.close();
    await this.closeResources();
    await this.lock?.release();
    if (error && typeof error === 'object') Object.assign(error, { changeMade: changed.length > 0 });
    throw error;
  }

  /**
   * The journal's last word when a second or third Ctrl-C exits from the signal handler, written at
   * once; then the connections and the lock are closed (the exit waits for that only briefly).
   */
  private abandon(signal: string, during: string | undefined): Promise<unknown> {
    this.record.abandoned(signal, this.current?.id, during !== undefined, Date.now() - this.startedAt);
    return Promise.allSettled([this.journal.close(), this.closeResources(), this.lock?.release()]);
  }

  private async closeResources(): Promise<void> {
    try {
      await this.resources.close();
    } catch {
      // Closing is best effort; the run's outcome is already decided and journaled.
    }
  }
}
