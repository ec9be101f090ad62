// Apply: runs a Plan's steps in order against real resources. Checks the whole plan for
// data-loss steps and the connections before anything else, takes the link lock, asks (or
// refuses) before the first change step, re-renders each step's `when:`/`with:` with real outputs,
// journals every step before it acts, stops at the next step boundary on SIGINT/SIGTERM, and ends
// with a summary and an exit code.
//
// `ApplyRun` is the one owner of a run's state: what each step came to, what changed or may have,
// the outputs and history later steps read, the notices, the exit code. Only its methods change
// them. What it asks along the way does not change them: the guards (engine/apply/guards.ts), the
// resume's verifications (engine/apply/resume.ts), the step runner (engine/apply/step-runner.ts),
// the outcome verifier (engine/apply/outcome.ts) and the pure decisions (exit-code.ts, step-end.ts,
// summary.ts) return what they found, and the run records it.
import type { Impact, RunResources, StepSpec } from '../core/types.js';
import type { StepDefinition, StepHistoryEntry } from '../step-api/types.js';
import type { PlannedStep } from '../plan/types.js';
import { redactInputs } from '../plan/build.js';
import { resolveImpact } from '../step-api/impact.js';
import type { TemplateContext } from '../template/context.js';
import { runTimeContext } from '../template/context.js';
import { renderStepAtRunTime, skippedOutputs } from '../template/step-render.js';
import type { LinkLock, LinkState } from '../drivers/sql/lock.js';
import { ExitError, StepFailure, errorMessage } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { secretInputFingerprints } from '../core/secrets.js';
import { openJournal, runIdentity, type Journal, type JournalOpening } from './journal/write.js';
import type { StepState } from './journal/runs.js';
import type { StepOutcomeSummary } from './events.js';
import type { ApplyOptions, ApplyResult, ResumeFrom } from './types.js';
import { checkDataLossAcknowledged, confirmFirstChange, takeLinkLock } from './guards.js';
import { connectPreflight } from './preflight.js';
import { decideResume, refuseIfAlreadyInEffect, verifyBeforeRerun, type ResumeDecision, type ResumeServices } from './resume.js';
import { mayHaveActed } from './resume-reads.js';
import { stepContext, verifiedOutputs, type SentStatement, type StepContext } from './step-context.js';
import { runStepWithRetry, type StepEnd } from './step-runner.js';
import { DEFAULT_OUTCOME_DEADLINE_MS, DEFAULT_OUTCOME_POLL_MS, verificationText, verifyUntilKnown, type OutcomeOptions, type Verification } from './outcome.js';
import { failedStepEnd } from './step-end.js';
import { failureExitCode, refusalExitCode, stopExitCode } from './exit-code.js';
import { runFinishedRecord, runSummary } from './summary.js';
import { runQuestion } from './confirmation.js';

