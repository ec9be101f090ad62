// Step definitions by type name: the built-ins from steps/index.ts (loaded lazily, only the
// types a runbook uses) plus the runbook's own `plugins:`. Nothing here scans directories.
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Runbook, StepDefinition, StepModuleMap } from './types.js';
import type { LoadedStep } from './plan.js';

export async function builtinStepModules(): Promise<StepModuleMap> {
  return (await import('../steps/index.js')).stepModules;
}

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

/** A plugin path as written in a runbook, resolved against the runbook's directory. */
export function pluginUrl(runbookFile: string, plugin: string): string {
  const path = isAbsolute(plugin) ? plugin : resolve(dirname(resolve(runbookFile)), plugin);
  return pathToFileURL(path).href;
}

/** The step definitions a (validated) runbook needs, built-ins and plugins, keyed by type. */
export async function stepsForRunbook(runbook: Runbook, map: StepModuleMap): Promise<Map<string, LoadedStep>> {
  const out = new Map<string, LoadedStep>();
  for (const plugin of runbook.plugins ?? []) {
    const mod = (await import(pluginUrl(runbook.file, plugin))) as { default?: StepDefinition<any> };
    if (mod.default && typeof mod.default.type === 'string') out.set(mod.default.type, { definition: mod.default, plugin: true });
  }
  const builtins = await loadBuiltinDefinitions(map, runbook.steps.map((s) => s.type).filter((t) => !out.has(t)));
  for (const [type, definition] of builtins) out.set(type, { definition, plugin: false });
  return out;
}
