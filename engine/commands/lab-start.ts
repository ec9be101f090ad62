// The embedded lab, loaded only when asked for (`apply --lab`, `lab up`). The specifier is
// computed so the engine compiles and runs without the lab and never loads it for plan.
import type { Diagnostic, Inventory } from '../core/types.js';
import { ExitError, UsageError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { hasErrors } from '../core/diagnostics.js';
import { loadYaml } from '../load/yaml.js';
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
    // Scenario files are user input: their problems are exit 2, one `file:line:col` line each
    // (rendered like every other input problem); anything else is a failed start.
    const e = error as { diagnostics?: unknown; exitCode?: unknown; message?: string };
    if (Array.isArray(e.diagnostics) && e.diagnostics.length) {
      // The lab reports absolute paths; show the file as the user named it.
      const named = options.scenario;
      const diagnostics = (e.diagnostics as Diagnostic[]).map((d) =>
        named !== undefined && d.file === resolve(named) ? { ...d, file: named } : d);
      throw new InvalidInput(diagnostics, scenarioSources(named));
    }
    const code = typeof e.exitCode === 'number' ? e.exitCode : Array.isArray(e.diagnostics) ? ExitCode.invalidInput : ExitCode.failedBeforeChange;
    throw new ExitError(code, `lab: could not start: ${String(e.message ?? error).split('\n')[0]}`);
  }
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
