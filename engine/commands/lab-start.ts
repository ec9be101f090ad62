// The embedded lab, loaded only when asked for (`apply --lab`, `plan --probe --lab`, `lab up`): a
// lazy import, so validate and plan never load it, with a static specifier, so the compiler checks
// the lab's exports against their use here. The lab knows nothing of the engine; its shapes are
// read as the engine's here and in prepare.ts (inventoryFromLab), nowhere else.
import type { Diagnostic, FleetInventory, Inventory } from '../core/types.js';
import { ExitError, UsageError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { hasErrors } from '../core/diagnostics.js';
import { loadYaml } from '../load/yaml.js';
import type { Lab, StartLabOptions } from '../../lab/index.js';
import { fleetFromLab, InvalidInput, inventoryFromLab } from './prepare.js';

/** A started lab as the engine uses it: its inventories read as the engine's. */
export type StartedLab = Pick<Lab, 'env' | 'caFile' | 'stop'> & { inventory: Inventory; inventories: Inventory[]; fleet?: FleetInventory };

export async function loadLab(): Promise<typeof import('../../lab/index.js')> {
  try {
    return await import('../../lab/index.js');
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

export async function startLabOrExplain(options: Pick<StartLabOptions, 'scenario' | 'links' | 'fleet' | 'linkScenarios'>): Promise<StartedLab> {
  for (const name of Object.values(options.linkScenarios ?? {})) checkScenarioFile(name);
  checkScenarioFile(options.scenario);
  const lab = await loadLab();
  let started: Lab;
  try {
    started = await lab.startLab(options);
  } catch (error) {
    // Scenario files are user input: their problems are exit 2, one `file:line:col` line each
    // (rendered like every other input problem); anything else is a failed start.
    if (error instanceof lab.ScenarioError) {
      // The lab reports absolute paths; show the file as the user named it.
      const named = options.scenario;
      const diagnostics: Diagnostic[] = error.diagnostics.map((d) =>
        named !== undefined && d.file === resolve(named) ? { ...d, file: named } : d);
      if (diagnostics.length) throw new InvalidInput(diagnostics, scenarioSources(named));
      throw new ExitError(ExitCode.invalidInput, `lab: could not start: ${error.message.split('\n')[0]}`);
    }
    throw new ExitError(ExitCode.failedBeforeChange, labStartProblem(String((error as Error).message ?? error)));
  }
  return {
    inventory: inventoryFromLab(started.inventory),
    inventories: started.inventories.map(inventoryFromLab),
    ...(started.fleetInventory ? { fleet: fleetFromLab(started.fleetInventory) } : {}),
    env: started.env,
    caFile: started.caFile,
    stop: () => started.stop(),
  };
}

/**
 * Why the lab did not start, in one line. The usual cause on a fresh install is the lab's SQLite
 * native module never built, because npm did not run better-sqlite3's install script (its
 * allowScripts policy, or --ignore-scripts): bindings' own message ends in "Tried:" and a list.
 */
export function labStartProblem(message: string): string {
  const first = message.split('\n')[0]!;
  if (/Could not locate the bindings file|better_sqlite3\.node/.test(message)) {
    return `lab: could not start: the lab's SQLite native module (better-sqlite3) is not built: npm did not run its install script. Install runbook again with --allow-scripts=better-sqlite3 (README "Install it for real"), or run "npm rebuild better-sqlite3" where it is installed. Only the lab needs it.`;
  }
  return `lab: could not start: ${first}`;
}

/** The scenario file's text, so the rendered problems can show the offending line. */
function scenarioSources(scenario: string | undefined): Map<string, string> {
  const sources = new Map<string, string>();
  if (scenario === undefined || !existsSync(scenario)) return sources;
  try {
    const text = readFileSync(scenario, 'utf8');
    sources.set(scenario, text);
  } catch {
    // unreadable: the problem line itself says so
  }
  return sources;
}
