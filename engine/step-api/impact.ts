// A use's impact: the step type's declared value, or its function of the arguments and the steps
// before it (plan: will-run/may-run/skipped; apply: succeeded/failed/skipped). Plan, apply, the
// probe and the step tester resolve it here, and the step sees the result as ctx.impact.
import type { Impact } from '../core/types.js';
import type { ImpactContext, StepDefinition, StepHistoryEntry } from './types.js';
import { isUnknown } from './args.js';

export function resolveImpact(def: Pick<StepDefinition<any>, 'impact'>, args: unknown, history: StepHistoryEntry[]): Impact {
  if (typeof def.impact === 'function') {
    const ctx: ImpactContext = { history: history.map((h) => ({ ...h })) };
    return def.impact(args as Record<string, unknown>, ctx);
  }
  return def.impact;
}

export interface PlannedImpact {
  impact: Impact;
  /**
   * The impact function read an argument the plan does not know yet, and answered something less
   * than dataLoss: the value it gets at run time may still make this use dataLoss (apply decides
   * then, and refuses it without --allow-data-loss).
   */
  dataLossAtRunTime: boolean;
}

/** The impact at plan time, and whether it rests on values only the run will know. */
export function planImpact(def: Pick<StepDefinition<any>, 'impact'>, args: Record<string, unknown>, history: StepHistoryEntry[]): PlannedImpact {
  if (typeof def.impact !== 'function') return { impact: def.impact, dataLossAtRunTime: false };
  // The arguments the function looks at, seen through a proxy: an unknown it never reads cannot change its answer.
  const read = new Set<string | symbol>();
  const watched = new Proxy(args, {
    get(target, key, receiver) {
      read.add(key);
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      read.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      for (const key of Reflect.ownKeys(target)) read.add(key);
      return Reflect.ownKeys(target);
    },
  });
  const impact = resolveImpact(def, watched, history);
  if (impact === 'dataLoss') return { impact, dataLossAtRunTime: false };
  const dataLossAtRunTime = [...read].some((key) => typeof key === 'string' && Object.hasOwn(args, key) && holdsUnknown(args[key]));
  return { impact, dataLossAtRunTime };
}

function holdsUnknown(value: unknown): boolean {
  if (isUnknown(value)) return true;
  if (Array.isArray(value)) return value.some(holdsUnknown);
  if (value !== null && typeof value === 'object') return Object.values(value).some(holdsUnknown);
  return false;
}
