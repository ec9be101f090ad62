// Apply: runs a Plan's steps in order against real resources. Checks the whole plan for
// data-loss steps before running anything, asks (or refuses) before the first change step,
// re-renders each step's `when:`/`with:` with real outputs, journals every step before it acts,
// stops at the next step boundary on SIGINT/SIGTERM, and ends with a summary and an exit code.
import type { Inventory, Runbook, RunResources, StepHistoryEntry, StepRunContext } from './types.js';
import type { Plan } from './plan-types.js';
import { redactInputs, resolveImpact, type LoadedStep } from './plan.js';
import { ExitError } from './errors.js';
import { ExitCode, exitCodeMeaning } from './exit-codes.js';
import { openJournal, runIdentity, type Journal } from './journal.js';
import type { Reporter, RunSummary, StepOutcomeSummary } from './executor-events.js';
import type { Confirm } from './prompt.js';
import { runStepWithRetry, errorMessage } from './executor.js';
import { renderStepAtRunTime, skippedOutputs } from './apply-render.js';
import { runTimeContext } from './plan-context.js';

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
}

export interface ApplyResult {
  exitCode: number;
  summary: RunSummary;
}

/** Refuses (exit 3) before anything runs when a step that will or may run can lose data. */
export function checkDataLossAcknowledged(plan: Plan, allowDataLoss: string | undefined): void {
  const risky = plan.steps.filter((s) => s.impact === 'dataLoss' && s.decision !== 'skip');
  if (risky.length === 0) return;
  const names = risky.map((s) => `${s.index}. ${s.id} (${s.type})`).join(', ');
  const flag = `--allow-data-loss ${plan.inventory.link}`;
  if (allowDataLoss === undefined) {
    throw new ExitError(ExitCode.refused, `refusing to apply: step(s) ${names} can lose data. Nothing was run. To go on, pass ${flag} (--yes does not imply it).`);
  }
  if (allowDataLoss !== plan.inventory.link) {
    throw new ExitError(ExitCode.refused, `refusing to apply: --allow-data-loss names "${allowDataLoss}" but this plan's link is "${plan.inventory.link}" (data-loss step(s): ${names}). Nothing was run. Pass ${flag}.`);
  }
}

