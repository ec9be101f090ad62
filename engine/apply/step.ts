// One step of an apply run: restored from the journal on resume, skipped by its `when:`, refused
// by a guard, verified before a re-run, confirmed, run (as a non-safe section when it changes the
// link), and its end mapped to the step's outcome and, when the run stops, the exit code.
import type { Plan } from '../plan/types.js';
import { resolveImpact } from '../step-api/impact.js';
import { runStepWithRetry, errorMessage, type StepEnd } from './step-runner.js';
import { renderStepAtRunTime, skippedOutputs } from '../template/step-render.js';
import { ExitCode } from '../core/exit-codes.js';
import { definitelyNotApplied, StepFailure } from '../core/errors.js';
import { verificationText, verifyUntilKnown, whatToCheck, type Verification } from './outcome.js';
import { stepContext, verifiedOutputs } from './step-context.js';
import { confirmFirstChange } from './guards.js';
import { failureExitCode } from './finish.js';
import type { ApplyRun } from './state.js';

/** Handles one planned step; false when the run stops here. */
export async function applyStep(run: ApplyRun, planned: Plan['steps'][number], i: number): Promise<boolean> {
  const { opts, journal, total } = run;
  const { inventory } = opts;
  const outcome = run.outcomes[i]!;
  const current = (run.current = { id: planned.id, impact: planned.impact });
  if (opts.signal.aborted) {
    run.exitCode = ExitCode.interrupted;
    run.stoppedAt = `before step ${planned.id} (${planned.index} of ${total})`;
    journal.write({ kind: 'interrupted', signal: opts.interrupts?.signalName ?? 'signal', stoppedBefore: planned.id });
    return false;
  }
  const spec = opts.runbook.steps.find((s) => s.id === planned.id);
  const loaded = opts.steps.get(planned.type);
  if (!spec || !loaded) throw new Error(`step ${planned.id} is in the plan but not in the runbook`);
  const def = loaded.definition;
  const earlier = opts.resume?.states.get(spec.id);

  const readAgain = run.readAgain.has(spec.id);
  if (earlier?.status === 'finished' && !readAgain) {
    outcome.outcome = 'succeeded';
    outcome.reason = earlier.verified ? 'verified done before the resume; not run again' : 'done before the resume; not run again';
    run.succeeded(spec.id, spec.type, earlier.verified ? verifiedOutputs(spec.id, def) : earlier.outputs);
    if (planned.impact !== 'read') run.changed.push(spec.id);
    await opts.reporter.emit({ event: 'step-restored', step: spec.id, index: planned.index, total, verified: earlier.verified === true });
    return true;
  }
  await run.lock?.ensure();

  const rendered = renderStepAtRunTime(spec, run.ctx);
  if (rendered.skip) {
    outcome.outcome = 'skipped';
    outcome.reason = rendered.reason;
    run.history.push({ id: spec.id, type: spec.type, state: 'skipped' });
    run.ctx.steps[spec.id] = { outputs: skippedOutputs(spec.id, def) };
    journal.write({ kind: 'step-skipped', step: spec.id, reason: rendered.reason });
    await opts.reporter.emit({ event: 'step-skipped', step: spec.id, index: planned.index, total, reason: rendered.reason });
    return true;
  }
  const impact = rendered.error ? planned.impact : resolveImpact(def, rendered.args, run.history);
  outcome.impact = impact;
  current.impact = impact;

  if (impact === 'dataLoss' && opts.allowDataLoss !== inventory.link.name) {
    run.stopWith(outcome, 'refused', `data-loss step needs --allow-data-loss ${inventory.link.name}`, ExitCode.refused);
    return false;
  }

  const context = stepContext(opts, spec, impact, run.history, run.outputs, run.notices, run.getResources, () => run.resources);

  // Resume: a change that may already have happened is verified, never blindly repeated.
  if (earlier && (earlier.status === 'started' || earlier.status === 'failed') && impact !== 'read' && !rendered.error) {
    const mayHaveActed = earlier.status === 'started' || earlier.outcome === 'unknown' || earlier.outcome === 'interrupted';
    // Verified already before the first step (engine/apply/resume.ts); "not done" is asked again
    // right before sending, as time has passed (reads ran again) since.
    const early = run.resumeVerification?.step === spec.id ? run.resumeVerification.verification : undefined;
    const v = early && early.result !== 'not-done' ? early : await verifyUntilKnown(def, context, rendered.args, run.outcomeOpts);
    if (v !== early) journal.write({ kind: 'step-verified', step: spec.id, result: v.result, why: 'resume', ...(v.detail ? { detail: v.detail } : {}) });
    if (v.result === 'done') {
      run.recordVerified(spec.id, def, outcome, 'it had already taken effect (verified on resume); not run again');
      return true;
    }
    if (v.result === 'unknown' && mayHaveActed) {
      const error =
        `step ${spec.id} (${spec.type}) may already have acted: the journal shows it ${earlier.status === 'started' ? 'started and never finished' : `ended with outcome ${earlier.outcome}`}, and ` +
        `${def.verify ? `its verification could not tell (${v.detail ?? 'no answer'})` : 'its step type cannot verify it'}. ` +
        `Check ${whatToCheck(spec, inventory.link.name)}; do not resume until you know whether it happened.`;
      run.stopWith(outcome, 'refused', error, ExitCode.refused);
      return false;
    }
    if (v.result === 'not-done') context.log.info(`${spec.id}: verified not done yet; running it.`);
  }

  if (impact !== 'read' && !run.confirmed) {
    const question = `Step ${planned.index} (${spec.id}, ${spec.type}) is the first that changes link ${inventory.link.name}.`;
    const refusal = await confirmFirstChange(opts.confirm, question);
    if (refusal) {
      run.stopWith(outcome, 'refused', refusal.error, ExitCode.refused, refusal.journal);
      return false;
    }
    run.confirmed = true;
  }

  const nonSafe = impact !== 'read';
  if (nonSafe) {
    // The confirmation may have taken minutes: the lock must still be this run's as the change starts.
    await run.lock?.ensure();
    run.lock?.changing(spec.id);
  }
  const stepStarted = Date.now();
  const runIt = async (): Promise<{ end: StepEnd; verification?: Verification }> => {
    if (rendered.error) {
      journal.write({ kind: 'step-started', step: spec.id, type: spec.type, index: planned.index, impact, attempt: 1 });
      // Nothing was sent: the step could not even be rendered.
      return { end: { ok: false, error: new StepFailure('renderFailed', { error: rendered.error }, rendered.error, { notApplied: true }), outcome: 'failed', attempts: 1 } };
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
      context.log.progress(`${errorMessage(end.error).replace(/\.$/, '')}; verifying whether it took effect (for up to ${Math.round(run.outcomeOpts.deadlineMs / 1000)}s)`);
      const verification = await verifyUntilKnown(def, context, rendered.args, run.outcomeOpts);
      journal.write({ kind: 'step-verified', step: spec.id, result: verification.result, why: 'unknown-outcome', ...(verification.detail ? { detail: verification.detail } : {}) });
      return { end, verification };
    }
    return { end };
  };
  // What a change step leaves on the link is this run's doing: a lock lost later is compared with it.
  const runAndRecord = async (): Promise<{ end: StepEnd; verification?: Verification }> => {
    try {
      return await runIt();
    } finally {
      if (nonSafe) await run.lock?.changed();
    }
  };
  const label = `step ${spec.id} (${spec.type})`;
  const { end, verification } = nonSafe && opts.interrupts ? await opts.interrupts.nonSafe(label, runAndRecord) : await runAndRecord();
  const durationMs = Date.now() - stepStarted;
  outcome.durationMs = durationMs;
  outcome.attempts = end.attempts;

  if (end.ok) {
    outcome.outcome = 'succeeded';
    run.succeeded(spec.id, spec.type, end.outputs);
    if (impact !== 'read') {
      run.changed.push(spec.id);
      if (run.resources) (await run.resources).invalidateRoles();
    }
    journal.write({ kind: 'step-finished', step: spec.id, outputs: end.outputs, durationMs, attempts: end.attempts });
    await opts.reporter.emit({ event: 'step-finished', step: spec.id, outputs: end.outputs, durationMs, attempts: end.attempts });
    return true;
  }
  if (verification?.result === 'done') {
    run.recordVerified(spec.id, def, outcome, `the answer was lost, but it took effect (${verificationText(verification)})`);
    run.notices.push(`${spec.id}: the connection was lost after the change was sent; verified that it took effect`);
    return true;
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
  run.history.push({ id: spec.id, type: spec.type, state: 'failed' });
  journal.write({ kind: 'step-failed', step: spec.id, error: message, outcome: stepOutcome, durationMs, attempts: end.attempts });
  await opts.reporter.emit({ event: 'step-failed', step: spec.id, error: message, outcome: stepOutcome, durationMs, attempt: end.attempts, willRetry: false });
  if (stepOutcome === 'interrupted') {
    run.stoppedAt = `during step ${spec.id} (${planned.index} of ${total}; it only reads, so it is safe to run again)`;
    journal.write({ kind: 'interrupted', signal: opts.interrupts?.signalName ?? 'signal', stoppedBefore: spec.id });
  }
  // Did this step change anything? Not if it only reads, if the server refused it outright, or if
  // its verification says it did not take effect; otherwise it may have, and the summary says so.
  const stepMayHaveChanged = impact !== 'read' && stepOutcome !== 'refused' && verification?.result !== 'not-done' && !definitelyNotApplied(end.error);
  if (stepMayHaveChanged) run.mayHaveChanged.push(spec.id);
  run.exitCode = failureExitCode(requested, run.changed.length > 0 || stepMayHaveChanged);
  // A step that asked for exit 4 itself says it changed something: the summary must not deny it.
  if (run.exitCode === ExitCode.failedAfterChange && !run.changed.length && !run.mayHaveChanged.length) run.mayHaveChanged.push(spec.id);
  return false;
}
