// What a plan adds up to, in one place for the text plan's closing line and for
// `plan --detailed-exitcode`: how many steps change the link, can lose data or only read, and
// whether the run is already known to stop at a step. An unprobed plan knows refusals its inputs
// decide (a step's plan() says so, e.g. an `assert` whose condition is false); a probed plan also
// knows what the live link decides (versions, roles), from the predicted path.
import type { Impact } from '../core/types.js';
import type { Plan, PlannedStep } from './types.js';
import type { PredictedPath } from './probe.js';

/** `plan --detailed-exitcode`, as Terraform's: 0 nothing to change, 2 changes, 3 would refuse. */
export const DETAILED_EXIT = { noChanges: 0, changes: 2, wouldStop: 3 } as const;

export interface PlanStop {
  /** 1-based step index and id where the run is known to stop. */
  index: number;
  id: string;
  /** `refuse`: a guard says no (exit 3 at apply); `fail`: the step fails (what the probe saw). */
  how: 'refuse' | 'fail';
  /** The message the step would stop with, in full. */
  message: string;
  /** Whether the plan knows it from the live link (`--probe`) rather than from its inputs. */
  probed: boolean;
}

export interface PlanVerdict {
  changes: number;
  dataLoss: number;
  /** Steps whose impact is decided at run time and may be data loss then. */
  dataLossAtRunTime: number;
  reads: number;
  skipped: number;
  /** Steps whose `when:` waits for values only a run knows. */
  decidedAtRunTime: number;
  stop?: PlanStop;
  /** What `plan --detailed-exitcode` exits with. */
  exitCode: (typeof DETAILED_EXIT)[keyof typeof DETAILED_EXIT];
}

function mayLoseDataLater(step: Pick<PlannedStep, 'impact' | 'runTimeImpacts'>): boolean {
  return step.impact !== 'dataLoss' && (step.runTimeImpacts ?? []).includes('dataLoss');
}

/** The verdict of a plan, probed or not. A probed plan's predicted path decides what is skipped and where the run stops. */
export function planVerdict(plan: Plan & { predicted?: PredictedPath }): PlanVerdict {
  const predicted = new Map((plan.predicted?.steps ?? []).map((p) => [p.id, p]));
  const v: Omit<PlanVerdict, 'exitCode'> = { changes: 0, dataLoss: 0, dataLossAtRunTime: 0, reads: 0, skipped: 0, decidedAtRunTime: 0 };
  for (const step of plan.steps) {
    const seen = predicted.get(step.id);
    const skipped = step.decision === 'skip' || seen?.prediction === 'skip';
    if (skipped) {
      v.skipped++;
      continue;
    }
    if (step.decision === 'decided at run time' && (seen === undefined || seen.prediction === 'decided at run time' || seen.prediction === 'not reached')) v.decidedAtRunTime++;
    const impact: Impact = seen && seen.prediction !== 'not reached' ? seen.impact : step.impact;
    if (mayLoseDataLater({ impact, ...(step.runTimeImpacts ? { runTimeImpacts: step.runTimeImpacts } : {}) })) v.dataLossAtRunTime++;
    else if (impact === 'dataLoss') v.dataLoss++;
    else if (impact === 'change') v.changes++;
    else v.reads++;
  }
  const stop = probedStop(plan) ?? inputStop(plan);
  if (stop) v.stop = stop;
  const exitCode = stop ? DETAILED_EXIT.wouldStop : v.changes + v.dataLoss + v.dataLossAtRunTime > 0 ? DETAILED_EXIT.changes : DETAILED_EXIT.noChanges;
  return { ...v, exitCode };
}

/** Where the probe predicts the run stops, from what it read on the live link. */
function probedStop(plan: Plan & { predicted?: PredictedPath }): PlanStop | undefined {
  const at = plan.predicted?.stoppedAt;
  if (!at) return undefined;
  return { index: at.index, id: at.id, how: at.outcome === 'refused' ? 'refuse' : 'fail', message: at.message, probed: true };
}

/** The first step that will run and whose arguments, known now, already make it refuse. */
function inputStop(plan: Plan): PlanStop | undefined {
  const step = plan.steps.find((s) => s.decision === 'run' && typeof s.plan.refusal === 'string');
  if (!step) return undefined;
  return { index: step.index, id: step.id, how: 'refuse', message: step.plan.refusal!, probed: false };
}

/**
 * A refusal's gist for one line: its first sentence and, when that is long, its first clause
 * ("SQL Server is older than 2022 CU13 (16.0.4125), so ..." -> "SQL Server is older than 2022 CU13
 * (16.0.4125)"). The whole message is shown next to it.
 */
export function gist(message: string): string {
  // A sentence ends at . ! or ? before a capital letter or the end (not at the dots of `=...`).
  const sentence = (message.trim().match(/^[\s\S]*?[^.][.!?](?=\s+[A-Z]|$)/)?.[0] ?? message.trim()).replace(/[.!?]$/, '');
  if (sentence.length <= 80) return sentence;
  const clause = sentence.match(/^(.{20,}?)(?:, so |; | - |: )/)?.[1];
  if (clause && clause.length <= 100) return clause;
  return sentence.length <= 100 ? sentence : `${sentence.slice(0, sentence.lastIndexOf(' ', 99))}...`;
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * The closing line, e.g. `Plan: 2 changes, 0 data-loss steps, 9 reads (2 skipped, 2 decided at run
 * time); will refuse at step 4 (SQL Server is older than 2022 CU13 (16.0.4125)).`
 */
export function closingLine(v: PlanVerdict): string {
  const parts = [count(v.changes, 'change', 'changes'), count(v.dataLoss, 'data-loss step', 'data-loss steps')];
  if (v.dataLossAtRunTime) parts.push(`${count(v.dataLossAtRunTime, 'step', 'steps')} with data loss decided at run time`);
  parts.push(count(v.reads, 'read', 'reads'));
  const open = [v.skipped ? `${v.skipped} skipped` : '', v.decidedAtRunTime ? `${v.decidedAtRunTime} decided at run time` : ''].filter(Boolean);
  const stop = v.stop ? `; will ${v.stop.how} at step ${v.stop.index} (${gist(v.stop.message)})` : '';
  return `Plan: ${parts.join(', ')}${open.length ? ` (${open.join(', ')})` : ''}${stop}.`;
}
