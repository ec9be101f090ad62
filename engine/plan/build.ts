// buildPlan: a pure function from (runbook, inventory, inputs, step definitions) to a Plan.
// It renders templates where their values are known, decides `when:` where it can, resolves
// each step's impact against the steps before it, and asks each step type for its read-only
// plan(). It connects to nothing and reads no files.
import { createHash } from 'node:crypto';
import type { Inventory, Runbook } from '../core/types.js';
import type { LoadedStep, StepHistoryEntry } from '../step-api/types.js';
import { PLAN_FORMAT_VERSION, type Plan, type PlannedStep, type PlanValue, type StepDecision } from './types.js';
import { addUnknownOutputs, planTimeContext, type TemplateContext } from '../template/context.js';
import { renderValue, renderWhen } from '../template/render.js';
import { planImpact } from '../step-api/impact.js';
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
    const { impact, dataLossAtRunTime } = planImpact(def, args, history);
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
    if (dataLossAtRunTime) step.dataLossAtRunTime = true;
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
