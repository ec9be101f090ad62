// buildPlan: a pure function from (runbook, inventory, inputs, step definitions) to a Plan.
// It renders templates where their values are known, decides `when:` where it can, resolves
// each step's impact against the steps before it, and asks each step type for its read-only
// plan(). It connects to nothing and reads no files.
import { createHash } from 'node:crypto';
import type { Impact, Inventory, Runbook } from '../core/types.js';
import type { LoadedStep, StepHistoryEntry } from '../step-api/types.js';
import { PLAN_FORMAT_VERSION, type Plan, type PlannedStep, type PlanValue, type StepDecision } from './types.js';
import { addUnknownOutputs, planTimeContext, type TemplateContext } from '../template/context.js';
import { renderValue, renderWhen } from '../template/render.js';
import { resolveImpact } from '../step-api/impact.js';
import { isUnknown } from '../step-api/args.js';
import { parseDuration } from '../core/duration.js';
import { badRenderedDuration } from './rendered-durations.js';

export interface BuildPlanInput {
  runbook: Runbook;
  /** The runbook file's text, for the hash that binds a saved plan to it. */
  source: string;
  inventory: Inventory;
  inventorySource?: { file?: string; lab?: { scenario?: string } };
  inputs: Record<string, unknown>;
  steps: ReadonlyMap<string, LoadedStep>;
  runId?: string;
}

/** A problem found while planning (a `when:` that is neither true nor false, a plan() that threw). */
export class PlanError extends Error {
  constructor(
    message: string,
    readonly stepId?: string,
  ) {
    super(message);
    this.name = 'PlanError';
  }
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * What pins a loaded inventory's content: the sha256 of its data as loaded (as the journal records
 * it), so a plan or a resume can tell another link's inventory from the one it was made with, even
 * at the same path and with the same link and database names.
 */
export function inventoryDigest(inventory: Inventory): string {
  return sha256(JSON.stringify(inventory));
}

export const SECRET_PLACEHOLDER = '(secret)';

export function redactInputs(runbook: Runbook, inputs: Record<string, unknown>): Record<string, PlanValue> {
  const out: Record<string, PlanValue> = {};
  for (const [name, value] of Object.entries(inputs)) {
    const spec = runbook.inputs?.[name] as { secret?: boolean } | undefined;
    out[name] = spec?.secret ? SECRET_PLACEHOLDER : toPlanValue(value);
  }
  return out;
}

/** Normalises a rendered value into plain JSON data (Unknown values become `{unknown, from}`). */
export function toPlanValue(value: unknown): PlanValue {
  if (isUnknown(value)) return { unknown: true, from: String((value as { from?: unknown }).from ?? '') };
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map(toPlanValue);
  if (typeof value === 'object') {
    const out: Record<string, PlanValue> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = toPlanValue(v);
    return out;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return String(value);
}

/** Most combinations of earlier run-time decisions tried; past it, only "all ran" and "all skipped". */
const MAX_HISTORY_VARIANTS = 256;

/**
 * Every impact a step type's impact function can give this use at run time. The plan resolves it
 * with what it knows now; a run resolves it again with the real values. Two things can make them
 * differ: an earlier step decided at run time (`may-run`: it may run or be skipped), tried both
 * ways here; and an argument known only after apply that the function reads (seen through a
 * proxy), which could make it anything, so all three are possible.
 */
export function runTimeImpacts(def: Pick<LoadedStep['definition'], 'impact'>, args: Record<string, unknown>, history: StepHistoryEntry[]): Impact[] {
  if (typeof def.impact !== 'function') return [];
  let readsUnknown = false;
  const watched = watchUnknownReads(args, () => (readsUnknown = true)) as Record<string, unknown>;
  const open = history.flatMap((h, i) => (h.state === 'may-run' ? [i] : []));
  const masks = 2 ** open.length <= MAX_HISTORY_VARIANTS ? Array.from({ length: 2 ** open.length }, (_, m) => m) : [0, 2 ** open.length - 1];
  const found = new Set<Impact>();
  for (const mask of masks) {
    const variant = history.map((h) => ({ ...h }));
    open.forEach((at, bit) => (variant[at]!.state = Math.floor(mask / 2 ** bit) % 2 === 1 ? 'will-run' : 'skipped'));
    try {
      found.add(resolveImpact(def, watched, variant));
    } catch {
      readsUnknown = true;
    }
  }
  if (readsUnknown) for (const i of ['read', 'change', 'dataLoss'] as const) found.add(i);
  return [...found];
}

/** `value`, seen through proxies that call `onRead` when anything reads an Unknown inside it. */
function watchUnknownReads(value: unknown, onRead: () => void): unknown {
  if (value === null || typeof value !== 'object') return value;
  return new Proxy(value as object, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver) as unknown;
      if (isUnknown(v)) {
        onRead();
        return v;
      }
      return watchUnknownReads(v, onRead);
    },
  });
}

