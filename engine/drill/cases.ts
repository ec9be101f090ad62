// The drill's cases: a lab scenario and one injected fault, named `<scenario>/<fault>` so that a
// violation's case can be run again alone (`--only`). The matrix is every fault that can touch
// this runbook (built from its plan) in every scenario asked for; random mode draws a case per run.
import { between, derive, random } from './seed.js';

export type ArmOperation = 'update' | 'delete' | 'failover' | 'setRole';
export type Side = 'sqlServer' | 'managedInstance';

export type Fault =
  | { kind: 'none' }
  /** The replica stops listening at a random instant (after the lab's Nth statement) and stays down. */
  | { kind: 'replica-down'; side: Side }
  /** The Nth change statement's connection drops before it acts, or after it acted (reply lost). */
  | { kind: 'drop-before'; nth: number }
  | { kind: 'drop-after'; nth: number }
  /** Every change statement answers a second late. */
  | { kind: 'slow' }
  /** The Nth change statement never answers (until the client's request timeout). */
  | { kind: 'hang'; nth: number }
  /** The ARM operation's first requests are throttled (429 twice) or fail (500), or its long-running operation fails. */
  | { kind: 'arm-429'; op: ArmOperation }
  | { kind: 'arm-500'; op: ArmOperation }
  | { kind: 'arm-lro-failed'; op: ArmOperation }
  /** SIGKILL of the engine when its journal shows step `boundary` reached, then `apply --resume`. */
  | { kind: 'kill-at-step'; boundary: number; step: string }
  /** SIGKILL at a random instant (after the lab's Nth statement), then `apply --resume`. */
  | { kind: 'kill-random' }
  /** A second `runbook apply` of the same runbook started at a random instant. */
  | { kind: 'second-operator' };

export interface DrillCase {
  id: string;
  scenario: string;
  fault: Fault;
}

/** What the matrix needs of the runbook: its steps as planned. */
export interface RunbookShape {
  steps: Array<{ index: number; id: string; type: string; impact: string; skipped: boolean }>;
}

const ARM_OPS: Record<string, ArmOperation> = { armDeleteLink: 'delete', armFailoverLink: 'failover', armSetRole: 'setRole' };

export function faultId(f: Fault): string {
  switch (f.kind) {
    case 'none': return 'no-fault';
    case 'replica-down': return `${f.side}-down`;
    case 'drop-before': return `drop-before-change-${f.nth}`;
    case 'drop-after': return `drop-after-change-${f.nth}`;
    case 'slow': return 'slow-changes';
    case 'hang': return `hang-change-${f.nth}`;
    case 'arm-429': return `arm-429-${f.op}`;
    case 'arm-500': return `arm-500-${f.op}`;
    case 'arm-lro-failed': return `arm-lro-failed-${f.op}`;
    case 'kill-at-step': return `kill-at-${f.boundary}-${f.step}`;
    case 'kill-random': return 'kill-random';
    case 'second-operator': return 'second-operator';
  }
}

/** Every fault that can touch this runbook: steps the plan skips for certain get no kill and no fault. */
export function faultMatrix(shape: RunbookShape): Fault[] {
  const live = shape.steps.filter((s) => !s.skipped);
  const sqlChanges = live.filter((s) => s.type === 'sqlExec' && s.impact !== 'read').length;
  const armOps = [...new Set(live.flatMap((s) => (ARM_OPS[s.type] && s.impact !== 'read' ? [ARM_OPS[s.type]!] : [])))];
  const faults: Fault[] = [{ kind: 'none' }, { kind: 'replica-down', side: 'sqlServer' }, { kind: 'replica-down', side: 'managedInstance' }];
  for (let nth = 1; nth <= sqlChanges; nth++) {
    faults.push({ kind: 'drop-before', nth }, { kind: 'drop-after', nth }, { kind: 'hang', nth });
  }
  if (sqlChanges) faults.push({ kind: 'slow' });
  for (const op of armOps) faults.push({ kind: 'arm-429', op }, { kind: 'arm-500', op }, { kind: 'arm-lro-failed', op });
  for (const s of live) faults.push({ kind: 'kill-at-step', boundary: s.index, step: s.id });
  faults.push({ kind: 'kill-random' }, { kind: 'second-operator' });
  return faults;
}

export function matrixCases(scenarios: string[], shape: RunbookShape): DrillCase[] {
  const faults = faultMatrix(shape);
  return scenarios.flatMap((scenario) => faults.map((fault) => ({ id: `${scenario}/${faultId(fault)}`, scenario, fault })));
}

/** Random mode: the case of one run, drawn from its seed. */
export function randomCase(seed: number, scenarios: string[], shape: RunbookShape): DrillCase {
  const next = random(derive(seed, 'case'));
  const scenario = scenarios[between(next, 0, scenarios.length - 1)]!;
  const faults = faultMatrix(shape);
  const fault = faults[between(next, 0, faults.length - 1)]!;
  return { id: `${scenario}/${faultId(fault)}`, scenario, fault };
}

/**
 * A random instant of a run, as the number of statements the lab has received: the same seed
 * gives the same instant in the engine's own sequence of statements, where a wall-clock delay
 * would land somewhere else on every machine.
 */
export function instantOf(seed: number, caseId: string, upTo = 150): number {
  return between(random(derive(seed, `instant ${caseId}`)), 1, upTo);
}

/** A change statement as the lab's faults match it (the same test as the judge's isChangeStatement, as a pattern). */
export const CHANGE_PATTERN = '^\\s*(ALTER|BACKUP|DROP|RESTORE|CREATE|INSERT|UPDATE|DELETE|MERGE|TRUNCATE|KILL)\\b';

/** The lab faults (scenario `faults:` entries) a case lays over its scenario. */
export function labFaults(f: Fault): Array<Record<string, unknown>> {
  switch (f.kind) {
    case 'drop-before': return [{ kind: 'dropConnection', match: CHANGE_PATTERN, nth: f.nth }];
    case 'drop-after': return [{ kind: 'dropConnection', match: CHANGE_PATTERN, nth: f.nth, after: true }];
    case 'slow': return [{ kind: 'slow', match: CHANGE_PATTERN, delayMs: 1000 }];
    case 'hang': return [{ kind: 'hang', match: CHANGE_PATTERN, nth: f.nth }];
    case 'arm-429': return [{ kind: 'armStatus', op: f.op, status: 429, retryAfterSeconds: 0, count: 2 }];
    case 'arm-500': return [{ kind: 'armStatus', op: f.op, status: 500, count: 1 }];
    case 'arm-lro-failed': return [{ kind: 'armLroFails', op: f.op, code: 'InternalServerError' }];
    default: return [];
  }
}
