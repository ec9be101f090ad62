// Apply: runs a Plan's steps in order against real resources. Checks the whole plan for
// data-loss steps before running anything, asks (or refuses) before the first change step,
// re-renders each step's `when:`/`with:` with real outputs, journals every step before it acts,
// stops at the next step boundary on SIGINT/SIGTERM, and ends with a summary and an exit code.
// The guards are in engine/apply/guards.ts, one step in engine/apply/step.ts, the end in engine/apply/finish.ts.
import type { Inventory, Runbook, RunResources } from '../core/types.js';
import type { Plan } from '../plan/types.js';
import { redactInputs } from '../plan/build.js';
import type { LoadedStep } from '../step-api/types.js';
import { ExitError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { openJournal, runIdentity } from './journal/write.js';
import type { Reporter, RunSummary } from './events.js';
import type { Confirm } from '../ui/prompt.js';
import type { Interrupts } from './interrupt.js';
import type { LockHolder } from '../drivers/sql/lock.js';
import type { StepState } from './journal/runs.js';
import type { OutcomeOptions } from './outcome.js';
import { checkDataLossAcknowledged, takeLinkLock } from './guards.js';
import { applyStep } from './step.js';
import { decideReadsAgain } from './resume.js';
import { abandonRun, finishRun, finishWithInternalError, refusalExitCode } from './finish.js';
import { ApplyRun } from './state.js';
import { connectPreflight } from './preflight.js';
import { secretInputFingerprints } from '../core/secrets.js';


export interface ApplyOptions {
  plan: Plan;
  runbook: Runbook;
  inventory: Inventory;
  steps: ReadonlyMap<string, LoadedStep>;
  /** Real input values (the plan holds redacted ones). */
  inputs: Record<string, unknown>;
  runId: string;
  yes: boolean;
  allowDataLoss?: string;
  /** The run's environment (lab passwords live here, never in process.env). */
  env: NodeJS.ProcessEnv;
  resources?: RunResources;
  reporter: Reporter;
  /** Undefined when there is no terminal to ask: apply then refuses before a change step. */
  confirm?: Confirm;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
  journalDir: string;
  interruptGraceMs?: number;
  argv?: string[];
  /** Ctrl-C handling with non-safe sections (the CLI passes one; `signal` should be its signal). */
  interrupts?: Interrupts;
  /** Take the link lock on the replicas for the whole run (the CLI always does). */
  lock?: { holder: LockHolder };
  /** Recorded in the journal so that a resume can check nothing changed. */
  identity?: { inventory: { file?: string; lab?: boolean; sha256: string }; runbookPath?: string };
  /** Continue run `runId`: its journal's step states. */
  /** `startedAt`: the first run's start, so `run.started` (e.g. "backups since the run began") keeps meaning the same. */
  /** `journal`: the journal as read, so that appending starts where the read ended (a torn last line is cut off). */
  resume?: { states: ReadonlyMap<string, StepState>; startedAt?: string; journal?: { size: number; keep: number; needsNewline: boolean; tornLastLine?: number } };
  /** How long to keep verifying an unknown outcome. */
  outcome?: OutcomeOptions;
}

export interface ApplyResult {
  exitCode: number;
  summary: RunSummary;
}

export async function applyPlan(given: ApplyOptions): Promise<ApplyResult> {
  const { plan, inventory } = given;
  checkDataLossAcknowledged(plan, given.allowDataLoss);
  // The run's connections, opened now: a replica that refuses us is exit 2 before anything else.
  const resources = given.resources ?? (await import('../drivers/run-resources.js')).createRunResources(inventory, { env: given.env });
  const opts: ApplyOptions = { ...given, resources };
  try {
    await connectPreflight(resources, inventory);
    // A plan saved with --probe is bound to the link as it was then (engine/plan/drift.ts).
    await (await import('../plan/drift.js')).refuseIfDrifted({ plan, inventory, env: opts.env, resources, signal: opts.signal });
  } catch (error) {
    await resources.close().catch(() => undefined);
    throw error;
  }

  const read = opts.resume?.journal;
  const run = new ApplyRun(opts, openJournal(opts.journalDir, opts.runId, opts.resume ? (read ? { continueAfter: read } : {}) : { create: true }));
  const { journal } = run;
  const identity = runIdentity();
  if (opts.resume) {
    journal.write({
      kind: 'run-resumed', runId: opts.runId, ...identity, ...(opts.argv ? { argv: opts.argv } : {}),
      ...(read?.tornLastLine !== undefined ? { tornLastLine: read.tornLastLine } : {}),
    });
  } else {
    const secrets = secretInputFingerprints(opts.runbook, opts.inputs);
    journal.write({
      kind: 'run-started',
      runId: opts.runId,
      runbook: { name: plan.runbook.name, file: plan.runbook.file, sha256: plan.runbook.sha256 },
      link: inventory.link.name,
      started: String(run.ctx.run.started),
      inputs: redactInputs(opts.runbook, opts.inputs),
      ...(secrets ? { secretInputs: secrets } : {}),
      ...identity,
      ...(opts.argv ? { argv: opts.argv } : {}),
      ...(opts.identity ? { inventory: opts.identity.inventory, ...(opts.identity.runbookPath ? { runbookPath: opts.identity.runbookPath } : {}) } : {}),
      steps: run.total,
    });
  }

  if (opts.lock) {
    run.lock = await takeLinkLock({
      inventory, env: opts.env, holder: opts.lock.holder, journal, reporter: opts.reporter, notices: run.notices, startedAt: run.startedAt,
      currentStep: () => run.current?.id,
    });
  }
  const lock = run.lock;
  await opts.reporter.emit({
    event: 'run-started', runId: opts.runId, runbook: plan.runbook.name, link: inventory.link.name, journal: journal.path, steps: run.total,
    ...(opts.resume ? { resumed: true } : {}),
    ...(lock ? { lock: { resource: lock.resource, held: lock.held, unreachable: lock.unreachable } } : {}),
  });

  // An abandoning second/third Ctrl-C exits from the signal handler: the journal gets its last word here.
  const unregister = opts.interrupts?.onAbandon((signal, during) => abandonRun(run, signal, during));

  try {
    // Before the first step: which finished reads a resume runs again (this may verify a change).
    if (opts.resume) await decideReadsAgain(run);
    for (const [i, planned] of plan.steps.entries()) {
      if (!(await applyStep(run, planned, i))) break;
    }
  } catch (error) {
    unregister?.();
    if (!(error instanceof ExitError)) return finishWithInternalError(run, error);
    // E.g. the lock lost and taken by another run: after a change, that is exit 4, not 3.
    run.exitCode = error.exitCode === ExitCode.refused ? refusalExitCode(run.changeMade()) : error.exitCode;
    const current = run.current;
    if (current) {
      const o = run.outcomes.find((x) => x.id === current.id);
      if (o && o.outcome === 'not run') Object.assign(o, { outcome: 'refused', error: error.message });
    }
    run.notices.push(error.message);
  }
  unregister?.();
  // The lock lost to someone else while the last steps ran: this run cannot claim the outcome.
  const lockLost = await run.lock?.verdict();
  if (lockLost) {
    if (!run.notices.includes(lockLost.message)) run.notices.push(lockLost.message);
    if (run.exitCode !== ExitCode.interrupted) run.exitCode = lockLost.exitCode;
  }
  if (opts.signal.aborted && run.exitCode === ExitCode.done) {
    run.exitCode = ExitCode.interrupted;
    run.stoppedAt ??= 'after the last step';
  }
  const summary = await finishRun(run);
  return { exitCode: run.exitCode, summary };
}
