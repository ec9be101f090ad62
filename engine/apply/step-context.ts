// Apply's helpers: the context a step runs with, outputs of a step verified rather than run,
// and closing the run's connections.
import type { ApplyOptions } from './run.js';
import type { Impact, RunResources, StepSpec } from '../core/types.js';
import type { StepDefinition, StepHistoryEntry, StepRunContext } from '../step-api/types.js';
import { unknownValue } from '../template/render.js';

/** A step that was verified done rather than run has no outputs: later references say so clearly. */
export function verifiedOutputs(stepId: string, def: StepDefinition<any>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(def.outputs ?? {})) out[name] = unknownValue(`steps.${stepId}.outputs.${name} (step ${stepId} was verified as done, not run)`);
  return out;
}

export function stepContext(
  opts: ApplyOptions,
  spec: StepSpec,
  /** This use's impact as apply resolved it (the journal's, on resume). */
  impact: Impact,
  history: StepHistoryEntry[],
  outputs: Record<string, Record<string, unknown>>,
  notices: string[],
  getResources: () => Promise<RunResources>,
  opened: () => Promise<RunResources> | undefined,
): Omit<StepRunContext, 'signal'> {
  const log = {
    progress: (message: string) => void opts.reporter.emit({ event: 'step-output', step: spec.id, level: 'progress', message }),
    info: (message: string) => void opts.reporter.emit({ event: 'step-output', step: spec.id, level: 'info', message }),
    warn: (message: string) => {
      // Warnings are what the operator must act on (e.g. where applications must now connect): the summary repeats them.
      notices.push(`${spec.id}: ${message}`);
      void opts.reporter.emit({ event: 'step-output', step: spec.id, level: 'warn', message });
    },
  };
  const context: Omit<StepRunContext, 'signal'> = {
    stepId: spec.id,
    runId: opts.runId,
    inventory: opts.inventory,
    inputs: opts.inputs,
    impact,
    log,
    sql: async (side) => (await getResources()).sql(side),
    arm: async () => (await getResources()).arm(),
    resolveTarget: async (target) => (await getResources()).resolveTarget(target),
    outputs,
    history: history.map((h) => ({ ...h })),
    env: opts.env,
    invalidateRoles: () => void opened()?.then((r) => r.invalidateRoles()),
    assumeYes: opts.yes,
    ...(opts.confirm ? { confirm: opts.confirm } : {}),
  };
  if (spec.target !== undefined) context.target = spec.target;
  return context;
}

export async function closeResources(resources: Promise<RunResources> | undefined): Promise<void> {
  if (!resources) return;
  try {
    await (await resources).close();
  } catch {
    // Closing is best effort; the run's outcome is already decided and journaled.
  }
}

