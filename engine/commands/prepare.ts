// Shared by plan and apply: load and validate the runbook, the inventory (a file or the lab's
// static one) and the inputs, and load the step definitions the runbook uses. Problems become
// an InvalidInput carrying every diagnostic, rendered once by the CLI.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Diagnostic, FleetInventory, Inventory, Runbook } from '../core/types.js';
import type { LabFleetInventory, LabInventory } from '../../lab/inventory.js';
import type { LoadedStep } from '../step-api/types.js';
import { hasErrors } from '../core/diagnostics.js';
import { validateInventory, validateRunbook } from '../validate/runbook.js';
import { loadInputsFile, resolveInputs, type InputsFile } from '../load/inputs.js';
import { stepsForRunbook } from '../step-api/registry.js';
import { stepModules } from '../../steps/index.js';
import { UsageError } from '../core/errors.js';
import type { CommandIO } from './io.js';

/** Bad input found by validation: rendered as diagnostics, exit 2. */
export class InvalidInput extends Error {
  constructor(
    readonly diagnostics: Diagnostic[],
    readonly sources: Map<string, string>,
  ) {
    super(`${diagnostics.length} problem(s) in the input`);
    this.name = 'InvalidInput';
  }
}

export interface InventoryChoice {
  inventory?: string;
  /** `true` for `--lab` without a scenario. */
  lab?: string | boolean;
}

export interface LoadedRunbook {
  runbook: Runbook;
  source: string;
  steps: Map<string, LoadedStep>;
  /** What validate warns about (a value spliced into T-SQL raw): plan and apply show it too. */
  warnings: Diagnostic[];
}

export async function loadRunbook(file: string): Promise<LoadedRunbook> {
  const steps = stepModules;
  const result = await validateRunbook(file, { steps });
  if (!result.runbook || hasErrors(result.diagnostics)) {
    throw new InvalidInput(result.diagnostics, new Map([[file, result.source ?? '']]));
  }
  const pluginTypes = new Set(result.pluginFiles?.keys() ?? []);
  const warnings = result.diagnostics.filter((d) => d.severity === 'warning');
  return { runbook: result.runbook, source: result.source, steps: await stepsForRunbook(result.runbook, result.steps ?? steps, pluginTypes), warnings };
}

/**
 * A runbook's warnings, shown before its plan or run as validate shows them: on stderr, or as
 * `diagnostic` events on an event stream (apply --format json), never hidden.
 */
export async function showWarnings(loaded: Pick<LoadedRunbook, 'warnings' | 'runbook' | 'source'>, io: Pick<CommandIO, 'stdout' | 'stderr' | 'env'>, events = false): Promise<void> {
  if (loaded.warnings.length === 0) return;
  const render = await import('../ui/diagnostics.js');
  if (events) {
    io.stdout.write(render.renderDiagnosticsEvents(loaded.warnings));
    return;
  }
  const { colorWanted } = await import('../ui/style.js');
  io.stderr.write(render.renderDiagnosticsText(loaded.warnings, new Map([[loaded.runbook.file, loaded.source]]), { color: colorWanted(io.stderr, io.env) }));
}

export function checkInventoryChoice(choice: InventoryChoice, command: string, required: boolean): void {
  if (choice.inventory !== undefined && choice.lab !== undefined) {
    throw new UsageError(`${command}: -i and --lab cannot be used together`);
  }
  if (required && choice.inventory === undefined && choice.lab === undefined) {
    throw new UsageError(`${command}: say which link: -i <inventory.yml> or --lab [scenario]`);
  }
  checkLabScenario(labScenario(choice.lab));
}

// The lab's built-in scenarios, found without loading the lab (plan --lab starts nothing).
const scenarioDir = fileURLToPath(new URL('../../../lab/scenarios/', import.meta.url));

/**
 * `--lab <scenario>`: a built-in name, or a scenario file that exists (the lab's own rule). Anything
 * else is one line and exit 2, for plan as for apply, before anything is planned or started.
 */
