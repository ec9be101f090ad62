// apply --resume: what a resume decides from the journal, with the link asked where the journal
// cannot tell. The rules are pure (engine/apply/resume-reads.ts); here they meet verify() and the
// link as the lock's connections read it.
//
// The journal records what the run did and saw, not the link now: someone may have acted since
// the run stopped, or the journal may say more (an edit) or less (a copy cut short) than happened.
// So, before the first step, once the lock is held:
//  1. The last change the journal shows done is verified with its step's verify(), with the
//     arguments it was sent with: not in effect now, or not known, refuses the resume at that step.
//  2. The first unfinished change that may have acted (started, or ended unclear) is verified:
//     done moves "the last done change" to it; not done means it will be sent again, so the reads
//     that guard it are read again first; unknown leaves it to the step, which refuses.
//  3. When the journal shows a change done or in flight, the link (roles, availability modes, the
//     link on each side) is read and compared with the last state the journal recorded (at the
//     start, and after each change step's end). It must be the same, except for what a change with
//     a record after that state, verified done just now, did (a crash between its end and its
//     record, or during it): this run cannot tell that from someone else, and whatever follows is
//     verified again before it is sent. Any other difference refuses, naming it.
// Later, at a change the journal shows started or failed: it is verified, never blindly repeated;
// at a change the journal shows never started: it is verified before it is sent, and one already
// in effect is refused (someone else did it, or the run's plan no longer describes the link).
import type { StepSpec } from '../core/types.js';
import type { StepDefinition, StepHistoryEntry, VerifyAnswer } from '../step-api/types.js';
import { errorMessage } from '../core/errors.js';
import { runTimeContext } from '../template/context.js';
import { renderStepAtRunTime, skippedOutputs } from '../template/step-render.js';
import { compareLinkStates, type LinkState } from '../drivers/sql/lock.js';
import type { Journal } from './journal/write.js';
import type { StepState } from './journal/runs.js';
import { stepContext, verifiedOutputs, type StepContext, type StepContextSource } from './step-context.js';
import { verifyUntilKnown, whatToCheck, type OutcomeOptions, type Verification } from './outcome.js';
import { mayHaveActed, neverSent, readsToRunAgain, resumeBoundary, type ResumeStep } from './resume-reads.js';
import type { ResumeFrom } from './types.js';

/** What a resume decided before its first step. */
export interface ResumeDecision {
  /** Finished reads that run again, their result having held only at that moment. */
  readAgain: ReadonlySet<string>;
  /** The change that may have acted, as verified before deciding what to read again. */
  verified?: { step: string; verification: Verification };
  /**
   * Why the resume may not go on: at `step` (a change the journal shows done that is not in
   * effect now), or without one, at the first step the resume would run.
   */
  refusal?: { step?: string; message: string };
  /** The link as the resume found and accepted it: the state this part of the run starts from. */
  state?: LinkState;
}

/** What a resume says about a step the run reaches, before the step is rendered. */
export type AtStep =
  | { course: 'refuse'; message: string }
  | { course: 'restore'; earlier: Extract<StepState, { status: 'finished' }> }
  | { course: 'go'; earlier?: StepState; readAgain: boolean };

/**
 * A resume's course through the run, step by step: what was decided before the first step
 * (decideResume), made at each step the run reaches. A run that is not a resume has the empty
 * course: every step goes, nothing is read again or verified before it is sent.
 */
export class ResumeCourse {
  /** A refusal without a step, not yet made: it is made at the first step the resume would run. */
  private pendingRefusal: string | undefined;

  private constructor(
    private readonly resume: ResumeFrom | undefined,
    private readonly decision: ResumeDecision,
  ) {
    const refusal = decision.refusal;
    // A refusal that names a step is made there (steps before it are restored).
    if (refusal && refusal.step === undefined) this.pendingRefusal = refusal.message;
  }

  static none(): ResumeCourse {
    return new ResumeCourse(undefined, { readAgain: new Set() });
  }

  static async decide(services: ResumeServices, resume: ResumeFrom): Promise<ResumeCourse> {
    return new ResumeCourse(resume, await decideResume(services, resume));
  }

  /** The link as the resume found and accepted it (the state this part of the run starts from). */
  get acceptedState(): LinkState | undefined {
    return this.decision.refusal ? undefined : this.decision.state;
  }

  /** A resume that refuses asks the operator nothing: it stops at a step before any change. */
  get refuses(): boolean {
    return this.decision.refusal !== undefined;
  }

