// Re-renders a step's `when:` and `with:` at run time, with the real outputs of earlier steps.
// A value that is still unknown now (an output of a skipped step) fails the step with a clear
// message instead of sending half-rendered SQL anywhere.
import type { StepSpec } from '../core/types.js';
import type { StepDefinition, Unknown } from '../step-api/types.js';
import type { TemplateContext } from './context.js';
import { renderValue, renderWhen, unknownValue } from './render.js';
import { isUnknown } from '../step-api/args.js';
import { explainWhen } from './explain.js';

export type RunTimeRender =
  | { skip: true; reason: string }
  | { skip: false; args: Record<string, unknown>; error?: string };

function firstUnknown(value: unknown): Unknown | undefined {
  if (isUnknown(value)) return value as Unknown;
  if (Array.isArray(value)) {
    for (const v of value) {
      const u = firstUnknown(v);
      if (u) return u;
    }
  } else if (value && typeof value === 'object') {
    for (const v of Object.values(value)) {
      const u = firstUnknown(v);
      if (u) return u;
    }
  }
  return undefined;
}

export function renderStepAtRunTime(spec: StepSpec, ctx: TemplateContext): RunTimeRender {
  try {
    if (spec.when !== undefined) {
      const decided = renderWhen(spec.when, ctx);
      if (isUnknown(decided)) {
        return { skip: false, args: {}, error: `when: depends on ${decided.from}, which has no value in this run` };
      }
      // In words where it can be said (`dropLinkAfter is false`), else the condition as written.
      if (!decided) return { skip: true, reason: explainWhen(spec.when, ctx) ?? `when: ${spec.when.trim()} -> false` };
    }
    const args = renderValue(spec.with ?? {}, ctx) as Record<string, unknown>;
    const unknown = firstUnknown(args);
    if (unknown) return { skip: false, args, error: `with: depends on ${unknown.from}, which has no value in this run` };
    return { skip: false, args };
  } catch (error) {
    return { skip: false, args: {}, error: (error as Error).message };
  }
}

/** Outputs of a skipped step: unknown for ever, so later references fail clearly. */
export function skippedOutputs(stepId: string, def: StepDefinition<any>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(def.outputs ?? {})) out[name] = unknownValue(`steps.${stepId}.outputs.${name} (step ${stepId} was skipped)`);
  return out;
}