export async function applyPlan(options: ApplyOptions): Promise<ApplyResult> {
  const { plan, inventory } = options;
  checkDataLossAcknowledged(plan, options.allowDataLoss);
  // The run's connections, opened now: a replica that refuses us is exit 2 before anything else.
  const resources = options.resources ?? (await import('../drivers/run-resources.js')).createRunResources(inventory, { env: options.env });
  try {
    await connectPreflight(resources, inventory, plan);
    // A plan saved with --probe is bound to the link as it was then (engine/plan/drift.ts).
    await (await import('../plan/drift.js')).refuseIfDrifted({ plan, inventory, env: options.env, resources, signal: options.signal });
  } catch (error) {
    await resources.close().catch(() => undefined);
    throw error;
  }
  const journal = openJournal(options.journalDir, options.runId, journalOpening(options.resume));
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

/** One planned step as the run handles it. */
interface StepAtHand {
  planned: PlannedStep;
  spec: StepSpec;
  def: StepDefinition<any>;
  /** Its line in the summary. */
  outcome: StepOutcomeSummary;
}

class ApplyRun {
  private readonly startedAt = Date.now();
  private readonly total: number;
  private readonly outcomes: StepOutcomeSummary[];
  private readonly changed: string[] = [];
  /** Change steps that failed in a way that leaves open whether they acted (unknown, unclear failure). */
  private readonly mayHaveChanged: string[] = [];
  private readonly notices: string[] = [];
  /** Statements already journaled (engine/apply/step-context.ts SentStatement, as JSON). */
  private readonly statementsSent = new Set<string>();
  private readonly history: StepHistoryEntry[] = [];
  private readonly outputs: Record<string, Record<string, unknown>> = {};
  private readonly ctx: TemplateContext;
  private readonly outcomeOpts: OutcomeOptions;
  /** What the run hands to the services it asks (step contexts, the resume's verifications). */
  private readonly services: ResumeServices;
  private confirmed: boolean;
  /** Gates the operator confirmed before the steps ran: step id -> its question and when. */
  private readonly answered = new Map<string, { question: string; at: string }>();
  private exitCode: number = ExitCode.done;
  private stoppedAt: string | undefined;
  private current: CurrentStep | undefined;
  private lock: LinkLock | undefined;
  private resumed: ResumeDecision = { readAgain: new Set() };
  /** A resume's refusal not yet made at a step (it is made at the first step the resume would run). */
  private pendingRefusal: string | undefined;

  constructor(
    private readonly opts: ApplyOptions,
    private readonly resources: RunResources,
    private readonly journal: Journal,
  ) {
    this.total = opts.plan.steps.length;
    this.outcomes = opts.plan.steps.map((s) => ({ index: s.index, id: s.id, type: s.type, impact: s.impact, outcome: 'not run' }));
    this.ctx = runTimeContext(opts.inventory, opts.inputs, { id: opts.runId, started: opts.resume?.startedAt ?? new Date(this.startedAt).toISOString() });
    this.outcomeOpts = opts.outcome ?? { deadlineMs: DEFAULT_OUTCOME_DEADLINE_MS, pollMs: DEFAULT_OUTCOME_POLL_MS };
    this.confirmed = opts.yes;
    this.services = {
      opts,
      resources,
      journal,
      started: String(this.ctx.run.started),
      outcome: this.outcomeOpts,
      notice: (line) => this.notices.push(line),
      sent: (statement) => this.journalStatement(statement),
      observeLink: async () => this.lock?.observe(),
      answeredBefore: (step, question) => {
        const a = this.answered.get(step);
        // Only the very question asked: a message rendered differently now is asked again.
        return a && a.question === question ? a.at : undefined;
      },
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
    this.journalStart();
    if (opts.lock) {
      this.lock = await takeLinkLock({
        inventory: opts.inventory, env: opts.env, holder: opts.lock.holder, ...(opts.lock.sessions ? { sessions: opts.lock.sessions } : {}), journal: this.journal, reporter: opts.reporter, notices: this.notices, startedAt: this.startedAt,
        currentStep: () => this.current?.id,
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
        this.resumed = await decideResume(this.services, opts.resume);
        const refusal = this.resumed.refusal;
        // A refusal that names a step is made there (steps before it are restored); any other at the
        // first step the resume would run.
        if (refusal) this.pendingRefusal = refusal.step === undefined ? refusal.message : undefined;
        else if (this.resumed.state) this.recordLinkState(this.resumed.state);
      }
      let stopped = !(await this.askBeforeSteps());
      for (const [i, planned] of (stopped ? [] : opts.plan.steps).entries()) {
        if (!(await this.step(planned, i))) {
          stopped = true;
          break;
        }
      }
      // Every step was restored: the refusal still stands.
      if (!stopped && this.pendingRefusal) throw new ExitError(ExitCode.refused, this.pendingRefusal);
    } catch (error) {
      unregister?.();
      if (!(error instanceof ExitError)) return this.failInternally(error);
      this.stopped(error);
    }
    unregister?.();
    await this.decideExitCode();
    return this.finish();
  }

  /**
   * The one question before the steps (engine/apply/confirmation.ts), unless --yes: every gate known
   * now, the changes and the data-loss acknowledgement together. False when the run stops here: no
   * one to ask, or anything but yes (refused at the first step the question covers). An interrupt
   * while asking lets the run stop at its first step, as at any step boundary.
   */
  private async askBeforeSteps(): Promise<boolean> {
    const { opts } = this;
    if (opts.yes || this.resumed.refusal) return true;
    const states = opts.resume?.states;
    const question = runQuestion(opts.plan, opts.steps, (s) => states?.get(s.id)?.status !== 'finished' || this.resumed.readAgain.has(s.id));
    if (!question) return true;
    const outcome = this.outcomes.find((o) => o.id === question.firstStep)!;
    if (!opts.confirmRun) {
      const error = 'needs confirmation and there is no terminal to ask on: review the plan, then pass --yes';
      this.refuse({ outcome }, error, `refused: ${error}`);
      return false;
    }
    const yes = await opts.confirmRun(question);
    if (opts.signal.aborted) return true;
    if (!yes) {
      this.refuse({ outcome }, 'not confirmed: the answer was not "yes"', 'refused: the operator did not confirm');
      return false;
    }
    const at = opts.answeredBefore?.at ?? new Date().toISOString();
    for (const c of question.confirmations) this.answered.set(c.step, { question: c.question, at });
    this.journal.write({ kind: 'confirmed', by: 'operator', ...(opts.answeredBefore ? { via: opts.answeredBefore.via } : {}), steps: question.confirmations.map((c) => c.step), questions: question.confirmations.map((c) => c.question), changes: question.changes.map((c) => c.step) });
    // The changes were confirmed with the plan: no second question before the first of them.
    if (question.changes.length) this.confirmed = true;
    return true;
  }

  private journalStart(): void {
    const { opts, journal } = this;
    const identity = runIdentity();
    if (opts.resume) {
      const torn = opts.resume.journal?.tornLastLine;
      journal.write({ kind: 'run-resumed', runId: opts.runId, ...identity, ...(opts.argv ? { argv: opts.argv } : {}), ...(torn !== undefined ? { tornLastLine: torn } : {}) });
      return;
    }
    const secrets = secretInputFingerprints(opts.runbook, opts.inputs);
    journal.write({
      kind: 'run-started',
      runId: opts.runId,
      runbook: { name: opts.plan.runbook.name, file: opts.plan.runbook.file, sha256: opts.plan.runbook.sha256 },
      link: opts.inventory.link.name,
      started: String(this.ctx.run.started),
      inputs: redactInputs(opts.runbook, opts.inputs),
      ...(secrets ? { secretInputs: secrets } : {}),
      ...identity,
      ...(opts.argv ? { argv: opts.argv } : {}),
      ...(opts.identity ? { inventory: opts.identity.inventory, ...(opts.identity.runbookPath ? { runbookPath: opts.identity.runbookPath } : {}) } : {}),
      steps: this.total,
    });
  }

  /** Handles one planned step; false when the run stops here. */
  private async step(planned: PlannedStep, i: number): Promise<boolean> {
    const { opts } = this;
    const outcome = this.outcomes[i]!;
    const current = (this.current = { id: planned.id, impact: planned.impact });
    if (opts.signal.aborted) {
      this.interruptedBefore(planned);
      return false;
    }
    const spec = opts.runbook.steps.find((s) => s.id === planned.id);
    const loaded = opts.steps.get(planned.type);
    if (!spec || !loaded) throw new Error(`step ${planned.id} is in the plan but not in the runbook`);
    const step: StepAtHand = { planned, spec, def: loaded.definition, outcome };
    const earlier = opts.resume?.states.get(spec.id);

    const readAgain = this.resumed.readAgain.has(spec.id);
    const refusal = this.resumed.refusal;
    if (refusal?.step === spec.id) {
      // The journal says it is done, and it is not in effect: it is not restored as this run's change.
      this.refuse(step, refusal.message);
      return false;
    }
    if (earlier?.status === 'finished' && !readAgain) {
      await this.restore(step, earlier);
      return true;
    }
    if (this.pendingRefusal !== undefined) {
      const message = this.pendingRefusal;
      this.pendingRefusal = undefined;
      this.refuse(step, message);
      return false;
    }
    await this.lock?.ensure();

    const rendered = renderStepAtRunTime(spec, this.ctx);
    if (rendered.skip) {
      await this.skip(step, rendered.reason);
      return true;
    }
    const impact = rendered.error ? planned.impact : resolveImpact(step.def, rendered.args, this.history);
    outcome.impact = impact;
    current.impact = impact;

    if (impact === 'dataLoss' && opts.allowDataLoss !== opts.inventory.link.name) {
      this.refuse(step, `data-loss step needs --allow-data-loss ${opts.inventory.link.name}`);
      return false;
    }

    const context = stepContext(this.services, spec, impact, this.history, this.outputs);

    if (earlier && (earlier.status === 'started' || earlier.status === 'failed') && impact !== 'read' && !rendered.error) {
      const early = this.resumed.verified?.step === spec.id ? this.resumed.verified.verification : undefined;
      const check = await verifyBeforeRerun(this.services, { spec, def: step.def, earlier, args: rendered.args, context, ...(early ? { early } : {}) });
      if (check.verdict === 'done') {
        this.verifiedDone(step, 'it had already taken effect (verified on resume); not run again');
        return true;
      }
      if (check.verdict === 'refuse') {
        this.refuse(step, check.error);
        return false;
      }
    } else if (opts.resume && !earlier && impact !== 'read' && !rendered.error) {
      const already = await refuseIfAlreadyInEffect(this.services, { spec, def: step.def, args: rendered.args, context });
      if (already) {
        this.refuse(step, already);
        return false;
      }
    }

    if (impact !== 'read' && !this.confirmed) {
      const question = `Step ${planned.index} (${spec.id}, ${spec.type}) is the first that changes link ${opts.inventory.link.name}.`;
      const refusal = await confirmFirstChange(opts.confirm, question);
      if (refusal) {
        this.refuse(step, refusal.error, refusal.journal);
        return false;
      }
      this.confirmed = true;
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
      await this.succeeded(step, impact, end.outputs, durationMs, end.attempts);
      if (leftBehind) this.recordLinkState(leftBehind, spec.id);
      return true;
    }
    if (verification?.result === 'done') {
      this.verifiedDone(step, `the answer was lost, but it took effect (${verificationText(verification)})`);
      this.notices.push(`${spec.id}: the connection was lost after the change was sent; verified that it took effect`);
      if (leftBehind) this.recordLinkState(leftBehind, spec.id);
      return true;
    }
    // A change the stopped run had started may have acted then, whatever this attempt did.
    const actedBefore = earlier !== undefined && impact !== 'read' && mayHaveActed(earlier);
    await this.failed(step, impact, end, verification, durationMs, actedBefore);
    if (leftBehind) this.recordLinkState(leftBehind, spec.id);
    return false;
  }

  private recordLinkState(state: LinkState, after?: string): void {
    this.journal.write({ kind: 'link-state', ...(after !== undefined ? { after } : {}), state });
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
      hooks: {
        beforeAttempt: (attempt) => {
          journal.write({ kind: 'step-started', step: spec.id, type: spec.type, index: planned.index, impact, attempt, ...(spec.target ? { target: spec.target } : {}) });
          void opts.reporter.emit({
            event: 'step-started', step: spec.id, index: planned.index, total, type: spec.type, impact, attempt,
            ...(spec.target ? { target: spec.target } : {}), ...(readAgain ? { readAgain: true } : {}),
          });
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
      const verification = await verifyUntilKnown(def, context, args, this.outcomeOpts);
      journal.write({ kind: 'step-verified', step: spec.id, result: verification.result, why: 'unknown-outcome', ...(verification.detail ? { detail: verification.detail } : {}) });
      return { end, verification };
    }
    return { end };
  }

  // What a step came to. Each records it in the summary line, the outputs and history later steps
  // read, the journal and the reporter; those that stop the run set its exit code.

  /** Interrupted before the step began: the run stops at this boundary. */
  private interruptedBefore(planned: PlannedStep): void {
    this.exitCode = ExitCode.interrupted;
    this.stoppedAt = `before step ${planned.id} (${planned.index} of ${this.total})`;
    this.journal.write({ kind: 'interrupted', signal: this.opts.interrupts?.signalName ?? 'signal', stoppedBefore: planned.id });
  }

  /** On resume: a step the journal shows finished keeps its outputs and is not run again. */
  private async restore({ planned, spec, def, outcome }: StepAtHand, earlier: Extract<StepState, { status: 'finished' }>): Promise<void> {
    outcome.outcome = 'succeeded';
    outcome.reason = earlier.verified ? 'verified done before the resume; not run again' : 'done before the resume; not run again';
    this.keepOutputs(spec, earlier.verified ? verifiedOutputs(spec.id, def) : earlier.outputs);
    if (planned.impact !== 'read') this.changed.push(spec.id);
    await this.opts.reporter.emit({ event: 'step-restored', step: spec.id, index: planned.index, total: this.total, verified: earlier.verified === true });
  }

  private async skip({ planned, spec, def, outcome }: StepAtHand, reason: string): Promise<void> {
    outcome.outcome = 'skipped';
    outcome.reason = reason;
    this.history.push({ id: spec.id, type: spec.type, state: 'skipped' });
    this.ctx.steps[spec.id] = { outputs: skippedOutputs(spec.id, def) };
    this.journal.write({ kind: 'step-skipped', step: spec.id, reason, index: planned.index, type: spec.type });
    await this.opts.reporter.emit({ event: 'step-skipped', step: spec.id, index: planned.index, total: this.total, reason });
  }

  /** A step that may not run: journaled as refused, and the run stops (exit 3, or 4 after a change). */
  private refuse({ outcome }: Pick<StepAtHand, 'outcome'>, error: string, journalError = error): void {
    outcome.outcome = 'refused';
    outcome.error = error;
    this.exitCode = refusalExitCode(this.changeMade());
    this.journal.write({ kind: 'step-failed', step: outcome.id, error: journalError, outcome: 'refused', durationMs: 0, attempts: 0 });
  }

  /** A change step found already done by its verify(): it counts as done and changed. */
  private verifiedDone({ spec, def, outcome }: StepAtHand, reason: string): void {
    outcome.outcome = 'succeeded';
    outcome.reason = reason;
    this.keepOutputs(spec, verifiedOutputs(spec.id, def));
    this.changed.push(spec.id);
    this.journal.write({ kind: 'step-finished', step: spec.id, outputs: {}, durationMs: 0, attempts: 0, verified: true });
    void this.opts.reporter.emit({ event: 'step-finished', step: spec.id, outputs: {}, durationMs: 0, attempts: 0 });
  }

  private async succeeded({ spec, outcome }: StepAtHand, impact: Impact, outputs: Record<string, unknown>, durationMs: number, attempts: number): Promise<void> {
    outcome.outcome = 'succeeded';
    this.keepOutputs(spec, outputs);
    if (impact !== 'read') {
      this.changed.push(spec.id);
      // The roles behind `primary`/`secondary` may have changed with it.
      this.resources.invalidateRoles();
    }
    this.journal.write({ kind: 'step-finished', step: spec.id, outputs, durationMs, attempts });
    await this.opts.reporter.emit({ event: 'step-finished', step: spec.id, outputs, durationMs, attempts });
  }

  /** A step that ended without success (after any verification): the run stops with the exit code it maps to. */
  private async failed(
    { planned, spec, outcome }: StepAtHand,
    impact: Impact,
    end: Extract<StepEnd, { ok: false }>,
    verification: Verification | undefined,
    durationMs: number,
    actedBefore: boolean,
  ): Promise<void> {
    const { opts, journal } = this;
    const failed = failedStepEnd(end, verification, { spec, impact, linkName: opts.inventory.link.name, actedBefore });
    outcome.outcome = failed.outcome;
    outcome.error = failed.message;
    this.history.push({ id: spec.id, type: spec.type, state: 'failed' });
    journal.write({ kind: 'step-failed', step: spec.id, error: failed.message, outcome: failed.outcome, durationMs, attempts: end.attempts });
    await opts.reporter.emit({ event: 'step-failed', step: spec.id, error: failed.message, outcome: failed.outcome, durationMs, attempt: end.attempts, willRetry: false });
    if (failed.outcome === 'interrupted') {
      this.stoppedAt = `during step ${spec.id} (${planned.index} of ${this.total}; it only reads, so it is safe to run again)`;
      journal.write({ kind: 'interrupted', signal: opts.interrupts?.signalName ?? 'signal', stoppedBefore: spec.id });
    }
    if (failed.mayHaveChanged) this.mayHaveChanged.push(spec.id);
    this.exitCode = failureExitCode(failed.requested, this.changed.length > 0 || failed.mayHaveChanged);
    // A step that asked for exit 4 itself says it changed something: the summary must not deny it.
    if (this.exitCode === ExitCode.failedAfterChange && !this.changed.length && !this.mayHaveChanged.length) this.mayHaveChanged.push(spec.id);
  }

  /** A step's outputs are in: later steps can read them. */
  private keepOutputs(spec: StepSpec, outputs: Record<string, unknown>): void {
    this.outputs[spec.id] = outputs;
    this.ctx.steps[spec.id] = { outputs };
    this.history.push({ id: spec.id, type: spec.type, state: 'succeeded' });
  }

  /** Whether this run (with the steps a resume restored) changed, or may have changed, the link. */
  private changeMade(): boolean {
    return this.changed.length > 0 || this.mayHaveChanged.length > 0;
  }

  /** The run stopped by a refusal or stop raised mid-run (e.g. the lock lost and taken by another run). */
  private stopped(error: ExitError): void {
    // After a change, a refusal is exit 4, not 3.
    this.exitCode = stopExitCode(error.exitCode, this.changeMade());
    const current = this.current;
    if (current) {
      const o = this.outcomes.find((x) => x.id === current.id);
      if (o && o.outcome === 'not run') Object.assign(o, { outcome: 'refused', error: error.message });
    }
    this.notices.push(error.message);
  }

  /** After the steps: the lock's verdict, and an interrupt that came after the last step began. */
  private async decideExitCode(): Promise<void> {
    // The lock lost to someone else while the last steps ran: this run cannot claim the outcome.
    const lockLost = await this.lock?.verdict();
    if (lockLost) {
      if (!this.notices.includes(lockLost.message)) this.notices.push(lockLost.message);
      if (this.exitCode !== ExitCode.interrupted) this.exitCode = lockLost.exitCode;
    }
    if (this.opts.signal.aborted && this.exitCode === ExitCode.done) {
      this.exitCode = ExitCode.interrupted;
      this.stoppedAt ??= 'after the last step';
    }
  }

  /** The normal end: summary, journal, connections and lock released, the last event. */
  private async finish(): Promise<ApplyResult> {
    const summary = runSummary({
      runId: this.opts.runId, journal: this.journal.path, exitCode: this.exitCode, durationMs: Date.now() - this.startedAt,
      changed: this.changed, mayHaveChanged: this.mayHaveChanged, steps: this.outcomes, notices: this.notices, stoppedAt: this.stoppedAt,
    });
    this.journal.write(runFinishedRecord(summary));
    this.journal.close();
    await this.closeResources();
    await this.lock?.release();
    await this.opts.reporter.emit({ event: 'run-finished', exitCode: summary.exitCode, meaning: summary.meaning, summary });
    return { exitCode: summary.exitCode, summary };
  }

  /** An internal error (a bug): journaled, resources released, rethrown with whether a change was made. */
  private async failInternally(error: unknown): Promise<never> {
    const { journal, changed } = this;
    this.exitCode = failureExitCode(undefined, changed.length > 0);
    journal.write({ kind: 'run-finished', exitCode: this.exitCode, meaning: `internal error: ${errorMessage(error)}`, durationMs: Date.now() - this.startedAt, changed });
    journal.close();
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
    const { journal, current, changed } = this;
    journal.write({ kind: 'interrupted', signal, ...(current ? (during ? { abandonedDuring: current.id } : { stoppedBefore: current.id }) : {}) });
    if (current && during) {
      journal.write({ kind: 'step-failed', step: current.id, error: `abandoned by ${signal} while it was changing the link: outcome unknown`, outcome: 'unknown', durationMs: 0, attempts: 1 });
    }
    const where = current ? `${during ? 'during' : 'at'} step ${current.id}` : undefined;
    const mayHaveChanged = current && during ? [...this.mayHaveChanged, current.id] : this.mayHaveChanged;
    journal.write({
      kind: 'run-finished', exitCode: ExitCode.interrupted, meaning: 'interrupted (abandoned)', durationMs: Date.now() - this.startedAt, changed,
      ...(mayHaveChanged.length ? { mayHaveChanged } : {}), ...(where ? { stoppedAt: where } : {}),
    });
    journal.close();
    return Promise.allSettled([this.closeResources(), this.lock?.release()]);
  }

  private async closeResources(): Promise<void> {
    try {
      await this.resources.close();
    } catch {
      // Closing is best effort; the run's outcome is already decided and journaled.
    }
  }
}