  /** Whether the step still has to run (the one question before the steps is about those). */
  pending(stepId: string): boolean {
    return this.resume?.states.get(stepId)?.status !== 'finished' || this.decision.readAgain.has(stepId);
  }

  /** What happens to a step the run reaches, before it is rendered. */
  at(stepId: string): AtStep {
    const earlier = this.resume?.states.get(stepId);
    const readAgain = this.decision.readAgain.has(stepId);
    // The journal says it is done, and it is not in effect: it is not restored as this run's change.
    if (this.decision.refusal?.step === stepId) return { course: 'refuse', message: this.decision.refusal.message };
    if (earlier?.status === 'finished' && !readAgain) return { course: 'restore', earlier };
    if (this.pendingRefusal !== undefined) {
      const message = this.pendingRefusal;
      this.pendingRefusal = undefined;
      return { course: 'refuse', message };
    }
    return { course: 'go', ...(earlier ? { earlier } : {}), readAgain };
  }

  /** A refusal every step got past (each was restored): it still stands. */
  refusalLeft(): string | undefined {
    return this.pendingRefusal;
  }

  /**
   * Before a change is sent: one the journal shows started or failed is verified, never blindly
   * repeated; one the journal shows never started is refused when it is already in effect.
   */
  async beforeChange(services: ResumeServices, at: { spec: StepSpec; def: StepDefinition<any>; earlier?: StepState; args: Record<string, unknown>; context: StepContext }): Promise<BeforeRerun> {
    if (!this.resume) return { verdict: 'run' };
    const { spec, def, earlier, args, context } = at;
    if (earlier && (earlier.status === 'started' || earlier.status === 'failed') && !neverSent(earlier)) {
      const verified = this.decision.verified;
      const early = verified?.step === spec.id ? verified.verification : undefined;
      return verifyBeforeRerun(services, { spec, def, earlier, args, context, ...(early ? { early } : {}) });
    }
    if (earlier && !neverSent(earlier)) return { verdict: 'run' };
    const already = await refuseIfAlreadyInEffect(services, { spec, def, args, context });
    return already ? { verdict: 'refuse', error: already } : { verdict: 'run' };
  }

  /** Whether a change the stopped run had started may have acted then, whatever this attempt did. */
  actedBefore(stepId: string): boolean {
    const earlier = this.resume?.states.get(stepId);
    return earlier !== undefined && mayHaveActed(earlier);
  }
}

/** What the resume's verifications use: the run's context source, journal, start and patience. */
export interface ResumeServices extends StepContextSource {
  journal: Journal;
  /** The run's `run.started`, as templates see it. */
  started: string;
  outcome: OutcomeOptions;
  /** Reads the link now on the locked replicas and keeps it as known; undefined when the run holds no lock. */
  observeLink(): Promise<LinkState | undefined>;
}

async function decideResume(services: ResumeServices, resume: ResumeFrom): Promise<ResumeDecision> {
  const { opts } = services;
  const { states } = resume;
  const steps: ResumeStep[] = opts.plan.steps.map((p) => ({
    id: p.id,
    impact: states.get(p.id)?.impact ?? p.impact,
    resultHolds: opts.steps.get(p.type)?.definition.resultHolds ?? 'moment',
  }));
  const boundary = resumeBoundary(steps, states);

  // 1. The last done change must be in effect now.
  if (boundary.lastDoneChange >= 0) {
    const planned = opts.plan.steps[boundary.lastDoneChange]!;
    const check = await verifyRecorded(services, states, boundary.lastDoneChange, 'it is the last change the journal shows done');
    if (check.result !== 'done') {
      const spec = opts.runbook.steps.find((s) => s.id === planned.id)!;
      return { readAgain: new Set(), refusal: { step: planned.id, message: notInEffect(services, spec, check) } };
    }
  }

  // 2. The change that may have acted.
  let after = boundary.lastDoneChange;
  let verified: ResumeDecision['verified'];
  if (boundary.mayHaveActed !== undefined) {
    const first = await verifyFirst(services, states, boundary.mayHaveActed);
    verified = first.verified;
    if (first.result === 'done') after = boundary.mayHaveActed;
    else if (first.result === 'unknown') return { readAgain: new Set(), ...(verified ? { verified } : {}) };
  }

  // 3. The link as the journal last recorded it.
  const now = await services.observeLink();
  if (boundary.lastDoneChange >= 0 || boundary.mayHaveActed !== undefined) {
    // Changes with a record after the last recorded state, verified done just now, may explain a
    // difference; not one that was refused (it never acted, whatever its check says now).
    const explains = [
      ...(boundary.lastDoneChange >= 0 ? [opts.plan.steps[boundary.lastDoneChange]!.id] : []),
      ...(boundary.mayHaveActed !== undefined && after === boundary.mayHaveActed ? [opts.plan.steps[boundary.mayHaveActed]!.id] : []),
    ].filter((id) => {
      const state = states.get(id);
      return resume.linkState?.stepsSince.has(id) && !(state?.status === 'failed' && state.outcome === 'refused');
    });
    const changed = linkChanged(services, resume, now, explains);
    if (changed) return { readAgain: new Set(), ...(verified ? { verified } : {}), refusal: { message: changed } };
  }
  return { readAgain: new Set(readsToRunAgain(steps, states, after)), ...(verified ? { verified } : {}), ...(now ? { state: now } : {}) };
}

