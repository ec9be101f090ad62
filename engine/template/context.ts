// The template context shared by plan and apply: `inputs`, `link`, `steps.<id>.outputs.<name>`,
// `run`. At plan time outputs of earlier steps are Unknown ("known after apply"); during apply
// they are the real values.
import type { Inventory } from '../core/types.js';
import type { StepDefinition, Unknown } from '../step-api/types.js';
import { unknownValue } from './render.js';

export interface TemplateContext {
  inputs: Record<string, unknown>;
  link: Inventory['link'];
  steps: Record<string, { outputs: Record<string, unknown> }>;
  run: { id: unknown; started: unknown };
  [key: string]: unknown;
}

export function planTimeContext(
  inventory: Inventory,
  inputs: Record<string, unknown>,
  runId: string | undefined,
): TemplateContext {
  return {
    inputs,
    link: inventory.link,
    steps: {},
    run: { id: runId ?? unknownValue('run.id'), started: unknownValue('run.started') },
  };
}

/** Makes an earlier step's declared outputs visible to later templates as Unknown values. */
export function addUnknownOutputs(ctx: TemplateContext, stepId: string, def: StepDefinition<any>): void {
  const outputs: Record<string, Unknown> = {};
  for (const name of Object.keys(def.outputs ?? {})) {
    outputs[name] = unknownValue(`steps.${stepId}.outputs.${name}`) as Unknown;
  }
  ctx.steps[stepId] = { outputs };
}

export function runTimeContext(
  inventory: Inventory,
  inputs: Record<string, unknown>,
  run: { id: string; started: string },
): TemplateContext {
  return { inputs, link: inventory.link, steps: {}, run: { ...run } };
}
