// What a step sees while it runs or is verified: its run's identity and inputs, the run's
// connections, the outputs and history of the steps before it, and a log whose warnings the run
// repeats in its summary. Also the outputs a step has when it was verified done rather than run.
import type { Impact, RunResources, StepSpec } from '../core/types.js';
import type { ProgressData, StepDefinition, StepHistoryEntry, StepRunContext } from '../step-api/types.js';
import { unknownValue } from '../template/render.js';
import type { ApplyOptions } from './types.js';

/** A step's context, but for `signal`, which the step runner makes per attempt. */
export type StepContext = Omit<StepRunContext, 'signal'>;

/** Where a step context comes from: the run's options and connections, and where its warnings go. */
export interface StepContextSource {
  opts: ApplyOptions;
  resources: RunResources;
  /** A line for the summary's "Attention" list. */
  notice(line: string): void;
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
  const context: StepContext = {
    stepId: spec.id,
    runId: opts.runId,
    inventory: opts.inventory,
    inputs: opts.inputs,
    impact,
    log,
    sql: async (side) => resources.sql(side),
    arm: async () => resources.arm(),
    resolveTarget: async (target) => resources.resolveTarget(target),
    outputs,
    history: history.map((h) => ({ ...h })),
    env: opts.env,
    invalidateRoles: () => resources.invalidateRoles(),
    assumeYes: opts.yes,
    ...(opts.confirm ? { confirm: opts.confirm } : {}),
  };
  if (spec.target !== undefined) context.target = spec.target;
  return context;
}