export function checkLabScenario(scenario: string | undefined): void {
  if (scenario === undefined) return;
  const builtIn = existsSync(scenarioDir) ? readdirSync(scenarioDir).filter((f) => f.endsWith('.yml')).map((f) => f.slice(0, -4)) : [];
  if (builtIn.includes(scenario) && /^[a-z0-9-]+$/.test(scenario)) return;
  if (existsSync(scenario) && statSync(scenario).isFile()) return;
  const known = [...builtIn.filter((n) => n === 'healthy'), ...builtIn.filter((n) => n !== 'healthy').sort()];
  const isPath = /[/\\.]/.test(scenario);
  throw new UsageError(
    isPath
      ? `unknown lab scenario '${scenario}': no such file (built-in scenarios: ${known.join(', ')})`
      : `unknown lab scenario '${scenario}' (known: ${known.join(', ')})`,
  );
}

export function labScenario(lab: string | boolean | undefined): string | undefined {
  return typeof lab === 'string' ? lab : undefined;
}

/**
 * The one place where the lab's inventory becomes the engine's. The lab is a server and states
 * the shape it hands out in its own terms (lab/inventory.ts); that shape is an Inventory as it
 * stands, so this assignment is the whole conversion, checked by the compiler: if the two drift
 * apart, this stops compiling and must convert explicitly.
 */
export function inventoryFromLab(inventory: LabInventory): Inventory {
  return inventory;
}

/** The same for a fleet lab's inventory (lab/inventory.ts LabFleetInventory). */
export function fleetFromLab(fleet: LabFleetInventory): FleetInventory {
  return fleet;
}

/**
 * The lab's inventory without a running lab (`plan --lab`, a saved plan's lab): only
 * lab/inventory.ts is loaded, on demand, so nothing of the lab's servers comes with it.
 */
export async function labInventoryForPlan(): Promise<Inventory> {
  let lab: typeof import('../../lab/inventory.js');
  try {
    lab = await import('../../lab/inventory.js');
  } catch (error) {
    throw new UsageError(`--lab: the embedded lab is not available in this build (${(error as Error).message.split('\n')[0]})`);
  }
  return inventoryFromLab(lab.labInventory());
}

/** The inventory for planning: a file, or the lab's static one (no ports, nothing started). */
export async function loadInventoryForPlan(choice: InventoryChoice): Promise<{ inventory: Inventory; source: { file?: string; lab?: { scenario?: string } } }> {
  if (choice.inventory !== undefined) {
    return { inventory: await loadInventoryFile(choice.inventory), source: { file: choice.inventory } };
  }
  const scenario = labScenario(choice.lab);
  return { inventory: await labInventoryForPlan(), source: { lab: scenario !== undefined ? { scenario } : {} } };
}

export async function loadInventoryFile(file: string): Promise<Inventory> {
  const result = await validateInventory(file);
  if (result.fleet) {
    throw new UsageError(`${file} is a fleet inventory (${result.fleet.links.length} links): choose the links with --links a,b or --all`);
  }
  if (!result.inventory || hasErrors(result.diagnostics)) {
    throw new InvalidInput(result.diagnostics, new Map([[file, result.source ?? '']]));
  }
  return result.inventory;
}

/** The inputs from `--inputs <file>` (if given) and `--set`s, `--set` winning; bad ones are exit 2 at file:line:col. */
export function resolveInputsOrThrow(runbook: Runbook, source: string, sets: string[], inputsFile?: string): Record<string, unknown> {
  const sources = new Map([[runbook.file, source]]);
  let file: InputsFile | undefined;
  if (inputsFile !== undefined) {
    const loaded = loadInputsFile(inputsFile);
    sources.set(inputsFile, loaded.source);
    if (!loaded.inputs || hasErrors(loaded.diagnostics)) throw new InvalidInput(loaded.diagnostics, sources);
    file = loaded.inputs;
  }
  const result = resolveInputs(runbook, sets, file);
  if (hasErrors(result.diagnostics)) throw new InvalidInput(result.diagnostics, sources);
  return result.inputs;
}
