// Runs the SQL step types the way apply does: a StepRunContext over the real run resources
// (engine/drivers/run-resources.ts, real mssql pools) for an inventory, usually a started lab's, with the
// log lines collected so tests can assert progress. Also checks a step definition's contract.
import * as assert from 'uvu/assert';
import { createRunResources, type LinkRunResources } from '../../engine/drivers/run-resources.js';
import { placeholders } from '../../engine/step-api/messages.js';
import type { Inventory, JsonSchema, ReplicaTarget } from '../../engine/core/types.js';
import type { StepDefinition, StepHistoryEntry, StepPlanContext, StepRunContext } from '../../engine/step-api/types.js';
import type { Lab, StartLabOptions } from '../../lab/index.js';
import { withStartedLab } from './lab.js';

export interface CollectedLog {
  progress: string[];
  info: string[];
  warn: string[];
}

export interface StepHarness {
  resources: LinkRunResources;
  logs: CollectedLog;
  /** Outputs of steps run through this harness, by step id. */
  outputs: Record<string, Record<string, unknown>>;
  history: StepHistoryEntry[];
  context(options?: ContextOptions): StepRunContext;
  /** Runs a definition like the executor: context, run, outputs and history recorded. */
  run<A>(definition: StepDefinition<A>, args: A, options?: ContextOptions): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export interface ContextOptions {
  stepId?: string;
  target?: ReplicaTarget;
  signal?: AbortSignal;
  assumeYes?: boolean;
  confirm?: (question: string) => Promise<boolean>;
}

export function stepHarness(inventory: Inventory, env: NodeJS.ProcessEnv): StepHarness {
  const logs: CollectedLog = { progress: [], info: [], warn: [] };
  const log = {
    progress: (m: string) => void logs.progress.push(m),
    info: (m: string) => void logs.info.push(m),
    warn: (m: string) => void logs.warn.push(m),
  };
  const resources = createRunResources(inventory, { env, log });
  const outputs: Record<string, Record<string, unknown>> = {};
  const history: StepHistoryEntry[] = [];
  let counter = 0;

  const context = (options: ContextOptions = {}): StepRunContext => {
    const ctx: StepRunContext = {
      stepId: options.stepId ?? `step-${++counter}`,
      runId: 'test-run',
      inventory,
      inputs: {},
      log,
      signal: options.signal ?? new AbortController().signal,
      sql: (side) => resources.sql(side),
      arm: () => resources.arm(),
      resolveTarget: (target) => resources.resolveTarget(target),
      invalidateRoles: () => resources.invalidateRoles(),
      outputs,
      history: history.map((h) => ({ ...h })),
      env,
    };
    if (options.target) ctx.target = options.target;
    if (options.assumeYes !== undefined) ctx.assumeYes = options.assumeYes;
    if (options.confirm) ctx.confirm = options.confirm;
    return ctx;
  };

  return {
    resources,
    logs,
    outputs,
    history,
    context,
    async run(definition, args, options = {}) {
      const ctx = context(options);
      try {
        const out = await definition.run(ctx, args);
        outputs[ctx.stepId] = out;
        history.push({ id: ctx.stepId, type: definition.type, state: 'succeeded' });
        return out;
      } catch (error) {
        history.push({ id: ctx.stepId, type: definition.type, state: 'failed' });
        throw error;
      }
    },
    close: () => resources.close(),
  };
}

/** Starts a lab, runs `body` with a harness over its inventory, always closes both. */
export function withLabHarness(options: StartLabOptions, body: (lab: Lab, h: StepHarness) => Promise<void>): Promise<void> {
  return withStartedLab(options, async (lab) => {
    const h = stepHarness(lab.inventory, lab.env);
    try {
      await body(lab, h);
    } finally {
      await h.close();
    }
  });
}

/** A plan context for plan() tests. */
export function planContext(inventory: Inventory, target?: ReplicaTarget): StepPlanContext {
  return target ? { stepId: 'planned', target, inventory } : { stepId: 'planned', inventory };
}

/** Runs `fn` and returns what it threw (failing the test if it did not throw). */
export async function rejection(fn: () => Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await fn();
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  assert.unreachable('expected the step to fail');
  throw new Error('unreachable');
}

function walkProperties(schema: JsonSchema, path: string, visit: (path: string, s: JsonSchema) => void): void {
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  if (!props) return;
  for (const [name, sub] of Object.entries(props)) {
    visit(`${path}.${name}`, sub);
    walkProperties(sub, `${path}.${name}`, visit);
  }
}

/**
 * The contract every step type keeps: described schema with no unknown keys, described outputs,
 * message templates that are sentences, and a plan() that needs no I/O.
 */
export function checkStepContract(definition: StepDefinition<any>, messages: Record<string, string>): void {
  assert.ok(definition.description.length > 20, `${definition.type}: description`);
  assert.is(definition.withSchema.type, 'object');
  assert.is(definition.withSchema.additionalProperties, false, `${definition.type}: additionalProperties: false`);
  const visit = (path: string, s: JsonSchema) => {
    assert.type(s.description, 'string', `${definition.type}${path} has no description`);
    assert.not.ok('default' in s, `${definition.type}${path}: defaults live in the step, not the schema`);
    if (s.type === 'object' && s.properties) {
      assert.is(s.additionalProperties, false, `${definition.type}${path}: additionalProperties: false`);
    }
  };
  walkProperties(definition.withSchema, 'with', visit);
  for (const [name, spec] of Object.entries(definition.outputs)) {
    assert.ok(spec.description.length > 5, `${definition.type} output ${name} has no description`);
  }
  for (const [id, template] of Object.entries(messages)) {
    assert.match(template, /^[A-Z]/, `${definition.type} message ${id} starts with a capital letter`);
    assert.match(template, /\.$/, `${definition.type} message ${id} ends with a full stop`);
    for (const name of placeholders(template)) assert.match(name, /^\w+$/);
  }
}
