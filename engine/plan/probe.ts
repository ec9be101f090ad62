// `plan --probe`: the plan, plus what the live link looks like and the path a run would take
// through the runbook from here. Only `read` steps are probed, only with their arguments fully
// known, and only until the first step that may change the link (after that, what a read would
// see now says nothing about what it will see then). Change and data-loss steps are never run.
import type { Inventory, RunResources } from '../core/types.js';
import type { LoadedStep, StepDefinition, StepRunContext } from '../step-api/types.js';
import type { Plan, PlanValue } from './types.js';
import { buildPlan, toPlanValue, type BuildPlanInput } from './build.js';
import { resolveImpact } from '../step-api/impact.js';
import { planTimeContext, type TemplateContext } from '../template/context.js';
import { skippedOutputs } from '../template/step-render.js';
import { renderValue, renderWhen, unknownValue } from '../template/render.js';
import { isUnknown } from '../step-api/args.js';
import { errorExitCode, errorMessage } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { observeLink, type ObservedState } from './observe.js';
import { readOnlyPool } from '../drivers/sql/read-only-pool.js';
import { armFor } from '../drivers/arm/read-only-arm.js';

export type Prediction = 'run' | 'skip' | 'refused' | 'fails' | 'not reached' | 'decided at run time';

export interface PredictedStep {
  index: number;
  id: string;
  type: string;
  impact: PlannedImpact;
  prediction: Prediction;
  /** Whether the step's probe ran against the live link. */
  probed: boolean;
  /** Why: the `when:` as rendered with observed values, the refusal, what the probe saw. */
  notes: string[];
  /** Outputs known from the probe (large lists summarised). */
  outputs?: Record<string, PlanValue>;
}

type PlannedImpact = Plan['steps'][number]['impact'];

export interface PredictedPath {
  /** `completes`, or where the run is predicted to stop. */
  outcome: 'completes' | 'refused' | 'fails' | 'unknown';
  /** One sentence for the operator. */
  summary: string;
  steps: PredictedStep[];
  /** Where the run is predicted to stop (`refused` or `fails`), and the message it would stop with. */
  stoppedAt?: { index: number; id: string; outcome: 'refused' | 'fails'; message: string };
}

export interface ProbedPlan extends Plan {
  observed: ObservedState;
  predicted: PredictedPath;
}

export interface ProbeInput extends BuildPlanInput {
  /** The run's environment (passwords by the names the inventory gives). */
  env: NodeJS.ProcessEnv;
  /** Connections to use; by default opened here (engine/drivers/run-resources.ts) and closed at the end. */
  resources?: RunResources;
  signal?: AbortSignal;
}

export async function probePlan(input: ProbeInput): Promise<ProbedPlan> {
  const plan = buildPlan(input);
  const own = input.resources === undefined;
  const resources = input.resources ?? (await import('../drivers/run-resources.js')).createRunResources(input.inventory, { env: input.env });
  const signal = input.signal ?? new AbortController().signal;
  try {
    const observed = await observeLink(resources, input.inventory, signal);
    resources.invalidateRoles();
    const predicted = await predictPath(input, resources, signal);
    return { ...plan, observed, predicted };
  } finally {
    if (own) await resources.close().catch(() => undefined);
  }
}

function containsUnknown(value: unknown): string | undefined {
  if (isUnknown(value)) return String((value as { from?: unknown }).from ?? '');
  if (Array.isArray(value)) for (const v of value) {
    const u = containsUnknown(v);
    if (u !== undefined) return u;
  }
  else if (value && typeof value === 'object') for (const v of Object.values(value)) {
    const u = containsUnknown(v);
    if (u !== undefined) return u;
  }
  return undefined;
}

/** Outputs for the plan file: big lists (rows, databases) become a count. */
function shownOutputs(outputs: Record<string, unknown>): Record<string, PlanValue> {
  const out: Record<string, PlanValue> = {};
  for (const [k, v] of Object.entries(outputs)) out[k] = Array.isArray(v) && v.length > 5 ? `[${v.length} items]` : toPlanValue(v);
  return out;
}

function probeContext(
  stepId: string,
  target: StepRunContext['target'],
  inventory: Inventory,
  inputs: Record<string, unknown>,
  resources: RunResources,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
  notes: string[],
): StepRunContext {
  const ctx: StepRunContext = {
    stepId,
    runId: 'probe',
    inventory,
    inputs,
    // Only uses whose impact resolves to read are probed.
    impact: 'read',
    log: { progress: () => undefined, info: (m) => void notes.push(m), warn: (m) => void notes.push(m) },
    signal,
    // A probe reads only: what is not a plain read is refused unsent (engine/drivers/sql/read-only-pool.ts).
    sql: async (side) => readOnlyPool(await resources.sql(side), stepId, side),
    arm: async () => armFor(await resources.arm(), stepId, true),
    resolveTarget: (t) => resources.resolveTarget(t),
    invalidateRoles: () => resources.invalidateRoles(),
    outputs: {},
    history: [],
    env,
    // A probe never asks anyone anything and never assumes a yes.
    assumeYes: false,
  };
  if (target !== undefined) ctx.target = target;
  return ctx;
}

