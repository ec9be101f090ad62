// The one question apply asks before its steps run, as Terraform asks once after showing its plan:
// every gate whose question is known now (a confirm step's message that needs no run-time value),
// the steps that will or may change the link, and the data-loss steps --allow-data-loss already
// acknowledged, together. Gates whose question needs what the run learns (a forced failover's loss
// report) are named here and asked at their place. Pure: what to ask; engine/ui/prompt.ts asks it.
import type { Impact } from '../core/types.js';
import type { Plan, PlannedStep, PlanValue } from '../plan/types.js';
import type { PredictedPath } from '../plan/probe.js';
import type { LoadedStep } from '../step-api/types.js';
import { isUnknown } from '../step-api/args.js';

export interface RunQuestion {
  /** With what the probes foresaw (engine/apply/foresee.ts), when they could tell. */
  plan: Plan & { predicted?: PredictedPath };
  /** Why the plan shows no prediction, in one line, when the probes could not tell or ran out of time. */
  foresightNote?: string;
  /** Gates asked now; each finds its question answered when the run reaches it. */
  confirmations: Array<{ step: string; index: number; question: string }>;
  /** Steps that will change the link (`decided: false`: only if their `when:` holds at run time). */
  changes: Array<{ step: string; index: number; type: string; impact: Impact; decided: boolean }>;
  /** Data-loss steps among them, acknowledged by --allow-data-loss (checked before the run). */
  dataLoss: string[];
  /** Gates whose question needs run-time values: asked when the run reaches them. */
  askedLater: Array<{ step: string; index: number }>;
  /** The first step the question covers: a no stops the run there. */
  firstStep: string;
  /** On a resume: the steps done before it, which it does not run again (the plan shown marks them). */
  done?: string[];
}

/** What the probes told: a prediction only from a definite answer (a refusal, or a template that cannot render). */
export type Foresight =
  | { kind: 'predicted'; path: PredictedPath }
  /** A probe's error (a dropped connection, a timeout): the run will find out at that step. */
  | { kind: 'could not tell'; line: string; step?: { index: number; id: string } }
  | { kind: 'timed out'; line: string; deadlineMs: number };

/** What the probes tell before the question (engine/apply/foresee.ts), looked at by whoever asks it. */
export interface Foreseer {
  deadlineMs: number;
  look(): Promise<Foresight>;
}

/**
 * Asks the run's question, after `foreseer` when given (the plan then shows what it told); true
 * only for `yes` typed in full. A no may say why (`end of input`), for the run's last line.
 */
export type ConfirmRun = (question: RunQuestion, foreseer?: Foreseer) => Promise<boolean | { no: string }>;

function hasUnknown(value: PlanValue): boolean {
  if (isUnknown(value)) return true;
  if (Array.isArray(value)) return value.some(hasUnknown);
  if (value !== null && typeof value === 'object') return Object.values(value).some(hasUnknown);
  return false;
}

function mayChange(step: PlannedStep): boolean {
  return step.impact !== 'read' || (step.runTimeImpacts ?? []).some((i) => i !== 'read');
}

/**
 * What to ask before the run, over the steps still to run (`pending`: on resume, those not done);
 * undefined when nothing needs asking before the steps (a run that only reads, and whose gates all
 * need run-time values).
 */
export function runQuestion(plan: Plan, steps: ReadonlyMap<string, LoadedStep>, pending: (step: PlannedStep) => boolean = () => true): RunQuestion | undefined {
  const q: RunQuestion = { plan, confirmations: [], changes: [], dataLoss: [], askedLater: [], firstStep: '' };
  let first: number | undefined;
  const covers = (s: PlannedStep) => {
    if (first === undefined || s.index < first) {
      first = s.index;
      q.firstStep = s.id;
    }
  };
  const done: string[] = [];
  for (const s of plan.steps) {
    if (s.decision !== 'skip' && !pending(s)) done.push(s.id);
    if (s.decision === 'skip' || !pending(s)) continue;
    const def = steps.get(s.type)?.definition;
    if (def?.question) {
      if (s.decision === 'run' && !hasUnknown(s.with)) {
        q.confirmations.push({ step: s.id, index: s.index, question: def.question(s.with as never) });
        covers(s);
      } else q.askedLater.push({ step: s.id, index: s.index });
    }
    if (mayChange(s)) {
      const impact: Impact = s.impact === 'dataLoss' || s.runTimeImpacts?.includes('dataLoss') ? 'dataLoss' : 'change';
      q.changes.push({ step: s.id, index: s.index, type: s.type, impact, decided: s.decision === 'run' });
      if (impact === 'dataLoss') q.dataLoss.push(s.id);
      covers(s);
    }
  }
  if (done.length) q.done = done;
  return first === undefined ? undefined : q;
}
