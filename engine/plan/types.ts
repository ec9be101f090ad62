// The Plan: plain JSON data, built by engine/plan/build.ts, rendered by engine/plan-render-*.ts,
// written by `runbook plan --out`, and consumed by `runbook apply`. No classes, no functions,
// no secrets: a plan survives JSON.stringify/JSON.parse unchanged.
import type { Impact, ReplicaTarget } from '../core/types.js';
import type { StepPlanResult, Unknown } from '../step-api/types.js';

/** Bumped when the shape changes incompatibly; apply refuses plans of another version. */
export const PLAN_FORMAT_VERSION = 1;

/** A rendered value: JSON data in which run-time values stay `{ unknown: true, from }`. */
export type PlanValue =
  | string
  | number
  | boolean
  | null
  | Unknown
  | PlanValue[]
  | { [key: string]: PlanValue };

/** `run` and `skip` are decided at plan time; the third waits for earlier steps' outputs. */
export type StepDecision = 'run' | 'skip' | 'decided at run time';

export interface PlannedWhen {
  /** The `when:` template as written. */
  expression: string;
  /** What it rendered to at plan time, when known. */
  rendered?: string;
  /** For run-time decisions: the values it waits for, e.g. `steps.before.outputs.primary`. */
  dependsOn?: string;
}

export interface PlannedStep {
  /** 1-based position in the runbook. */
  index: number;
  id: string;
  type: string;
  description?: string;
  /** True when the step type comes from the runbook's `plugins:` rather than steps/. */
  plugin: boolean;
  target?: ReplicaTarget;
  /** Resolved with the history of earlier steps (`will-run` / `may-run`). */
  impact: Impact;
  /**
   * The impacts this use may have at run time besides `impact`, when its step type decides it from
   * values only a run knows (an argument known after apply, an earlier step decided at run time).
   * Holding `dataLoss`: the plan counts it as "data loss decided at run time", and apply refuses
   * the step then unless given --allow-data-loss.
   */
  runTimeImpacts?: Impact[];
  /** `with:` rendered where known; SQL in full. */
  with: { [key: string]: PlanValue };
  decision: StepDecision;
  when?: PlannedWhen;
  /** The step type's own read-only plan(): summary, SQL per replica, guards. */
  plan: StepPlanResult;
  timeout?: { text: string; ms: number };
  retry?: { count: number; delay?: string; delayMs: number };
}

export interface Plan {
  format: 'runbook-plan';
  version: typeof PLAN_FORMAT_VERSION;
  /** Set when the plan is built by apply (the run it belongs to); absent for `runbook plan`. */
  runId?: string;
  runbook: {
    name: string;
    description: string;
    /** The path as given on the command line; apply re-reads it and compares the hash. */
    file: string;
    /** sha256 (hex) of the runbook file's text. */
    sha256: string;
  };
  inventory: {
    /** The link (DAG) name: what `--allow-data-loss` must repeat. */
    link: string;
    database: string;
    /** Where the inventory came from, so `apply plan.json` can load it again. */
    file?: string;
    /**
     * With `file`: sha256 of the inventory's data as loaded (engine/plan/build.ts inventoryDigest).
     * `apply plan.json` refuses an inventory whose content is not this one, at this path or another.
     */
    sha256?: string;
    /** Set when the plan was made for the embedded lab (`--lab [scenario]`). */
    lab?: { scenario?: string };
  };
  /** Resolved inputs; those declared `secret` are replaced by `(secret)`. */
  inputs: { [key: string]: PlanValue };
  steps: PlannedStep[];
  /**
   * `sha256:<hex>` over the rest of the file as written (engine/plan/file.ts); set by the JSON
   * renderer, checked by `apply plan.json` after it has rebuilt the plan and compared.
   */
  digest?: string;
}
