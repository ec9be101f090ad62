// A use's impact: the step type's declared value, or its function of the arguments and the steps
// before it (plan: will-run/may-run/skipped; apply: succeeded/failed/skipped). Plan, apply, the
// probe and the step tester resolve it here, and the step sees the result as ctx.impact.
import type { Impact } from '../core/types.js';
import type { ImpactContext, StepDefinition, StepHistoryEntry } from './types.js';

export function resolveImpact(def: Pick<StepDefinition<any>, 'impact'>, args: unknown, history: StepHistoryEntry[]): Impact {
  if (typeof def.impact === 'function') {
    const ctx: ImpactContext = { history: history.map((h) => ({ ...h })) };
    return def.impact(args as Record<string, unknown>, ctx);
  }
  return def.impact;
}
