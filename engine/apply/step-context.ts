// What a step sees while it runs or is verified: its run's identity and inputs, the run's
// connections, the outputs and history of the steps before it, and a log whose warnings the run
// repeats in its summary. Also the outputs a step has when it was verified done rather than run.
import type { ChangeGuard, Impact, ReplicaSide, RunResources, StepSpec } from '../core/types.js';
import type { ProgressData, StepDefinition, StepHistoryEntry, StepRunContext } from '../step-api/types.js';
import { unknownValue } from '../template/render.js';
import { noteChange, stepPool, type StepPoolState } from './step-pool.js';
import { armFor, type ArmCaller } from '../drivers/arm/read-only-arm.js';
import type { ApplyOptions, Confirm } from './types.js';

/** A step's context, but for `signal`, which the step runner makes per attempt. */
export type StepContext = Omit<StepRunContext, 'signal'>;

/** What a step sent, as the journal keeps it: T-SQL (with its parameters) to a replica, or an ARM request. */
export interface SentStatement {
  step: string;
  /** The replica side (`sqlServer`, `managedInstance`) or `arm`. */
  target: string;
  /** The T-SQL batch as sent, or `METHOD url` for ARM. */
  text: string;
  params?: Record<string, unknown>;
}

/** Where a step context comes from: the run's options and connections, and where its warnings go. */
export interface StepContextSource {
  opts: ApplyOptions;
  resources: RunResources;
  /** A line for the summary's "Attention" list. */
  notice(line: string): void;
  /** Called right before a step sends a statement (the run journals each distinct one once). */
  sent?(statement: SentStatement): void;
  /** When the operator confirmed this step's exact question before the run began (engine/apply/gates.ts). */
  answeredBefore?(step: string, question: string): string | undefined;
  /** What a step asks the operator through (engine/apply/gates.ts); undefined: no one to ask. */
  confirm: Confirm | undefined;
  /** The lock check a T-SQL change to `side` carries (the run's link lock); undefined without a lock. */
  changeGuard?(side: ReplicaSide): ChangeGuard | undefined;
}

/** A step that was verified done rather than run has no outputs: later references say so clearly. */
export function verifiedOutputs(stepId: string, def: StepDefinition<any>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(def.outputs ?? {})) out[name] = unknownValue(`steps.${stepId}.outputs.${name} (step ${stepId} was verified as done, not run)`);
  return out;
}

export function stepContext(
  source: StepContextSource,
  spec: StepSpec,
  /** This use's impact as apply resolved it (the journal's, on resume). */
  impact: Impact,
  history: readonly StepHistoryEntry[],
  outputs: Record<string, Record<string, unknown>>,
  /** What this step returned before a resume, when it runs again. */
  before?: Record<string, unknown>,
): StepContext {
  const { opts, resources } = source;
  const log = {
    progress: (message: string, data?: ProgressData) =>
      void opts.reporter.emit({ event: 'step-output', step: spec.id, level: 'progress', message, ...(data ? { data } : {}) }),
    info: (message: string) => void opts.reporter.emit({ event: 'step-output', step: spec.id, level: 'info', message }),
    warn: (message: string) => {
      // Warnings are what the operator must act on (e.g. where applications must now connect): the summary repeats them.
      source.notice(`${spec.id}: ${message}`);
      void opts.reporter.emit({ event: 'step-output', step: spec.id, level: 'warn', message });
    },
  };
  const sent = source.sent;
  const pools: StepPoolState = {
    step: spec.id,
    changeSent: false,
    changes: { count: 0, multiStatement: 0, mayHaveActed: 0 },
    sentAny: false,
    checkedNext: new Map(),
    ...(sent ? { record: (target: ReplicaSide, text: string, params: Record<string, unknown> | undefined) => sent({ step: spec.id, target, text, ...(params ? { params } : {}) }) } : {}),
  };
  const context: StepContext = {
    stepId: spec.id,
    runId: opts.runId,
    inventory: opts.inventory,
    inputs: opts.inputs,
    impact,
    log,
    // A change step's batches carry the run's lock check, whoever wrote the step (engine/apply/step-pool.ts).
    // A read step's batches must be plain reads (engine/drivers/sql/read-only-pool.ts).
    sql: async (side) => stepPool(await resources.sql(side), side, pools, impact === 'read' ? undefined : source.changeGuard?.(side), impact === 'read'),
    // A read step's requests must be GETs; each request is journaled and counted as the step's
    // that sent it, whenever it goes out (engine/drivers/arm/read-only-arm.ts; the step runner runs
    // each attempt as its caller).
    arm: async () => armFor(await resources.arm(), spec.id, impact === 'read', armCallers.get(context)),
    resolveTarget: async (target) => resources.resolveTarget(target),
    outputs,
    history: history.map((h) => ({ ...h })),
    env: opts.env,
    invalidateRoles: () => resources.invalidateRoles(),
    changeGuard: (side) => source.changeGuard?.(side),
    assumeYes: opts.yes,
    ...(source.confirm ? { confirm: source.confirm } : {}),
    answeredBefore: (question) => source.answeredBefore?.(spec.id, question),
  };
  if (spec.target !== undefined) context.target = spec.target;
  if (before !== undefined) context.before = before;
  poolStates.set(context, pools);
  armCallers.set(context, {
    step: spec.id,
    readOnly: impact === 'read',
    sending: (method, url) => {
      sent?.({ step: spec.id, target: 'arm', text: `${method} ${url}` });
      if (method === 'GET') return undefined;
      const counted = noteChange(pools);
      return (refused) => void (refused && counted.notApplied());
    },
  });
  return context;
}

const armCallers = new WeakMap<StepContext, ArmCaller>();

/** Whose ARM requests the step's code makes (engine/drivers/arm/read-only-arm.ts asArmCaller); the runner adds when its attempt ends. */
export function armCallerOf(context: StepContext): ArmCaller | undefined {
  return armCallers.get(context);
}

const poolStates = new WeakMap<StepContext, StepPoolState>();

/** The change requests a step sent through its `ctx.sql` pools and `ctx.arm` client (engine/apply/step-pool.ts StepPoolState.changes). */
export function changesSent(context: StepContext): StepPoolState['changes'] | undefined {
  const changes = poolStates.get(context)?.changes;
  return changes ? { ...changes } : undefined;
}

/** Whether a step sent any batch through its `ctx.sql` pools: its send gate's "not sent" no longer holds. */
export function sentThroughPools(context: StepContext): boolean {
  return poolStates.get(context)?.sentAny === true;
}
