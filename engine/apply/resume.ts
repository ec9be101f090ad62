// apply --resume: what a resume decides from the journal, with the link asked where the journal
// cannot tell. The rules are pure (engine/apply/resume-reads.ts); here they meet verify().
//
// Before the first step: which finished reads run again. When the first unfinished change may
// have acted, it is verified first, with the outputs the journal recorded (the arguments it was
// sent with): done means the reads before it keep their results, as they guarded a change that
// happened; not done means it will be sent again, so the reads that guard it are read again first;
// unknown leaves it to the step, which refuses (and reading again could only fail with a message
// that hides why).
//
// At a change the journal shows started or failed: it is verified, never blindly repeated.
import type { StepSpec } from '../core/types.js';
import type { StepDefinition, StepHistoryEntry } from '../step-api/types.js';
import { runTimeContext } from '../template/context.js';
import { renderStepAtRunTime, skippedOutputs } from '../template/step-render.js';
import type { Journal } from './journal/write.js';
import type { StepState } from './journal/runs.js';
import { stepContext, verifiedOutputs, type StepContext, type StepContextSource } from './step-context.js';
import { verifyUntilKnown, whatToCheck, type OutcomeOptions, type Verification } from './outcome.js';
import { mayHaveActed, readsToRunAgain, resumeBoundary, type ResumeStep } from './resume-reads.js';
import type { ResumeFrom } from './types.js';

/** What a resume decided before its first step. */
export interface ResumeDecision {
  /** Finished reads that run again, their result having held only at that moment. */
  readAgain: ReadonlySet<string>;
  /** The change that may have acted, as verified before deciding what to read again. */
  verified?: { step: string; verification: Verification };
}

/** What the resume's verifications use: the run's context source, journal, start and patience. */
export interface ResumeServices extends StepContextSource {
  journal: Journal;
  /** The run's `run.started`, as templates see it. */
  started: string;
  outcome: OutcomeOptions;
}

export async function decideReadsAgain(services: ResumeServices, resume: ResumeFrom): Promise<ResumeDecision> {
  const { opts } = services;
  const { states } = resume;
  const steps: ResumeStep[] = opts.plan.steps.map((p) => ({
    id: p.id,
    impact: states.get(p.id)?.impact ?? p.impact,
    resultHolds: opts.steps.get(p.type)?.definition.resultHolds ?? 'moment',
  }));
  const boundary = resumeBoundary(steps, states);
  let after = boundary.lastDoneChange;
  let verified: ResumeDecision['verified'];
  if (boundary.mayHaveActed !== undefined) {
    const first = await verifyFirst(services, states, boundary.mayHaveActed);
    verified = first.verified;
    if (first.result === 'done') after = boundary.mayHaveActed;
    else if (first.result === 'unknown') return { readAgain: new Set(), ...(verified ? { verified } : {}) };
  }
  return { readAgain: new Set(readsToRunAgain(steps, states, after)), ...(verified ? { verified } : {}) };
}

/** Verifies the change at plan index `index` with the outputs recorded before it; 'not-done' also when it cannot be asked. */
async function verifyFirst(
  services: ResumeServices,
  states: ReadonlyMap<string, StepState>,
  index: number,
): Promise<{ result: 'done' | 'not-done' | 'unknown'; verified?: ResumeDecision['verified'] }> {
  const { opts, journal } = services;
  const planned = opts.plan.steps[index]!;
  const spec = opts.runbook.steps.find((s) => s.id === planned.id);
  const def = opts.steps.get(planned.type)?.definition;
  const earlier = states.get(planned.id);
  if (!spec || !def || !earlier || earlier.status === 'finished' || earlier.status === 'skipped') return { result: 'not-done' };

  // The context as the journal left it before this step.
  const ctx = runTimeContext(opts.inventory, opts.inputs, { id: opts.runId, started: services.started });
  const history: StepHistoryEntry[] = [];
  const outputs: Record<string, Record<string, unknown>> = {};
  for (const before of opts.plan.steps.slice(0, index)) {
    const state = states.get(before.id);
    const beforeDef = opts.steps.get(before.type)?.definition;
    if (!beforeDef) continue;
    if (state?.status === 'finished') {
      const restored = state.verified ? verifiedOutputs(before.id, beforeDef) : state.outputs;
      outputs[before.id] = restored;
      ctx.steps[before.id] = { outputs: restored };
      history.push({ id: before.id, type: before.type, state: 'succeeded' });
    } else if (state?.status === 'skipped') {
      ctx.steps[before.id] = { outputs: skippedOutputs(before.id, beforeDef) };
      history.push({ id: before.id, type: before.type, state: 'skipped' });
    }
  }
  const rendered = renderStepAtRunTime(spec, ctx);
  // Not renderable now: the step itself will say so when the run reaches it; nothing to verify here.
  if (rendered.skip || rendered.error) return { result: 'not-done' };

  const context = stepContext(services, spec, earlier.impact ?? planned.impact, history, outputs);
  context.log.info(`${spec.id} may have acted before the resume; verifying it before deciding what to read again`);
  const verification = await verifyUntilKnown(def, context, rendered.args, services.outcome);
  journal.write({ kind: 'step-verified', step: spec.id, result: verification.result, why: 'resume', ...(verification.detail ? { detail: verification.detail } : {}) });
  const verified = { step: spec.id, verification };
  if (verification.result !== 'unknown') return { result: verification.result, verified };
  return { result: mayHaveActed(earlier) ? 'unknown' : 'not-done', verified };
}

/** What to do with a change the journal shows started or failed, once it was verified. */
export type BeforeRerun = { verdict: 'run' } | { verdict: 'done' } | { verdict: 'refuse'; error: string };

export interface RerunCheck {
  spec: StepSpec;
  def: StepDefinition<any>;
  /** The step's state as the journal left it: started, or failed. */
  earlier: Extract<StepState, { status: 'started' | 'failed' }>;
  args: Record<string, unknown>;
  context: StepContext;
  /** The answer decideReadsAgain got for this step, if it asked. */
  early?: Verification;
}

/** A change that may already have happened is verified, never blindly repeated. */
export async function verifyBeforeRerun(services: ResumeServices, check: RerunCheck): Promise<BeforeRerun> {
  const { spec, def, earlier, context, early } = check;
  // "Not done" found before the first step is asked again right before sending, as time has
  // passed (reads ran again) since.
  const v = early && early.result !== 'not-done' ? early : await verifyUntilKnown(def, context, check.args, services.outcome);
  if (v !== early) services.journal.write({ kind: 'step-verified', step: spec.id, result: v.result, why: 'resume', ...(v.detail ? { detail: v.detail } : {}) });
  if (v.result === 'done') return { verdict: 'done' };
  if (v.result === 'unknown' && mayHaveActed(earlier)) {
    const error =
      `step ${spec.id} (${spec.type}) may already have acted: the journal shows it ${earlier.status === 'started' ? 'started and never finished' : `ended with outcome ${earlier.outcome}`}, and ` +
      `${def.verify ? `its verification could not tell (${v.detail ?? 'no answer'})` : 'its step type cannot verify it'}. ` +
      `Check ${whatToCheck(spec, services.opts.inventory.link.name)}; do not resume until you know whether it happened.`;
    return { verdict: 'refuse', error };
  }
  if (v.result === 'not-done') context.log.info(`${spec.id}: verified not done yet; running it.`);
  return { verdict: 'run' };
}
