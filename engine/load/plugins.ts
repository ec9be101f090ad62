// Step types a runbook brings along: `plugins:` lists local modules (paths relative to the runbook)
// whose default export is a step definition. A broken plugin is a diagnostic, never a crash.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { diag, type Diagnostic } from '../core/diagnostics.js';
import { checkStepDefinition } from '../step-api/contract.js';
import type { StepDefinition, StepModuleMap } from '../step-api/types.js';
import type { Pos } from './positions.js';

const pluginDefinitions = new WeakSet<object>();
/** Whether a definition came from a runbook's `plugins:` (the plan marks those). */
export function isPluginDefinition(def: unknown): boolean {
  return typeof def === 'object' && def !== null && pluginDefinitions.has(def);
}

let pluginImported = false;
/** Whether this process imported a plugin module: its state lives on in the module cache (a drill worker is then not reused, engine/cli/worker.ts). */
export const pluginCodeImported = () => pluginImported;

export interface LoadedPlugins {
  steps: StepModuleMap;
  diagnostics: Diagnostic[];
  /** Plugin step type -> absolute module path. */
  pluginFiles: Map<string, string>;
}

export interface PluginOptions {
  /** Built-in type names; a plugin may not reuse one. */
  builtins?: Iterable<string>;
  /** How long an import may take before it counts as broken. */
  importTimeoutMs?: number;
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 200);
}

export async function loadPlugins(
  runbookFile: string,
  plugins: string[],
  locate: (pointer: string) => Pos,
  opts: PluginOptions = {},
): Promise<LoadedPlugins> {
  const out: LoadedPlugins = { steps: {}, diagnostics: [], pluginFiles: new Map() };
  const builtins = new Set(opts.builtins ?? []);
  const timeout = opts.importTimeoutMs ?? 5000;
  await Promise.all(
    plugins.map(async (entry, i) => {
      const pointer = `/plugins/${i}`;
      const at = { file: runbookFile, ...locate(pointer), path: pointer };
      const file = resolve(dirname(runbookFile), entry);
      if (!existsSync(file)) {
        out.diagnostics.push(diag('plugin-not-found', `Plugin \`${entry}\` not found (looked for ${file}).`, at));
        return;
      }
      let mod: { default?: unknown };
      let timer: NodeJS.Timeout | undefined;
      pluginImported = true;
      try {
        mod = await Promise.race([
          import(pathToFileURL(file).href) as Promise<{ default?: unknown }>,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`did not finish loading within ${timeout} ms`)), timeout);
          }),
        ]);
      } catch (e) {
        out.diagnostics.push(diag('plugin-failed', `Plugin \`${entry}\` failed to load: ${firstLine(e)}`, at));
        return;
      } finally {
        clearTimeout(timer);
      }
      const problems = checkStepDefinition(mod.default, `Plugin \`${entry}\``);
      if (problems.length > 0) {
        for (const p of problems) out.diagnostics.push(diag('plugin-invalid', `${p}.`, at));
        return;
      }
      const def = mod.default as StepDefinition;
      if (builtins.has(def.type)) {
        out.diagnostics.push(diag('plugin-shadows-builtin', `Plugin \`${entry}\` defines step type \`${def.type}\`, which is built in; give it another name.`, at));
        return;
      }
      const other = out.pluginFiles.get(def.type);
      if (other !== undefined) {
        out.diagnostics.push(diag('plugin-duplicate-type', `Plugin \`${entry}\` defines step type \`${def.type}\`, already defined by ${other}.`, at));
        return;
      }
      pluginDefinitions.add(def);
      out.pluginFiles.set(def.type, file);
      out.steps[def.type] = async () => ({ default: def });
    }),
  );
  return out;
}