/** Why the link now is not what the journal last recorded (and nothing recorded since explains it), or undefined. */
function linkChanged(services: ResumeServices, resume: ResumeFrom, now: LinkState | undefined, explains: string[]): string | undefined {
  const { opts } = services;
  const link = opts.inventory.link.name;
  const recorded = resume.linkState;
  if (!recorded) {
    return `the journal of run ${opts.runId} records no state of the link to compare with (it was written by an older runbook, or cut short), so this resume cannot tell whether someone else acted since it stopped. Nothing was sent. Check the link by hand and start a new run.`;
  }
  if (!now) return `this resume holds no link lock, so it cannot read the link to compare it with what run ${opts.runId} recorded. Nothing was sent.`;
  const { changes, unchecked } = compareLinkStates(link, recorded.state, now);
  if (changes.length && explains.length) {
    const note = `the link is not as the journal last recorded it (${changes.join('; ')}); ${explains.join(' and ')}, verified done just now, was not recorded after it, so this is taken as its doing`;
    services.notice(`resume: ${note}`);
    return undefined;
  }
  if (changes.length) {
    return `the link changed since run ${opts.runId} stopped: ${changes.join('; ')}. What the run read and did before describes the link as it was, and resuming could act on facts that no longer hold. Nothing was sent. Find out who changed link ${link} and why, then start a new run.`;
  }
  if (unchecked.length) {
    return `this resume cannot compare link ${link} with what run ${opts.runId} recorded: ${unchecked.join(' and ')}, so it cannot tell whether someone else acted since it stopped. Nothing was sent. Check the link by hand and start a new run, or resume once the replica answers.`;
  }
  return undefined;
}

function notInEffect(services: ResumeServices, spec: StepSpec, check: Verification): string {
  const why = check.result === 'not-done' ? 'its check says it is not done' : `its check could not tell (${check.detail ?? 'no answer'})`;
  return (
    `the journal shows step ${spec.id} (${spec.type}) done, but checked now it is not in effect: ${why}. ` +
    `Either the journal is wrong (edited, or an older copy) or someone undid it since run ${services.opts.runId} stopped; either way this resume cannot trust what the journal says. ` +
    `Nothing was sent. Check ${whatToCheck(spec, services.opts.inventory.link.name)}, then start a new run.`
  );
}

/** The step at plan index `index` rendered, and a context for it, as the journal left things before it. */
function asRecorded(
  services: ResumeServices,
  states: ReadonlyMap<string, StepState>,
  index: number,
): { spec: StepSpec; def: StepDefinition<any>; args?: Record<string, unknown>; context?: StepContext; why?: string } | undefined {
  const { opts } = services;
  const planned = opts.plan.steps[index]!;
  const spec = opts.runbook.steps.find((s) => s.id === planned.id);
  const def = opts.steps.get(planned.type)?.definition;
  if (!spec || !def) return undefined;
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
  if (rendered.skip) return { spec, def, why: `its when: is false now (${rendered.reason})` };
  if (rendered.error) return { spec, def, why: rendered.error };
  return { spec, def, args: rendered.args, context: stepContext(services, spec, states.get(planned.id)?.impact ?? planned.impact, history, outputs) };
}