export async function applyPlan(opts: ApplyOptions): Promise<ApplyResult> {
  const { plan, inventory } = opts;
  checkDataLossAcknowledged(plan, opts.allowDataLoss);
  // A plan saved with --probe is bound to the link as it was then (engine/drift.ts).
  await (await import('./drift.js')).refuseIfDrifted({ plan, inventory, env: opts.env, ...(opts.resources ? { resources: opts.resources } : {}), signal: opts.signal });

  const startedAt = Date.now();
  const journal: Journal = openJournal(opts.journalDir, opts.runId);
  let resources: Promise<RunResources> | undefined = opts.resources ? Promise.resolve(opts.resources) : undefined;
  const getResources = (): Promise<RunResources> => {
    resources ??= import('./connections.js').then((m) => m.createRunResources(inventory, { env: opts.env }));
    return resources;
  };

  const outcomes: StepOutcomeSummary[] = plan.steps.map((s) => ({ index: s.index, id: s.id, type: s.type, impact: s.impact, outcome: 'not run' }));
  const changed: string[] = [];
  const notices: string[] = [];
  const history: StepHistoryEntry[] = [];
  const outputs: Record<string, Record<string, unknown>> = {};
  const ctx = runTimeContext(inventory, opts.inputs, { id: opts.runId, started: new Date(startedAt).toISOString() });
  let confirmed = opts.yes;
  let exitCode: number = ExitCode.done;
  const total = plan.steps.length;

  journal.write({
    kind: 'run-started',
    runId: opts.runId,
    runbook: { name: plan.runbook.name, file: plan.runbook.file, sha256: plan.runbook.sha256 },
    link: inventory.link.name,
    inputs: redactInputs(opts.runbook, opts.inputs),
    ...runIdentity(),
    ...(opts.argv ? { argv: opts.argv } : {}),
  });
  await opts.reporter.emit({ event: 'run-started', runId: opts.runId, runbook: plan.runbook.name, link: inventory.link.name, journal: journal.path, steps: total });

  try {
    for (const [i, planned] of plan.steps.entries()) {
      const outcome = outcomes[i]!;
      if (opts.signal.aborted) {
        exitCode = ExitCode.interrupted;
        break;
      }
      const spec = opts.runbook.steps.find((s) => s.id === planned.id);
      const loaded = opts.steps.get(planned.type);
      if (!spec || !loaded) throw new Error(`step ${planned.id} is in the plan but not in the runbook`);
      const def = loaded.definition;

      const rendered = renderStepAtRunTime(spec, ctx);
      if (rendered.skip) {
        outcome.outcome = 'skipped';
        outcome.reason = rendered.reason;
        history.push({ id: spec.id, type: spec.type, state: 'skipped' });
        ctx.steps[spec.id] = { outputs: skippedOutputs(spec.id, def) };
        journal.write({ kind: 'step-skipped', step: spec.id, reason: rendered.reason });
        await opts.reporter.emit({ event: 'step-skipped', step: spec.id, index: planned.index, total, reason: rendered.reason });
        continue;
      }
      const impact = rendered.error ? planned.impact : resolveImpact(def, rendered.args, history);
      outcome.impact = impact;

      if (impact === 'dataLoss' && opts.allowDataLoss !== inventory.link.name) {
        outcome.outcome = 'refused';
        outcome.error = `data-loss step needs --allow-data-loss ${inventory.link.name}`;
        exitCode = ExitCode.refused;
        journal.write({ kind: 'step-failed', step: spec.id, error: outcome.error, outcome: 'refused', durationMs: 0, attempts: 0 });
        break;
      }
      if (impact !== 'read' && !confirmed) {
        const question = `Step ${planned.index} (${spec.id}, ${spec.type}) is the first that changes link ${inventory.link.name}.`;
        if (!opts.confirm) {
          outcome.outcome = 'refused';
          outcome.error = 'needs confirmation and there is no terminal to ask on: review the plan, then pass --yes';
          exitCode = ExitCode.refused;
          journal.write({ kind: 'step-failed', step: spec.id, error: `refused: ${outcome.error}`, outcome: 'refused', durationMs: 0, attempts: 0 });
          break;
        }
        if (!(await opts.confirm(question))) {
          outcome.outcome = 'refused';
          outcome.error = 'not confirmed';
          exitCode = ExitCode.refused;
          journal.write({ kind: 'step-failed', step: spec.id, error: 'refused: the operator did not confirm', outcome: 'refused', durationMs: 0, attempts: 0 });
          break;
        }
        confirmed = true;
      }

      const stepStarted = Date.now();
      const log = {
        progress: (message: string) => void opts.reporter.emit({ event: 'step-output', step: spec.id, level: 'progress', message }),
        info: (message: string) => void opts.reporter.emit({ event: 'step-output', step: spec.id, level: 'info', message }),
        warn: (message: string) => {
          // Warnings are what the operator must act on (e.g. where applications must now connect): the summary repeats them.
          notices.push(`${spec.id}: ${message}`);
          void opts.reporter.emit({ event: 'step-output', step: spec.id, level: 'warn', message });
        },
      };
      const context: Omit<StepRunContext, 'signal'> = {
        stepId: spec.id,
        runId: opts.runId,
        inventory,
        inputs: opts.inputs,
        log,
        sql: async (side) => (await getResources()).sql(side),
        arm: async () => (await getResources()).arm(),
        resolveTarget: async (target) => (await getResources()).resolveTarget(target),
        outputs,
        history: history.map((h) => ({ ...h })),
        env: opts.env,
        invalidateRoles: () => void resources?.then((r) => r.invalidateRoles()),
        assumeYes: opts.yes,
        ...(opts.confirm ? { confirm: opts.confirm } : {}),
      };
      if (spec.target !== undefined) context.target = spec.target;

      let end;
      if (rendered.error) {
        journal.write({ kind: 'step-started', step: spec.id, type: spec.type, index: planned.index, impact, attempt: 1 });
        end = { ok: false as const, error: new Error(rendered.error), outcome: 'failed' as const, attempts: 1 };
      } else {
        end = await runStepWithRetry({
          definition: def,
          args: rendered.args,
          impact,
          context,
          ...(planned.timeout ? { timeoutMs: planned.timeout.ms } : {}),
          ...(planned.retry ? { retry: { count: planned.retry.count, delayMs: planned.retry.delayMs } } : {}),
          runSignal: opts.signal,
          interruptGraceMs: opts.interruptGraceMs ?? 10_000,
          hooks: {
            beforeAttempt: (attempt) => {
              journal.write({ kind: 'step-started', step: spec.id, type: spec.type, index: planned.index, impact, attempt, ...(spec.target ? { target: spec.target } : {}) });
              void opts.reporter.emit({ event: 'step-started', step: spec.id, index: planned.index, total, type: spec.type, impact, attempt, ...(spec.target ? { target: spec.target } : {}) });
            },
            onRetry: (attempt, error, delayMs) => {
              const message = errorMessage(error);
              journal.write({ kind: 'step-failed', step: spec.id, error: message, outcome: 'failed', durationMs: Date.now() - stepStarted, attempts: attempt, willRetry: true });
              void opts.reporter.emit({ event: 'step-failed', step: spec.id, error: `${message} (retrying in ${delayMs}ms)`, outcome: 'failed', durationMs: Date.now() - stepStarted, attempt, willRetry: true });
            },
          },
        });
      }
      const durationMs = Date.now() - stepStarted;
      outcome.durationMs = durationMs;
      outcome.attempts = end.attempts;

      if (end.ok) {
        outcome.outcome = 'succeeded';
        outputs[spec.id] = end.outputs;
        ctx.steps[spec.id] = { outputs: end.outputs };
        history.push({ id: spec.id, type: spec.type, state: 'succeeded' });
        if (impact !== 'read') {
          changed.push(spec.id);
          if (resources) (await resources).invalidateRoles();
        }
        journal.write({ kind: 'step-finished', step: spec.id, outputs: end.outputs, durationMs, attempts: end.attempts });
        await opts.reporter.emit({ event: 'step-finished', step: spec.id, outputs: end.outputs, durationMs, attempts: end.attempts });
        continue;
      }

      const message = errorMessage(end.error);
      outcome.outcome = end.outcome;
      outcome.error = message;
      history.push({ id: spec.id, type: spec.type, state: 'failed' });
      journal.write({ kind: 'step-failed', step: spec.id, error: message, outcome: end.outcome, durationMs, attempts: end.attempts });
      await opts.reporter.emit({ event: 'step-failed', step: spec.id, error: message, outcome: end.outcome, durationMs, attempt: end.attempts, willRetry: false });
      exitCode = failureExitCode(end.exitCode, changed.length > 0 || impact !== 'read');
      break;
    }
  } catch (error) {
    if (error instanceof ExitError) exitCode = error.exitCode;
    else {
      exitCode = changed.length ? ExitCode.failedAfterChange : ExitCode.failedBeforeChange;
      journal.write({ kind: 'run-finished', exitCode, meaning: `internal error: ${errorMessage(error)}`, durationMs: Date.now() - startedAt, changed });
      journal.close();
      await closeResources(resources);
      if (error && typeof error === 'object') Object.assign(error, { changeMade: changed.length > 0 });
      throw error;
    }
  }
  if (opts.signal.aborted && exitCode === ExitCode.done) exitCode = ExitCode.interrupted;

  const summary: RunSummary = {
    runId: opts.runId,
    journal: journal.path,
    exitCode,
    meaning: exitCodeMeaning(exitCode),
    durationMs: Date.now() - startedAt,
    changed,
    steps: outcomes,
    ...(notices.length ? { notices } : {}),
  };
  journal.write({ kind: 'run-finished', exitCode, meaning: summary.meaning, durationMs: summary.durationMs, changed });
  journal.close();
  await closeResources(resources);
  await opts.reporter.emit({ event: 'run-finished', exitCode, meaning: summary.meaning, summary });
  return { exitCode, summary };
}

async function closeResources(resources: Promise<RunResources> | undefined): Promise<void> {
  if (!resources) return;
  try {
    await (await resources).close();
  } catch {
    // Closing is best effort; the run's outcome is already decided and journaled.
  }
}

/** How a failed step maps to the run's exit code. */
export function failureExitCode(requested: number | undefined, changeMayHaveHappened: boolean): number {
  if (requested === ExitCode.interrupted) return ExitCode.interrupted;
  if (requested === ExitCode.outcomeUnknown) return ExitCode.outcomeUnknown;
  if (requested === ExitCode.refused) return ExitCode.refused;
  if (requested === ExitCode.failedAfterChange) return ExitCode.failedAfterChange;
  return changeMayHaveHappened ? ExitCode.failedAfterChange : ExitCode.failedBeforeChange;
}