/** The probe's prediction alone, over connections already open (apply, before its question). */
export async function predictPath(input: Pick<ProbeInput, 'runbook' | 'inventory' | 'inputs' | 'steps' | 'env'>, resources: RunResources, signal: AbortSignal): Promise<PredictedPath> {
  const { runbook, inventory, inputs, steps } = input;
  const ctx: TemplateContext = planTimeContext(inventory, inputs, undefined);
  const history: Array<{ id: string; type: string; state: 'will-run' | 'may-run' | 'skipped' }> = [];
  const out: PredictedStep[] = [];
  let changeAhead = false;
  let stop: { outcome: 'refused' | 'fails'; step: string; index: number; message: string } | undefined;

  for (const [i, spec] of runbook.steps.entries()) {
    const def = (steps.get(spec.type) as LoadedStep).definition as StepDefinition<any>;
    const notes: string[] = [];
    const step: PredictedStep = { index: i + 1, id: spec.id, type: spec.type, impact: 'read', prediction: 'run', probed: false, notes };
    out.push(step);
    const unknownOutputs = () => {
      const o: Record<string, unknown> = {};
      for (const name of Object.keys(def.outputs ?? {})) o[name] = unknownValue(`steps.${spec.id}.outputs.${name}`);
      ctx.steps[spec.id] = { outputs: o };
    };
    if (stop) {
      step.prediction = 'not reached';
      step.impact = resolveStatic(def, spec.with, ctx, history);
      unknownOutputs();
      continue;
    }

    let state: 'will-run' | 'may-run' = 'will-run';
    // What apply would do with the same values when a template cannot render: fail the step before it acts.
    const renderFailed = (error: unknown) => {
      const message = errorMessage(error).split('\n')[0]!;
      step.prediction = 'fails';
      notes.push(message);
      stop = { outcome: 'fails', step: spec.id, index: i + 1, message };
      unknownOutputs();
    };
    if (spec.when !== undefined) {
      let decided: boolean | ReturnType<typeof unknownValue>;
      try {
        decided = renderWhen(spec.when, ctx);
      } catch (error) {
        renderFailed(error);
        continue;
      }
      if (isUnknown(decided)) {
        state = 'may-run';
        step.prediction = 'decided at run time';
        notes.push(`when: ${spec.when.trim()} -> needs ${decided.from}`);
      } else if (!decided) {
        step.prediction = 'skip';
        step.impact = resolveStatic(def, spec.with, ctx, history);
        notes.push(`when: ${spec.when.trim()} -> false`);
        history.push({ id: spec.id, type: spec.type, state: 'skipped' });
        ctx.steps[spec.id] = { outputs: skippedOutputs(spec.id, def) };
        continue;
      } else notes.push(`when: ${spec.when.trim()} -> true`);
    }
    let args: Record<string, unknown>;
    try {
      args = renderValue(spec.with ?? {}, ctx) as Record<string, unknown>;
    } catch (error) {
      renderFailed(error);
      continue;
    }
    const impact = resolveImpact(def, args, history);
    step.impact = impact;
    history.push({ id: spec.id, type: spec.type, state });
    unknownOutputs();

    if (impact !== 'read') {
      changeAhead = true;
      continue;
    }
    if (state !== 'will-run') continue;
    if (!def.probe) {
      notes.push(`no probe for ${spec.type}: assumed to pass`);
      continue;
    }
    if (changeAhead) {
      notes.push('not probed: an earlier step may change the link first');
      continue;
    }
    const waitsFor = containsUnknown(args);
    if (waitsFor !== undefined) {
      notes.push(`not probed: with: needs ${waitsFor}`);
      continue;
    }
    try {
      const known = await def.probe(probeContext(spec.id, spec.target, inventory, inputs, resources, input.env, signal, notes), args);
      step.probed = true;
      if (known) {
        Object.assign(ctx.steps[spec.id]!.outputs, known);
        step.outputs = shownOutputs(known);
      }
    } catch (error) {
      step.probed = true;
      const refused = errorExitCode(error) === ExitCode.refused;
      step.prediction = refused ? 'refused' : 'fails';
      const message = errorMessage(error).split('\n')[0]!;
      notes.push(message);
      stop = { outcome: refused ? 'refused' : 'fails', step: spec.id, index: i + 1, message };
    } finally {
      // A probe may have read roles; the next one asks again rather than trust a cache.
      resources.invalidateRoles();
    }
  }

  if (stop) {
    const verb = stop.outcome === 'refused' ? 'refuse' : 'fail';
    const changes = out.some((s) => s.impact !== 'read' && (s.prediction === 'run' || s.prediction === 'decided at run time'));
    return {
      outcome: stop.outcome,
      summary: `A run now would ${verb} at step ${stop.step}${changes ? '' : ', before changing anything'}: ${stop.message}`,
      steps: out,
      stoppedAt: { index: stop.index, id: stop.step, outcome: stop.outcome, message: stop.message },
    };
  }
  const open = out.filter((s) => s.prediction === 'decided at run time').length;
  return {
    outcome: open ? 'unknown' : 'completes',
    summary: open
      ? `No probed check refuses; ${open} step(s) are decided by values only a run can know.`
      : 'No probed check refuses; every step is decided.',
    steps: out,
  };
}

/** The impact of a step the run does not get to (or skips), for the listing only. */
function resolveStatic(def: StepDefinition<any>, withSpec: Record<string, unknown> | undefined, ctx: TemplateContext, history: Array<{ id: string; type: string; state: 'will-run' | 'may-run' | 'skipped' }>): PlannedImpact {
  try {
    return resolveImpact(def, renderValue(withSpec ?? {}, ctx), history);
  } catch {
    return typeof def.impact === 'string' ? def.impact : 'change';
  }
}

export type { ObservedState } from './observe.js';