/** Verifies a change the journal shows finished, with the arguments it was sent with; journaled. */
async function verifyRecorded(services: ResumeServices, states: ReadonlyMap<string, StepState>, index: number, because: string): Promise<Verification> {
  const at = asRecorded(services, states, index);
  if (!at) return { result: 'unknown', attempts: 0, detail: 'the step is not in the runbook' };
  if (!at.args || !at.context) return { result: 'unknown', attempts: 0, detail: `it cannot be rendered as it ran: ${at.why}` };
  at.context.log.info(`${at.spec.id}: the journal shows it done; checking that it is in effect now (${because})`);
  const verification = await verifyUntilKnown(at.def, at.context, at.args, { ...services.outcome, unknownIsFinal: true });
  services.journal.write({ kind: 'step-verified', step: at.spec.id, result: verification.result, why: 'resume', ...(verification.detail ? { detail: verification.detail } : {}) });
  return verification;
}

/** Verifies the change at plan index `index` with the outputs recorded before it; 'not-done' also when it cannot be asked. */
async function verifyFirst(
  services: ResumeServices,
  states: ReadonlyMap<string, StepState>,
  index: number,
): Promise<{ result: 'done' | 'not-done' | 'unknown'; verified?: ResumeDecision['verified'] }> {
  const planned = services.opts.plan.steps[index]!;
  const earlier = states.get(planned.id);
  if (!earlier || earlier.status === 'finished' || earlier.status === 'skipped') return { result: 'not-done' };
  const at = asRecorded(services, states, index);
  // Not renderable now: the step itself will say so when the run reaches it; nothing to verify here.
  if (!at?.args || !at.context) return { result: 'not-done' };
  const { spec, def, args, context } = at;
  context.log.info(`${spec.id} may have acted before the resume; verifying it before deciding what to read again`);
  // Where it may have acted, "unknown" refuses the step (nothing is sent): asking again for the
  // whole outcome deadline (120 s) could only turn that into a friendlier answer, and a step that
  // cannot verify at all (sqlExec without `verify:`) answers "unknown" every time (attack r5lock).
  // Where it did not, "unknown" would let it run again, so a definite answer is still waited for.
  const verification = await verifyUntilKnown(def, context, args, { ...services.outcome, unknownIsFinal: mayHaveActed(earlier) });
  services.journal.write({ kind: 'step-verified', step: spec.id, result: verification.result, why: 'resume', ...(verification.detail ? { detail: verification.detail } : {}) });
  const verified = { step: spec.id, verification };
  if (verification.result !== 'unknown') return { result: verification.result, verified };
  return { result: mayHaveActed(earlier) ? 'unknown' : 'not-done', verified };
}

/** What to do with a change the journal shows started or failed, once it was verified. */
export type BeforeRerun = { verdict: 'run' } | { verdict: 'done' } | { verdict: 'refuse'; error: string };

interface RerunCheck {
  spec: StepSpec;
  def: StepDefinition<any>;
  /** The step's state as the journal left it: started, or failed. */
  earlier: Extract<StepState, { status: 'started' | 'failed' }>;
  args: Record<string, unknown>;
  context: StepContext;
  /** The answer decideResume got for this step, if it asked. */
  early?: Verification;
}

/** A change that may already have happened is verified, never blindly repeated. */
async function verifyBeforeRerun(services: ResumeServices, check: RerunCheck): Promise<BeforeRerun> {
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

/**
 * A change the journal shows never started, about to be sent by a resume: asked once whether it
 * is already in effect. It is when someone else did it since the run stopped, or when the link
 * was already that way before the run got there; the run's plan cannot tell these apart, so it
 * refuses rather than send it (a FAILOVER on a link already failed over goes to the other side)
 * or claim it as its own. Not done, or no way to tell: it is sent, as a run sends it.
 */
async function refuseIfAlreadyInEffect(services: ResumeServices, at: { spec: StepSpec; def: StepDefinition<any>; args: Record<string, unknown>; context: StepContext }): Promise<string | undefined> {
  const { spec, def, args, context } = at;
  if (!def.verify) return undefined;
  let result: VerifyAnswer;
  try {
    context.invalidateRoles?.();
    result = await def.verify({ ...context, signal: AbortSignal.timeout(services.outcome.deadlineMs) }, args);
  } catch (error) {
    context.log.info(`${spec.id}: could not check whether it is already in effect (${errorMessage(error).replace(/\.$/, '')}); running it as the run would.`);
    return undefined;
  }
  if (result !== 'done') return undefined;
  return (
    `step ${spec.id} (${spec.type}) never started in run ${services.opts.runId}, yet checked now it is already in effect: someone else did it since the run stopped, ` +
    `or the link was already that way, and the run's plan no longer describes the link. Nothing was sent. Check ${whatToCheck(spec, services.opts.inventory.link.name)}, then start a new run.`
  );
}
