// What a run came to, step by step: each step's line in the summary, what changed or may have, the
// outputs and history later steps read, the notices, where it stopped and its exit code. `RunRecord`
// is the one owner of that state; the run loop (engine/apply/run.ts) tells it what each step came
// to, and each method records it in the summary line, the outputs, the journal and the reporter
// alike. Those that stop the run set its exit code (the pure decisions: exit-code.ts, step-end.ts).
import type { Impact, StepSpec } from '../core/types.js';
import type { StepDefinition, StepHistoryEntry } from '../step-api/types.js';
import type { PlannedStep } from '../plan/types.js';
import type { TemplateContext } from '../template/context.js';
import { skippedOutputs } from '../template/step-render.js';
import type { ExitError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import type { Journal } from './journal/write.js';
import type { StepState } from './journal/runs.js';
import type { Reporter, RunSummary, StepOutcomeSummary } from './events.js';
import { verifiedOutputs } from './step-context.js';
import type { StepEnd } from './step-runner.js';
import type { Verification } from './outcome.js';
import { failedStepEnd } from './step-end.js';
import { failureExitCode, refusalExitCode, stopExitCode } from './exit-code.js';
import { runSummary } from './summary.js';

/** One planned step as the run handles it. */
export interface StepAtHand {
  planned: PlannedStep;
  spec: StepSpec;
  def: StepDefinition<any>;
  /** Its line in the summary. */
  outcome: StepOutcomeSummary;
}

export interface RunRecordDeps {
  journal: Journal;
  reporter: Reporter;
  linkName: string;
  /** The first interrupt's signal, once one came. */
  signalName(): string | undefined;
  /** A change may have moved the roles behind `primary`/`secondary`. */
  invalidateRoles(): void;
}

export class RunRecord {
  private readonly total: number;
  /** Each step's line in the summary, in plan order. */
  readonly outcomes: StepOutcomeSummary[];
  readonly changed: string[] = [];
  /** Change steps that failed in a way that leaves open whether they acted (unknown, unclear failure). */
  readonly mayHaveChanged: string[] = [];
  /** Lines for the summary's Attention list. */
  readonly notices: string[] = [];
  /** What later steps' `when:` and verifications read. */
  readonly history: StepHistoryEntry[] = [];
  readonly outputs: Record<string, Record<string, unknown>> = {};
  private exitCode: number = ExitCode.done;
  private stoppedAt: string | undefined;

  constructor(
    steps: readonly PlannedStep[],
    /** The template context later steps render with: their `steps.<id>.outputs` are kept in it. */
    private readonly ctx: TemplateContext,
    private readonly deps: RunRecordDeps,
  ) {
    this.total = steps.length;
    this.outcomes = steps.map((s) => ({ index: s.index, id: s.id, type: s.type, impact: s.impact, outcome: 'not run' }));
  }

  get code(): number {
    return this.exitCode;
  }

  /** Interrupted before the step began: the run stops at this boundary. */
  interruptedBefore(planned: PlannedStep): void {
    this.exitCode = ExitCode.interrupted;
    this.stoppedAt = `before step ${planned.id} (${planned.index} of ${this.total})`;
    this.deps.journal.write({ kind: 'interrupted', signal: this.deps.signalName() ?? 'signal', stoppedBefore: planned.id });
  }

  /** On resume: a step the journal shows finished keeps its outputs and is not run again. */
  async restore({ planned, spec, def, outcome }: StepAtHand, earlier: Extract<StepState, { status: 'finished' }>): Promise<void> {
    outcome.outcome = 'succeeded';
    outcome.reason = earlier.verified ? 'verified done before the resume; not run again' : 'done before the resume; not run again';
    this.keepOutputs(spec, earlier.verified ? verifiedOutputs(spec.id, def) : earlier.outputs);
    if (planned.impact !== 'read') this.changed.push(spec.id);
    await this.deps.reporter.emit({ event: 'step-restored', step: spec.id, index: planned.index, total: this.total, verified: earlier.verified === true });
  }

  async skip({ planned, spec, def, outcome }: StepAtHand, reason: string): Promise<void> {
    outcome.outcome = 'skipped';
    outcome.reason = reason;
    this.history.push({ id: spec.id, type: spec.type, state: 'skipped' });
    this.ctx.steps[spec.id] = { outputs: skippedOutputs(spec.id, def) };
    this.deps.journal.write({ kind: 'step-skipped', step: spec.id, reason, index: planned.index, type: spec.type });
    await this.deps.reporter.emit({ event: 'step-skipped', step: spec.id, index: planned.index, total: this.total, reason });
  }

  /** A step that may not run: journaled as refused, and the run stops (exit 3, or 4 after a change). */
  refuse({ outcome }: Pick<StepAtHand, 'outcome'>, error: string, journalError = error): void {
    outcome.outcome = 'refused';
    outcome.error = error;
    this.exitCode = refusalExitCode(this.changeMade());
    this.deps.journal.write({ kind: 'step-failed', step: outcome.id, error: journalError, outcome: 'refused', durationMs: 0, attempts: 0 });
  }

  /** A change step found already done by its verify(): it counts as done and changed. */
  verifiedDone({ spec, def, outcome }: StepAtHand, reason: string): void {
    outcome.outcome = 'succeeded';
    outcome.reason = reason;
    this.keepOutputs(spec, verifiedOutputs(spec.id, def));
    this.changed.push(spec.id);
    this.deps.journal.write({ kind: 'step-finished', step: spec.id, outputs: {}, durationMs: 0, attempts: 0, verified: true });
    void this.deps.reporter.emit({ event: 'step-finished', step: spec.id, outputs: {}, durationMs: 0, attempts: 0 });
  }

  async succeeded({ spec, outcome }: StepAtHand, impact: Impact, outputs: Record<string, unknown>, durationMs: number, attempts: number): Promise<void> {
    outcome.outcome = 'succeeded';
    this.keepOutputs(spec, outputs);
    if (impact !== 'read') {
      this.changed.push(spec.id);
      // The roles behind `primary`/`secondary` may have changed with it.
      this.deps.invalidateRoles();
    }
    this.deps.journal.write({ kind: 'step-finished', step: spec.id, outputs, durationMs, attempts });
    await this.deps.reporter.emit({ event: 'step-finished', step: spec.id, outputs, durationMs, attempts });
  }

  /** A step that ended without success (after any verification): the run stops with the exit code it maps to. */
  async failed(
    { planned, spec, outcome }: StepAtHand,
    impact: Impact,
    end: Extract<StepEnd, { ok: false }>,
    verification: Verification | undefined,
    durationMs: number,
    actedBefore: boolean,
  ): Promise<void> {
    const { journal, reporter } = this.deps;
    const failed = failedStepEnd(end, verification, { spec, impact, linkName: this.deps.linkName, actedBefore });
    outcome.outcome = failed.outcome;
    outcome.error = failed.message;
    this.history.push({ id: spec.id, type: spec.type, state: 'failed' });
    // `nothingSent`: the send gate saw the change end before it sent anything, so a resume treats it as never begun.
    // `mayHaveActed`: whether a resume must verify it before sending it again (and refuse when that cannot tell).
    journal.write({
      kind: 'step-failed', step: spec.id, error: failed.message, outcome: failed.outcome, durationMs, attempts: end.attempts,
      ...(end.nothingSent && !actedBefore ? { nothingSent: true } : {}), ...(impact !== 'read' ? { mayHaveActed: failed.mayHaveChanged } : {}),
    });
    await reporter.emit({ event: 'step-failed', step: spec.id, error: failed.message, outcome: failed.outcome, durationMs, attempt: end.attempts, willRetry: false });
    if (failed.outcome === 'interrupted') {
      const safe = impact === 'read' ? 'it only reads' : 'it had sent nothing yet';
      this.stoppedAt = `during step ${spec.id} (${planned.index} of ${this.total}; ${safe}, so it is safe to run again)`;
      journal.write({ kind: 'interrupted', signal: this.deps.signalName() ?? 'signal', stoppedBefore: spec.id });
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
  changeMade(): boolean {
    return this.changed.length > 0 || this.mayHaveChanged.length > 0;
  }

  /** The run stopped by a refusal or stop raised mid-run (e.g. the lock lost and taken by another run). */
  stopped(error: ExitError, current: string | undefined): void {
    // After a change, a refusal is exit 4, not 3.
    this.exitCode = stopExitCode(error.exitCode, this.changeMade());
    if (current) {
      const o = this.outcomes.find((x) => x.id === current);
      if (o && o.outcome === 'not run') Object.assign(o, { outcome: 'refused', error: error.message });
    }
    this.notices.push(error.message);
  }
  /**
   * After the steps: the lock lost to someone else while the last steps ran (this run cannot claim
   * the outcome), and an interrupt that came after the last step began.
   */
  afterSteps(lockLost: { message: string; exitCode: number } | undefined, interrupted: boolean): void {
    if (lockLost) {
      if (!this.notices.includes(lockLost.message)) this.notices.push(lockLost.message);
      if (this.exitCode !== ExitCode.interrupted) this.exitCode = lockLost.exitCode;
    }
    if (interrupted && this.exitCode === ExitCode.done) {
      this.exitCode = ExitCode.interrupted;
      this.stoppedAt ??= 'after the last step';
    }
  }

  /**
   * The journal's last word when a second or third Ctrl-C exits from the signal handler, written at
   * once: where the run stopped, and a change it abandoned (`during`) as an unknown outcome.
   */
  abandoned(signal: string, current: string | undefined, during: boolean, durationMs: number): void {
    const { journal } = this.deps;
    journal.write({ kind: 'interrupted', signal, ...(current ? (during ? { abandonedDuring: current } : { stoppedBefore: current }) : {}) });
    if (current && during) {
      journal.write({ kind: 'step-failed', step: current, error: `abandoned by ${signal} while it was changing the link: outcome unknown`, outcome: 'unknown', durationMs: 0, attempts: 1 });
    }
    const where = current ? `${during ? 'during' : 'at'} step ${current}` : undefined;
    const mayHaveChanged = current && during ? [...this.mayHaveChanged, current] : this.mayHaveChanged;
    journal.write({
      kind: 'run-finished', exitCode: ExitCode.interrupted, meaning: 'interrupted (abandoned)', durationMs, changed: this.changed,
      ...(mayHaveChanged.length ? { mayHaveChanged } : {}), ...(where ? { stoppedAt: where } : {}),
    });
  }

  /** An internal error (a bug) ends the run: the exit code says whether a change was made. */
  failedInternally(): number {
    this.exitCode = failureExitCode(undefined, this.changed.length > 0);
    return this.exitCode;
  }

  /** `run`: whether it resumes a journal (steps ran before), and whether it ran on the embedded lab. */
  summary(runId: string, journal: string, durationMs: number, run: { resumed: boolean; lab: boolean }): RunSummary {
    // Refused or interrupted before any step began (a refusal is made before the step acts).
    const nothingRan = !run.resumed && this.outcomes.every((o) => o.outcome === 'not run' || (o.outcome === 'refused' && o.attempts === undefined));
    const notResumable = run.lab ? 'lab' : nothingRan ? 'nothing-ran' : undefined;
    return runSummary({
      runId, journal, exitCode: this.exitCode, durationMs,
      changed: this.changed, mayHaveChanged: this.mayHaveChanged, steps: this.outcomes, notices: this.notices, stoppedAt: this.stoppedAt,
      ...(notResumable ? { notResumable } : {}),
    });
  }
}
