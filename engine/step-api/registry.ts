// Step definitions by type name, from a StepModuleMap: the built-ins (steps/index.ts, handed to the
// engine by engine/commands; loaded lazily, only the types a runbook uses) plus the runbook's own
// `plugins:` (loaded by validation, engine/load/plugins.ts). Nothing here scans directories, and
// nothing here knows steps/: the step API sits below the step types.
import type { Runbook } from '../core/types.js';
import type { LoadedStep, StepDefinition, StepModuleMap } from './types.js';

/** Loads the definitions of the given built-in types; unknown names are skipped (validate reports them). */
export async function loadBuiltinDefinitions(map: StepModuleMap, types: Iterable<string>): Promise<Map<string, StepDefinition<any>>> {
  const out = new Map<string, StepDefinition<any>>();
  for (const type of new Set(types)) {
    const load = Object.prototype.hasOwnProperty.call(map, type) ? map[type] : undefined;
    if (!load) continue;
    out.set(type, (await load()).default);
  }
  return out;
}

export async function loadAllBuiltins(map: StepModuleMap): Promise<StepDefinition<any>[]> {
  const defs: StepDefinition<any>[] = [];
  for (const type of Object.keys(map).sort()) defs.push((await map[type]!()).default);
  return defs;
}

/**
 * The step definitions a validated runbook uses, keyed by type. `map` is what validation
 * returned (built-ins plus the runbook's plugins); `pluginTypes` marks the plugins for the plan.
 */
export async function stepsForRunbook(runbook: Runbook, map: StepModuleMap, pluginTypes: ReadonlySet<string>): Promise<Map<string, LoadedStep>> {
  const out = new Map<string, LoadedStep>();
  const defs = await loadBuiltinDefinitions(map, runbook.steps.map((s) => s.type));
  for (const [type, definition] of defs) out.set(type, { definition, plugin: pluginTypes.has(type) });
  return out;
}
