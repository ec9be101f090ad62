// What the operator is asked during a run, and what the answers allow: the one question before the
// steps (engine/apply/confirmation.ts says what it covers; engine/ui/prompt.ts asks it), the gates it
// answered (a confirm step finds its exact question answered when the run reaches it), the
// confirmation before the first change when that question did not cover it, and the question a gate
// asks at its place (a forced failover's loss report). The run (engine/apply/run.ts) asks these and
// records a refusal at the step it names; it never sees an answer itself.
import type { StepSpec } from '../core/types.js';
import type { PlannedStep } from '../plan/types.js';
import { runQuestion, type Foreseer } from './confirmation.js';
import { FORESEE_DEADLINE_MS, type Foresight } from './foresee.js';
import type { Journal, JournalRecord } from './journal/write.js';
import type { ApplyOptions, Confirm } from './types.js';

/** Why the run may not go on, and at which step it stops. */
export interface GateRefusal {
  step: string;
  /** For the summary and the operator. */
  error: string;
  /** For the journal. */
  journal: string;
}

const NO_TERMINAL = 'needs confirmation and there is no terminal to ask on: review the plan, then pass --yes';

/** An interrupt typed at a question is the operator's no; the step ends with these words, not an AbortError's. */
export class NotConfirmed extends Error {
  constructor(signal: string | undefined) {
    super(`not confirmed (${signal === undefined || signal === 'SIGINT' ? 'Ctrl-C' : signal} at the question)`);
    this.name = 'NotConfirmed';
  }
}

/** Why the first change step may not run: undefined when it was confirmed. */
export async function confirmFirstChange(confirm: Confirm | undefined, question: string): Promise<Omit<GateRefusal, 'step'> | undefined> {
  if (!confirm) return { error: NO_TERMINAL, journal: `refused: ${NO_TERMINAL}` };
  if (!(await confirm(question))) return { error: 'not confirmed', journal: 'refused: the operator did not confirm' };
  return undefined;
}

type GateOptions = Pick<ApplyOptions, 'yes' | 'plan' | 'steps' | 'confirm' | 'confirmRun' | 'signal' | 'inventory' | 'interrupts' | 'answeredBefore'>;

export class OperatorGates {
  /** The changes are confirmed (--yes, or the one question covered them): no question before the first. */
  private changesConfirmed: boolean;
  /** Gates the operator confirmed before the steps ran: step id -> its question and when. */
  private readonly answered = new Map<string, { question: string; at: string }>();
  /** What a step asks through (undefined: no one to ask). */
  readonly confirm: Confirm | undefined;

  constructor(
    private readonly opts: GateOptions,
    private readonly journal: Journal,
  ) {
    this.changesConfirmed = opts.yes;
    const ask = opts.confirm;
    this.confirm = ask
      ? async (question) => {
          const yes = await ask(question);
          if (opts.signal.aborted) throw new NotConfirmed(opts.interrupts?.signalName);
          return yes;
        }
      : undefined;
  }

  /**
   * The one question before the steps, unless --yes: every gate known now, the changes and the
   * data-loss acknowledgement together, over the steps still to run (`pending`). A refusal when the
   * run stops at the first step the question covers: no one to ask, or anything but yes. An
   * interrupt while asking is not a refusal: the run stops at its first step as at any boundary.
   * `foresee`: what the probes tell before asking (engine/apply/foresee.ts).
   */
  async beforeSteps(pending: (step: PlannedStep) => boolean, foresee?: () => Promise<Foresight>, deadlineMs?: number): Promise<GateRefusal | undefined> {
    const { opts } = this;
    if (opts.yes) return undefined;
    const question = runQuestion(opts.plan, opts.steps, pending);
    if (!question) return undefined;
    const step = question.firstStep;
    if (!opts.confirmRun) return { step, error: NO_TERMINAL, journal: `refused: ${NO_TERMINAL}` };
    // Where the live link already says the run will stop, the plan shown with the question says so;
    // a question answered before the run began (a wave's one confirmation) is not shown again.
    // What the operator was shown is journalled, once, before the answer.
    const foreseer: Foreseer | undefined =
      foresee && !opts.answeredBefore
        ? {
            deadlineMs: deadlineMs ?? FORESEE_DEADLINE_MS,
            look: async () => {
              const seen = await foresee();
              this.journal.write(foreseenRecord(seen));
              return seen;
            },
          }
        : undefined;
    const answer = await opts.confirmRun(question, foreseer);
    if (opts.signal.aborted) return undefined;
    if (answer !== true) {
      const why = typeof answer === 'object' ? ` (${answer.no})` : ': the answer was not "yes"';
      return { step, error: `not confirmed${why}`, journal: 'refused: the operator did not confirm' };
    }
    const at = opts.answeredBefore?.at ?? new Date().toISOString();
    for (const c of question.confirmations) this.answered.set(c.step, { question: c.question, at });
    // An answer given now is journaled at the very instant the gates report as confirmedAt (the
    // record's own clock could read the next millisecond).
    this.journal.write({
      kind: 'confirmed', by: 'operator', ...(opts.answeredBefore ? { via: opts.answeredBefore.via } : { at }), steps: question.confirmations.map((c) => c.step), questions: question.confirmations.map((c) => c.question), changes: question.changes.map((c) => c.step),
    });
    // The changes were confirmed with the plan: no second question before the first of them.
    if (question.changes.length) this.changesConfirmed = true;
    return undefined;
  }

  /** When the operator confirmed this step's exact question before the run began. */
  answeredBefore(step: string, question: string): string | undefined {
    const a = this.answered.get(step);
    // Only the very question asked: a message rendered differently now is asked again.
    return a && a.question === question ? a.at : undefined;
  }

  /** Before the first step that changes the link, unless the changes were confirmed already. */
  async beforeChange(planned: PlannedStep, spec: StepSpec): Promise<GateRefusal | undefined> {
    if (this.changesConfirmed) return undefined;
    const { opts } = this;
    const question = `Step ${planned.index} (${spec.id}, ${spec.type}) is the first that changes link ${opts.inventory.link.name}.`;
    const refusal = await confirmFirstChange(opts.confirm, question);
    // Asked between steps: an interrupt there is a no, with its own words.
    if (refusal && opts.signal.aborted) return { step: spec.id, error: new NotConfirmed(opts.interrupts?.signalName).message, journal: refusal.journal };
    if (refusal) return { step: spec.id, ...refusal };
    this.changesConfirmed = true;
    return undefined;
  }
}

/** The journal's one record of what the probes told before the question. */
function foreseenRecord(seen: Foresight): JournalRecord {
  if (seen.kind === 'predicted') {
    const at = seen.path.stoppedAt;
    return { kind: 'foreseen', result: 'predicted', outcome: seen.path.outcome, summary: seen.path.summary, ...(at ? { stoppedAt: { index: at.index, step: at.id, outcome: at.outcome } } : {}) };
  }
  return { kind: 'foreseen', result: seen.kind === 'timed out' ? 'timed out' : 'could not tell', summary: seen.line };
}