export function buildPlan(input: BuildPlanInput): Plan {
  const { runbook, inventory, inputs, steps } = input;
  const ctx: TemplateContext = planTimeContext(inventory, inputs, input.runId);
  const history: StepHistoryEntry[] = [];
  const planned: PlannedStep[] = [];

  runbook.steps.forEach((spec, i) => {
    const loaded = steps.get(spec.type);
    if (!loaded) throw new PlanError(`step ${spec.id}: unknown step type "${spec.type}"`, spec.id);
    const def = loaded.definition;

    let decision: StepDecision = 'run';
    let when: PlannedStep['when'];
    let args: Record<string, unknown>;
    try {
      if (spec.when !== undefined) {
        const decided = renderWhen(spec.when, ctx);
        if (isUnknown(decided)) {
          decision = 'decided at run time';
          when = { expression: spec.when, dependsOn: decided.from };
        } else {
          decision = decided ? 'run' : 'skip';
          when = { expression: spec.when, rendered: String(decided) };
        }
      }
      args = renderValue(spec.with ?? {}, ctx) as Record<string, unknown>;
      const badDuration = badRenderedDuration(def.with, spec.with, args);
      if (badDuration) throw new Error(badDuration);
    } catch (error) {
      throw new PlanError(`step ${spec.id}: ${(error as Error).message}`, spec.id);
    }
    const impact = resolveImpact(def, args, history);
    const runTime = runTimeImpacts(def, args, history).filter((i) => i !== impact);
    let result;
    try {
      result = def.plan({ stepId: spec.id, target: spec.target, inventory, impact, history: history.map((h) => ({ ...h })) }, args);
    } catch (error) {
      throw new PlanError(`step ${spec.id}: ${spec.type}.plan() failed: ${(error as Error).message}`, spec.id);
    }

    const step: PlannedStep = {
      index: i + 1,
      id: spec.id,
      type: spec.type,
      plugin: loaded.plugin,
      impact,
      with: toPlanValue(args) as Record<string, PlanValue>,
      decision,
      plan: JSON.parse(JSON.stringify(toPlanValue(result))),
    };
    if (runTime.length) step.runTimeImpacts = runTime;
    if (spec.description !== undefined) step.description = spec.description;
    if (spec.target !== undefined) step.target = spec.target;
    if (when) step.when = when;
    if (spec.timeout !== undefined) step.timeout = { text: spec.timeout, ms: parseDuration(spec.timeout) };
    if (spec.retry !== undefined) {
      step.retry = { count: spec.retry.count, delayMs: spec.retry.delay ? parseDuration(spec.retry.delay) : 0 };
      if (spec.retry.delay !== undefined) step.retry.delay = spec.retry.delay;
    }
    planned.push(step);

    history.push({
      id: spec.id,
      type: spec.type,
      state: decision === 'run' ? 'will-run' : decision === 'skip' ? 'skipped' : 'may-run',
    });
    addUnknownOutputs(ctx, spec.id, def);
  });

  const plan: Plan = {
    format: 'runbook-plan',
    version: PLAN_FORMAT_VERSION,
    runbook: {
      name: runbook.name,
      description: runbook.description,
      file: runbook.file,
      sha256: sha256(input.source),
    },
    inventory: {
      link: inventory.link.name,
      database: inventory.link.database,
      ...(input.inventorySource?.file !== undefined ? { file: input.inventorySource.file, sha256: inventoryDigest(inventory) } : {}),
      ...(input.inventorySource?.lab !== undefined ? { lab: input.inventorySource.lab } : {}),
    },
    inputs: redactInputs(runbook, inputs),
    steps: planned,
  };
  if (input.runId !== undefined) plan.runId = input.runId;
  return plan;
}
