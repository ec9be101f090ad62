// apply --resume, before the first step: which finished reads run again (the rule is in
// engine/apply/resume-reads.ts). When the first unfinished change may have acted, it is verified first,
// with the outputs the journal recorded (the arguments it was sent with): done means the reads
// before it keep their results, as they guarded a change that happened; not done means it will be
// sent again, so the reads that guard it are read again first; unknown leaves it to the step,
// which refuses (and reading again could only fail with a message that hides why).
import type { StepHistoryEntry } from '../step-api/types.js';
import type { ApplyRun } from './state.js';
import { runTimeContext } from '../template/context.js';
import { renderStepAtRunTime, skippedOutputs } from '../template/step-render.js';
import { stepContext, verifiedOutputs } from './step-context.js';
import { verifyUntilKnown } from './outcome.js';
import { readsToRunAgain, resumeBoundary, type ResumeStep } from './resume-reads.js';

export async function decideReadsAgain(run: ApplyRun): Promise<void> {
  const { opts } = run;
  const states = opts.resume?.states;
  if (!states) return;
  const steps: ResumeStep[] = opts.plan.steps.map((p) => ({
    id: p.id,
    impact: (states.get(p.id)?.impact ?? p.impact),
    resultHolds: opts.steps.get(p.type)?.definition.resultHolds ?? 'moment',
  }));
  const boundary = resumeBoundary(steps, states);
  let after = boundary.lastDoneChange;
  if (boundary.mayHaveActed !== undefined) {
    const result = await verifyFirst(run, boundary.mayHaveActed);
    if (result === 'done') after = boundary.mayHaveActed;
    else if (result === 'unknown') return;
  }
  for (const id of readsToRunAgain(steps, states, after)) run.readAgain.add(id);
}

/** Verifies the change at plan index `index` with the outputs recorded before it; 'not-done' also when it cannot be asked. */
async function verifyFirst(run: ApplyRun, index: number): Promise<'done' | 'not-done' | 'unknown'> {
  const { opts, journal } = run;
  const planned = opts.plan.steps[index]!;
  const spec = opts.runbook.steps.find((s) => s.id === planned.id);
  const def = opts.steps.get(planned.type)?.definition;
  const earlier = opts.resume!.states.get(planned.id);
  if (!spec || !def || !earlier || earlier.status === 'finished' || earlier.status === 'skipped') return 'not-done';

  // The context as the journal left it before this step.
  const ctx = runTimeContext(opts.inventory, opts.inputs, { id: opts.runId, started: opts.resume?.startedAt ?? new Date(run.startedAt).toISOString() });
  const history: StepHistoryEntry[] = [];
  const outputs: Record<string, Record<string, unknown>> = {};
  for (const before of opts.plan.steps.slice(0, index)) {
    const state = opts.resume!.states.get(before.id);
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
  if (rendered.skip || rendered.error) return 'not-done';

  const context = stepContext(opts, spec, earlier.impact ?? planned.impact, history, outputs, run.notices, run.getResources, () => run.resources);
  context.log.info(`${spec.id} may have acted before the resume; verifying it before deciding what to read again`);
  const verification = await verifyUntilKnown(def, context, rendered.args, run.outcomeOpts);
  journal.write({ kind: 'step-verified', step: spec.id, result: verification.result, why: 'resume', ...(verification.detail ? { detail: verification.detail } : {}) });
  run.resumeVerification = { step: spec.id, verification };
  if (verification.result !== 'unknown') return verification.result;
  const mayHaveActed = earlier.status === 'started' || earlier.outcome === 'unknown' || earlier.outcome === 'interrupted';
  return mayHaveActed ? 'unknown' : 'not-done';
}
