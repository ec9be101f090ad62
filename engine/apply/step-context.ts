// What a step sees while it runs or is verified: its run's identity and inputs, the run's
// connections, the outputs and history of the steps before it, and a log whose warnings the run
// repeats in its summary. Also the outputs a step has when it was verified done rather than run.
import type { Impact, RunResources, StepSpec } from '../core/types.js';
import type { ProgressData, StepDefinition, StepHistoryEntry, StepRunContext } from '../step-api/types.js';
import { unknownValue } from '../template/render.js';
import type { ApplyOptions, Confirm } from './types.js';

/** A step's context, but for `signal`, which the step runner makes per attempt. */
export type StepContext = Omit<StepRunContext, 'signal'>;

/** What a step sent, as the journal keeps it: T-SQL (with its parameters) to a replica, or an ARM request. */
export interface SentStatement {
  step: string;
  /** The replica side (`sqlServer`, `managedInstance`) or `arm`. */
  target: string;
  /** The T-SQL batch as sent, or `METHOD url` for ARM. */
  text: string;
  params?: Record<string, unknown>;
}

/** Where a step context comes from: the run's options and connections, and where its warnings go. */
export interface StepContextSource {
  opts: ApplyOptions;
  resources: RunResources;
  /** A line for the summary's "Attention" list. */
  notice(line: string): void;
  /** Called right before a step sends a statement (the run journals each distinct one once). */
  sent?(statement: SentStatement): void;
  /** When the operator confirmed this step's exact question before the run began (engine/apply/gates.ts). */
  answeredBefore?(step: string, question: string): string | undefined;
  /** What a step asks the operator through (engine/apply/gates.ts); undefined: no one to ask. */
  confirm: Confirm | undefined;
}

type Pool = Awaited<ReturnType<RunResources['sql']>>;
type ArmClient = Awaited<ReturnType<RunResources['arm']>>;

/**
 * `target` seen through a proxy: `wrap(key, method)` may replace a method; every other method is
 * bound to the object itself, and one that returns the object (a chained call) returns the proxy.
 */
function intercept<T extends object>(target: T, wrap: (key: string | symbol, method: (...args: unknown[]) => unknown) => ((...args: unknown[]) => unknown) | undefined): T {
  const proxy: T = new Proxy(target, {
    get(t, key) {
      const v = Reflect.get(t, key, t) as unknown;
      if (typeof v !== 'function') return v;
      const method = (...args: unknown[]) => {
        const r = (v as (...a: unknown[]) => unknown).apply(t, args);
        return r === t ? proxy : r;
      };
      return wrap(key, method) ?? method;
    },
  });
  return proxy;
}

/** A pool whose requests tell `record` each batch right before it is sent (runSql sends through pool.request()). */
function recordingPool(pool: Pool, record: (text: string, params: Record<string, unknown> | undefined) => void): Pool {
  return intercept(pool, (key, method) => {
    if (key !== 'request') return undefined;
    return (...args) => {
      const request = method(...args) as object & { parameters?: Record<string, { value?: unknown }> };
      return intercept(request, (k, send) => {
        if (k !== 'query' && k !== 'batch') return undefined;
        return (...a) => {
          const entries = Object.entries(request.parameters ?? {});
          record(String(a[0]), entries.length ? Object.fromEntries(entries.map(([n, p]) => [n, p?.value ?? null])) : undefined);
          return send(...a);
        };
      });
    };
  });
}

/** The ARM client's requests, told to `record` by a pipeline policy added once per client; the step is the last one that asked for the client. */
const armRecorders = new WeakMap<object, { step: string; record: (step: string, text: string) => void }>();

function recordingArm(client: ArmClient, step: string, record: (step: string, text: string) => void): ArmClient {
  const known = armRecorders.get(client);
  if (known) {
    known.step = step;
    known.record = record;
    return client;
  }
  const state = { step, record };
  armRecorders.set(client, state);
  client.pipeline.addPolicy({
    name: 'runbook-journal-statements',
    sendRequest: (request, next) => {
      state.record(state.step, `${request.method} ${request.url}`);
      return next(request);
    },
  });
  return client;
}

/** A step that was verified done rather than run has no outputs: later references say so clearly. */
export function verifiedOutputs(stepId: string, def: StepDefinition<any>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(def.outputs ?? {})) out[name] = unknownValue(`steps.${stepId}.outputs.${name} (step ${stepId} was verified as done, not run)`);
  return out;
}

export function stepContext(
  source: StepContextSource,
  spec: StepSpec,
  /** This use's impact as apply resolved it (the journal's, on resume). */
  impact: Impact,
  history: readonly StepHistoryEntry[],
  outputs: Record<string, Record<string, unknown>>,
  /** What this step returned before a resume, when it runs again. */
  before?: Record<string, unknown>,
): StepContext {
  const { opts, resources } = source;
  const log = {
    progress: (message: string, data?: ProgressData) =>
      void opts.reporter.emit({ event: 'step-output', step: spec.id, level: 'progress', message, ...(data ? { data } : {}) }),
    info: (message: string) => void opts.reporter.emit({ event: 'step-output', step: spec.id, level: 'info', message }),
    warn: (message: string) => {
      // Warnings are what the operator must act on (e.g. where applications must now connect): the summary repeats them.
      source.notice(`${spec.id}: ${message}`);
      void opts.reporter.emit({ event: 'step-output', step: spec.id, level: 'warn', message });
    },
  };
  const context: StepContext = {
    stepId: spec.id,
    runId: opts.runId,
    inventory: opts.inventory,
    inputs: opts.inputs,
    impact,
    log,
    sql: async (side) => {
      const pool = await resources.sql(side);
      const sent = source.sent;
      return sent ? recordingPool(pool, (text, params) => sent({ step: spec.id, target: side, text, ...(params ? { params } : {}) })) : pool;
    },
    arm: async () => {
      const client = await resources.arm();
      const sent = source.sent;
      return sent ? recordingArm(client, spec.id, (step, text) => sent({ step, target: 'arm', text })) : client;
    },
    resolveTarget: async (target) => resources.resolveTarget(target),
    outputs,
    history: history.map((h) => ({ ...h })),
    env: opts.env,
    invalidateRoles: () => resources.invalidateRoles(),
    assumeYes: opts.yes,
    ...(source.confirm ? { confirm: source.confirm } : {}),
    answeredBefore: (question) => source.answeredBefore?.(spec.id, question),
  };
  if (spec.target !== undefined) context.target = spec.target;
  if (before !== undefined) context.before = before;
  return context;
}
