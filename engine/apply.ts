// Apply: runs a Plan's steps in order against real resources. Checks the whole plan for
// data-loss steps before running anything, asks (or refuses) before the first change step,
// re-renders each step's `when:`/`with:` with real outputs, journals every step before it acts,
// stops at the next step boundary on SIGINT/SIGTERM, and ends with a summary and an exit code.
import type { Inventory, Runbook, RunResources, StepDefinition, StepHistoryEntry } from './types.js';
import type { Plan } from './plan-types.js';
import { redactInputs, resolveImpact, type LoadedStep } from './plan.js';
import { ExitError } from './errors.js';
import { ExitCode, exitCodeMeaning } from './exit-codes.js';
import { openJournal, runIdentity, type Journal } from './journal.js';
import type { Reporter, RunSummary, StepOutcomeSummary } from './executor-events.js';
import type { Confirm } from './prompt.js';
import { runStepWithRetry, errorMessage, type StepEnd } from './executor.js';
import { renderStepAtRunTime, skippedOutputs } from './apply-render.js';
import { runTimeContext } from './plan-context.js';
import type { Interrupts } from './interrupt.js';
import type { LinkLock, LockHolder } from './lock.js';
import type { StepState } from './resume.js';
import { DEFAULT_OUTCOME_DEADLINE_MS, DEFAULT_OUTCOME_POLL_MS, verificationText, verifyUntilKnown, whatToCheck, type OutcomeOptions, type Verification } from './outcome.js';
import { closeResources, stepContext, verifiedOutputs } from './apply-context.js';

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
  resume?: { states: ReadonlyMap<string, StepState> };
  /** How long to keep verifying an unknown outcome. */
  outcome?: OutcomeOptions;
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
  let stoppedAt: string | undefined;
  const total = plan.steps.length;
  const outcomeOpts = opts.outcome ?? { deadlineMs: DEFAULT_OUTCOME_DEADLINE_MS, pollMs: DEFAULT_OUTCOME_POLL_MS };

  const identity = runIdentity();
  if (opts.resume) {
    journal.write({ kind: 'run-resumed', runId: opts.runId, ...identity, ...(opts.argv ? { argv: opts.argv } : {}) });
  } else {
    journal.write({
      kind: 'run-started',
      runId: opts.runId,
      runbook: { name: plan.runbook.name, file: plan.runbook.file, sha256: plan.runbook.sha256 },
      link: inventory.link.name,
      inputs: redactInputs(opts.runbook, opts.inputs),
      ...identity,
      ...(opts.argv ? { argv: opts.argv } : {}),
      ...(opts.identity ? { inventory: opts.identity.inventory, ...(opts.identity.runbookPath ? { runbookPath: opts.identity.runbookPath } : {}) } : {}),
      steps: total,
    });
  }

  let current: { id: string; impact: string } | undefined;
  let lock: LinkLock | undefined;
  if (opts.lock) {
    const { acquireLinkLock, holderAppName } = await import('./lock.js');
    try {
      lock = await acquireLinkLock(inventory, {
        env: opts.env,
        holder: opts.lock.holder,
        info: (message) => void opts.reporter.emit({ event: 'step-output', step: current?.id ?? 'lock', level: 'info', message }),
        warn: (m) => notices.push(`lock: ${m}`),
      });
    } catch (error) {
      const message = errorMessage(error);
      journal.write({ kind: 'lock-refused', resource: inventory.link.name, side: '', holder: message });
      const code = error instanceof ExitError ? error.exitCode : ExitCode.refused;
      journal.write({ kind: 'run-finished', exitCode: code, meaning: exitCodeMeaning(code), durationMs: Date.now() - startedAt, changed });
      journal.close();
      throw new ExitError(code, `refusing to apply: ${message}`);
    }
    journal.write({ kind: 'lock', resource: lock.resource, held: lock.held, unreachable: lock.unreachable, holder: holderAppName(opts.lock.holder) });
    for (const u of lock.unreachable) notices.push(`lock: ${u.side} could not be reached, so it is not locked (${u.error})`);
  }
  await opts.reporter.emit({
    event: 'run-started', runId: opts.runId, runbook: plan.runbook.name, link: inventory.link.name, journal: journal.path, steps: total,
    ...(opts.resume ? { resumed: true } : {}),
    ...(lock ? { lock: { resource: lock.resource, held: lock.held, unreachable: lock.unreachable } } : {}),
  });

  // An abandoning second/third Ctrl-C exits from the signal handler: the journal gets its last word here.
  const unregister = opts.interrupts?.onAbandon((signal, during) => {
    journal.write({ kind: 'interrupted', signal, ...(current ? (during ? { abandonedDuring: current.id } : { stoppedBefore: current.id }) : {}) });
    if (current && during) {
      journal.write({ kind: 'step-failed', step: current.id, error: `abandoned by ${signal} while it was changing the link: outcome unknown`, outcome: 'unknown', durationMs: 0, attempts: 1 });
    }
    const where = current ? `${during ? 'during' : 'at'} step ${current.id}` : undefined;
    journal.write({ kind: 'run-finished', exitCode: ExitCode.interrupted, meaning: 'interrupted (abandoned)', durationMs: Date.now() - startedAt, changed, ...(where ? { stoppedAt: where } : {}) });
    journal.close();
  });

  try {
    for (const [i, planned] of plan.steps.entries()) {
      const outcome = outcomes[i]!;
      current = { id: planned.id, impact: planned.impact };
      if (opts.signal.aborted) {
        exitCode = ExitCode.interrupted;
        stoppedAt = `before step ${planned.id} (${planned.index} of ${total})`;
        journal.write({ kind: 'interrupted', signal: opts.interrupts?.signalName ?? 'signal', stoppedBefore: planned.id });
        break;
      }
      const spec = opts.runbook.steps.find((s) => s.id === planned.id);
      const loaded = opts.steps.get(planned.type);
      if (!spec || !loaded) throw new Error(`step ${planned.id} is in the plan but not in the runbook`);
      const def = loaded.definition;
      const earlier = opts.resume?.states.get(spec.id);

      if (earlier?.status === 'finished') {
        outcome.outcome = 'succeeded';
        outcome.reason = earlier.verified ? 'verified done before the resume; not run again' : 'done before the resume; not run again';
        outputs[spec.id] = earlier.outputs;
        ctx.steps[spec.id] = { outputs: earlier.outputs };
        history.push({ id: spec.id, type: spec.type, state: 'succeeded' });
        if (planned.impact !== 'read') changed.push(spec.id);
        await opts.reporter.emit({ event: 'step-restored', step: spec.id, index: planned.index, total, verified: earlier.verified === true });
        continue;
      }
      await lock?.ensure();

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
      current.impact = impact;

      if (impact === 'dataLoss' && opts.allowDataLoss !== inventory.link.name) {
        outcome.outcome = 'refused';
        outcome.error = `data-loss step needs --allow-data-loss ${inventory.link.name}`;
        exitCode = ExitCode.refused;
        journal.write({ kind: 'step-failed', step: spec.id, error: outcome.error, outcome: 'refused', durationMs: 0, attempts: 0 });
        break;
      }

      const context = stepContext(opts, spec, history, outputs, notices, getResources, () => resources);

      // Resume: a change that may already have happened is verified, never blindly repeated.
      if (earlier && earlier.status !== 'skipped' && impact !== 'read' && !rendered.error) {
        const mayHaveActed = earlier.status === 'started' || earlier.outcome === 'unknown' || earlier.outcome === 'interrupted';
        const v = await verifyUntilKnown(def, context, rendered.args, outcomeOpts);
        journal.write({ kind: 'step-verified', step: spec.id, result: v.result, why: 'resume', ...(v.detail ? { detail: v.detail } : {}) });
        if (v.result === 'done') {
          recordVerified(spec.id, def, outcome, 'it had already taken effect (verified on resume); not run again');
          continue;
        }
        if (v.result === 'unknown' && mayHaveActed) {
          outcome.outcome = 'refused';
          outcome.error =
            `step ${spec.id} (${spec.type}) may already have acted: the journal shows it ${earlier.status === 'started' ? 'started and never finished' : `ended with outcome ${earlier.outcome}`}, and ` +
            `${def.verify ? `its verification could not tell (${v.detail ?? 'no answer'})` : 'its step type cannot verify it'}. ` +
            `Check ${whatToCheck(spec, inventory.link.name)}; do not resume until you know whether it happened.`;
          exitCode = ExitCode.refused;
          journal.write({ kind: 'step-failed', step: spec.id, error: outcome.error, outcome: 'refused', durationMs: 0, attempts: 0 });
          break;
        }
        if (v.result === 'not-done') context.log.info(`${spec.id}: verified not done yet; running it.`);
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
      const nonSafe = impact !== 'read';
      const runIt = async (): Promise<{ end: StepEnd; verification?: Verification }> => {
        if (rendered.error) {
          journal.write({ kind: 'step-started', step: spec.id, type: spec.type, index: planned.index, impact, attempt: 1 });
          return { end: { ok: false, error: new Error(rendered.error), outcome: 'failed', attempts: 1 } };
        }
        const end = await runStepWithRetry({
          definition: def,
          args: rendered.args,
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
              void opts.reporter.emit({ event: 'step-started', step: spec.id, index: planned.index, total, type: spec.type, impact, attempt, ...(spec.target ? { target: spec.target } : {}) });
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
          context.log.progress(`${errorMessage(end.error).replace(/\.$/, '')}; verifying whether it took effect (for up to ${Math.round(outcomeOpts.deadlineMs / 1000)}s)`);
          const verification = await verifyUntilKnown(def, context, rendered.args, outcomeOpts);
          journal.write({ kind: 'step-verified', step: spec.id, result: verification.result, why: 'unknown-outcome', ...(verification.detail ? { detail: verification.detail } : {}) });
          return { end, verification };
        }
        return { end };
      };
      const label = `step ${spec.id} (${spec.type})`;
      const { end, verification } = nonSafe && opts.interrupts ? await opts.interrupts.nonSafe(label, runIt) : await runIt();
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
      if (verification?.result === 'done') {
        recordVerified(spec.id, def, outcome, `the answer was lost, but it took effect (${verificationText(verification)})`);
        notices.push(`${spec.id}: the connection was lost after the change was sent; verified that it took effect`);
        continue;
      }

      let message = errorMessage(end.error);
      let stepOutcome = end.outcome;
      let requested = end.exitCode;
      if (verification?.result === 'not-done') {
        message = `${message}; verified that it did NOT take effect`;
        stepOutcome = 'failed';
        requested = undefined;
      } else if (verification) {
        message = `${message}; outcome still unknown after ${verification.attempts} check(s)${verification.detail ? ` (${verification.detail})` : ''}. Check ${whatToCheck(spec, inventory.link.name)} before anything else`;
      }
      outcome.outcome = stepOutcome;
      outcome.error = message;
      history.push({ id: spec.id, type: spec.type, state: 'failed' });
      journal.write({ kind: 'step-failed', step: spec.id, error: message, outcome: stepOutcome, durationMs, attempts: end.attempts });
      await opts.reporter.emit({ event: 'step-failed', step: spec.id, error: message, outcome: stepOutcome, durationMs, attempt: end.attempts, willRetry: false });
      if (stepOutcome === 'interrupted') {
        stoppedAt = `during step ${spec.id} (${planned.index} of ${total}; it only reads, so it is safe to run again)`;
        journal.write({ kind: 'interrupted', signal: opts.interrupts?.signalName ?? 'signal', stoppedBefore: spec.id });
      }
      exitCode = failureExitCode(requested, changed.length > 0 || (impact !== 'read' && verification?.result !== 'not-done'));
      break;
    }
  } catch (error) {
    unregister?.();
    if (error instanceof ExitError) {
      exitCode = error.exitCode;
      if (current) {
        const o = outcomes.find((x) => x.id === current!.id);
        if (o && o.outcome === 'not run') Object.assign(o, { outcome: 'refused', error: error.message });
      }
      notices.push(error.message);
    } else {
      exitCode = changed.length ? ExitCode.failedAfterChange : ExitCode.failedBeforeChange;
      journal.write({ kind: 'run-finished', exitCode, meaning: `internal error: ${errorMessage(error)}`, durationMs: Date.now() - startedAt, changed });
      journal.close();
      await closeResources(resources);
      await lock?.release();
      if (error && typeof error === 'object') Object.assign(error, { changeMade: changed.length > 0 });
      throw error;
    }
  }
  unregister?.();
  if (opts.signal.aborted && exitCode === ExitCode.done) {
    exitCode = ExitCode.interrupted;
    stoppedAt ??= 'after the last step';
  }

  const summary: RunSummary = {
    runId: opts.runId,
    journal: journal.path,
    exitCode,
    meaning: exitCodeMeaning(exitCode),
    durationMs: Date.now() - startedAt,
    changed,
    steps: outcomes,
    ...(notices.length ? { notices } : {}),
    ...(stoppedAt ? { stoppedAt } : {}),
  };
  journal.write({ kind: 'run-finished', exitCode, meaning: summary.meaning, durationMs: summary.durationMs, changed, ...(stoppedAt ? { stoppedAt } : {}) });
  journal.close();
  await closeResources(resources);
  await lock?.release();
  await opts.reporter.emit({ event: 'run-finished', exitCode, meaning: summary.meaning, summary });
  return { exitCode, summary };

  function recordVerified(id: string, def: StepDefinition<any>, outcome: StepOutcomeSummary, reason: string): void {
    const verified = verifiedOutputs(id, def);
    outcome.outcome = 'succeeded';
    outcome.reason = reason;
    outputs[id] = verified;
    ctx.steps[id] = { outputs: verified };
    const spec = opts.runbook.steps.find((s) => s.id === id)!;
    history.push({ id, type: spec.type, state: 'succeeded' });
    changed.push(id);
    journal.write({ kind: 'step-finished', step: id, outputs: {}, durationMs: 0, attempts: 0, verified: true });
    void opts.reporter.emit({ event: 'step-finished', step: id, outputs: {}, durationMs: 0, attempts: 0 });
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
