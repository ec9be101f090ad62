// Runs the SQL step types the way apply does: a StepRunContext over the real run resources
// (engine/drivers/run-resources.ts, real mssql pools) for an inventory, usually a started lab's, with the
// log lines collected so tests can assert progress. The contract, schema, messages and plan() of
// each step type are checked by the table-driven tester (test/helpers/step-tester.ts).
import * as assert from 'uvu/assert';
import { createRunResources, type LinkRunResources } from '../../engine/drivers/run-resources.js';
import { resolveImpact } from '../../engine/step-api/impact.js';
import type { Impact, Inventory, ReplicaTarget } from '../../engine/core/types.js';
import type { StepDefinition, StepHistoryEntry, StepRunContext } from '../../engine/step-api/types.js';
import type { Lab, StartLabOptions } from '../../lab/index.js';
import { withStartedLab } from './lab.js';

export interface CollectedLog {
  progress: string[];
  /** The data given with each progress line (undefined where none), index for index. */
  progressData: Array<Record<string, unknown> | undefined>;
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
  /** Runs a definition like the executor: impact resolved, context, run, outputs and history recorded. */
  run<A>(definition: StepDefinition<A>, args: A, options?: ContextOptions): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export interface ContextOptions {
  stepId?: string;
  target?: ReplicaTarget;
  /** ctx.impact; run() resolves it from the definition when not given, context() says `read`. */
  impact?: Impact;
  signal?: AbortSignal;
  assumeYes?: boolean;
  confirm?: (question: string) => Promise<boolean>;
  answeredBefore?: (question: string) => string | undefined;
  /** ctx.before: what the step returned before a resume. */
  before?: Record<string, unknown>;
}

export function stepHarness(inventory: Inventory, env: NodeJS.ProcessEnv): StepHarness {
  const logs: CollectedLog = { progress: [], progressData: [], info: [], warn: [] };
  const log = {
    progress: (m: string, data?: Record<string, unknown>) => {
      logs.progress.push(m);
      logs.progressData.push(data);
    },
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
      impact: options.impact ?? 'read',
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
    if (options.answeredBefore) ctx.answeredBefore = options.answeredBefore;
    if (options.before) ctx.before = options.before;
    return ctx;
  };

  return {
    resources,
    logs,
    outputs,
    history,
    context,
    async run(definition, args, options = {}) {
      const ctx = context({ impact: resolveImpact(definition, args, history), ...options });
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
