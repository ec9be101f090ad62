// The embedded lab, loaded only when asked for (`apply --lab`, `lab up`). The specifier is
// computed so the engine compiles and runs without the lab and never loads it for plan.
import type { Inventory } from '../types.js';
import { ExitError, UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { existsSync } from 'node:fs';
import { hasErrors } from '../diagnostics.js';
import { loadYaml } from '../load.js';
import { InvalidInput } from './prepare.js';

export interface LabHandle {
  inventory: Inventory;
  inventories: Inventory[];
  env: Record<string, string>;
  caFile: string;
  stop(): Promise<void>;
}

export interface LabModule {
  startLab(options: { scenario?: string; links?: number; dir?: string }): Promise<LabHandle>;
}

const labSpecifier = '../../lab/index.js';

export async function loadLab(): Promise<LabModule> {
  try {
    return (await import(labSpecifier)) as LabModule;
  } catch (error) {
    throw new UsageError(`the embedded lab is not available in this build (${(error as Error).message.split('\n')[0]})`);
  }
}

/**
 * A scenario file is user input: it gets the loader's limits (size, binary, UTF-8, depth, alias
 * bombs) before the lab parses it, so a hostile file is exit 2 in bounded time and memory.
 */
export function checkScenarioFile(scenario: string | undefined): void {
  if (scenario === undefined || /^[a-z0-9-]+$/.test(scenario) || !existsSync(scenario)) return;
  const doc = loadYaml(scenario);
  if (hasErrors(doc.diagnostics)) throw new InvalidInput(doc.diagnostics, new Map([[scenario, doc.source]]));
}

export async function startLabOrExplain(options: { scenario?: string; links?: number }): Promise<LabHandle> {
  checkScenarioFile(options.scenario);
  const lab = await loadLab();
  try {
    return await lab.startLab(options);
  } catch (error) {
    // Scenario files are user input: their problems are exit 2, anything else is a failed start.
    const e = error as { diagnostics?: unknown; exitCode?: unknown; message?: string };
    const code = typeof e.exitCode === 'number' ? e.exitCode : Array.isArray(e.diagnostics) ? ExitCode.invalidInput : ExitCode.failedBeforeChange;
    throw new ExitError(code, `lab: could not start: ${String(e.message ?? error).split('\n')[0]}`);
  }
}
