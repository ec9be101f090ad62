// The state of one apply run, shared by the run loop (engine/apply/run.ts) and each step (engine/apply/step.ts):
// per-step outcomes for the summary, what changed, outputs and history for later steps, the
// journal and the reporter, and the exit code decided so far.
import type { RunResources } from '../core/types.js';
import type { StepDefinition, StepHistoryEntry } from '../step-api/types.js';
import type { ApplyOptions } from './run.js';
import type { Journal } from './journal/write.js';
import type { StepOutcomeSummary } from './events.js';
import type { LinkLock } from '../drivers/sql/lock.js';
import type { TemplateContext } from '../template/context.js';
import { runTimeContext } from '../template/context.js';
import { ExitCode } from '../core/exit-codes.js';
import { DEFAULT_OUTCOME_DEADLINE_MS, DEFAULT_OUTCOME_POLL_MS, type OutcomeOptions, type Verification } from './outcome.js';
import { verifiedOutputs } from './step-context.js';
import { refusalExitCode } from './finish.js';

export class ApplyRun {
  readonly startedAt = Date.now();
  readonly outcomes: StepOutcomeSummary[];
  readonly changed: string[] = [];
  /** Change steps that failed in a way that leaves open whether they acted (unknown, unclear failure). */
  readonly mayHaveChanged: string[] = [];
  readonly notices: string[] = [];
  readonly history: StepHistoryEntry[] = [];
  readonly outputs: Record<string, Record<string, unknown>> = {};
  readonly ctx: TemplateContext;
  readonly total: number;
  readonly outcomeOpts: OutcomeOptions;
  confirmed: boolean;
  exitCode: number = ExitCode.done;
  stoppedAt: string | undefined;
  /** The step being handled now (for interrupts and lock messages). */
  current: { id: string; impact: string } | undefined;
  lock: LinkLock | undefined;
  /** Opened on first use by a step, unless the caller gave its own. */
  resources: Promise<RunResources> | undefined;
  /** On resume: finished reads that run again, their result having held only at that moment (engine/apply/resume.ts). */
  readonly readAgain = new Set<string>();
  /** On resume: the change that may have acted, as verified before deciding what to read again. */
  resumeVerification: { step: string; verification: Verification } | undefined;

  constructor(
    readonly opts: ApplyOptions,
    readonly journal: Journal,
  ) {
    this.outcomes = opts.plan.steps.map((s) => ({ index: s.index, id: s.id, type: s.type, impact: s.impact, outcome: 'not run' }));
    this.ctx = runTimeContext(opts.inventory, opts.inputs, { id: opts.runId, started: opts.resume?.startedAt ?? new Date(this.startedAt).toISOString() });
    this.total = opts.plan.steps.length;
    this.outcomeOpts = opts.outcome ?? { deadlineMs: DEFAULT_OUTCOME_DEADLINE_MS, pollMs: DEFAULT_OUTCOME_POLL_MS };
    this.confirmed = opts.yes;
    if (opts.resources) this.resources = Promise.resolve(opts.resources);
  }

  getResources = (): Promise<RunResources> => {
    this.resources ??= import('../drivers/run-resources.js').then((m) => m.createRunResources(this.opts.inventory, { env: this.opts.env }));
    return this.resources;
  };

  /** A step's outputs are in: later steps can read them. */
  succeeded(id: string, type: string, outputs: Record<string, unknown>): void {
    this.outputs[id] = outputs;
    this.ctx.steps[id] = { outputs };
    this.history.push({ id, type, state: 'succeeded' });
  }

  /** A change step found already done by its verify(): it counts as done and changed. */
  recordVerified(id: string, def: StepDefinition<any>, outcome: StepOutcomeSummary, reason: string): void {
    const verified = verifiedOutputs(id, def);
    outcome.outcome = 'succeeded';
    outcome.reason = reason;
    const spec = this.opts.runbook.steps.find((s) => s.id === id)!;
    this.succeeded(id, spec.type, verified);
    this.changed.push(id);
    this.journal.write({ kind: 'step-finished', step: id, outputs: {}, durationMs: 0, attempts: 0, verified: true });
    void this.opts.reporter.emit({ event: 'step-finished', step: id, outputs: {}, durationMs: 0, attempts: 0 });
  }

  /** Whether this run (with the steps a resume restored) changed, or may have changed, the link. */
  changeMade(): boolean {
    return this.changed.length > 0 || this.mayHaveChanged.length > 0;
  }

  /** A step that did not run: journaled as failed with that outcome, and the run stops with `exitCode` (a refusal after a change: 4). */
  stopWith(outcome: StepOutcomeSummary, result: 'refused', error: string, exitCode: number, journalError = error): void {
    outcome.outcome = result;
    outcome.error = error;
    this.exitCode = exitCode === ExitCode.refused ? refusalExitCode(this.changeMade()) : exitCode;
    this.journal.write({ kind: 'step-failed', step: outcome.id, error: journalError, outcome: result, durationMs: 0, attempts: 0 });
  }
}
