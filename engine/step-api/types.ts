// The contract between the engine and every step type, built-in or plugin: what a step declares,
// the contexts its plan() and run() receive, and what they return. Types only: importing this
// file loads nothing at run time, which keeps `validate` and `plan` free of drivers.
import type { ChangeGuard, Impact, Inventory, JsonSchema, ReplicaSide, ReplicaTarget, RunResources } from '../core/types.js';

/** A value only known once earlier steps have run. Rendered as `(known after apply)`. */
export interface Unknown {
  unknown: true;
  /** What it depends on, e.g. `steps.before.outputs.secondary`. */
  from: string;
}

/** What the engine tells a step about the steps before it, to decide impact (e.g. armDeleteLink). */
export interface StepHistoryEntry {
  id: string;
  type: string;
  /** At plan time `will-run`/`may-run`; during apply `succeeded`/`failed`/`skipped`. */
  state: 'will-run' | 'may-run' | 'succeeded' | 'failed' | 'skipped';
}

export interface ImpactContext {
  history: StepHistoryEntry[];
}

export interface StepPlanContext {
  stepId: string;
  target?: ReplicaTarget;
  inventory: Inventory;
  /** This use's impact, as the engine resolved it (a function-valued impact decided for these arguments and steps). */
  impact: Impact;
  /** The steps before this one as the plan sees them (will-run/may-run/skipped), when the engine passes it. */
  history?: StepHistoryEntry[];
}

/** What a step's plan() returns: shown to the operator, stored in the plan file. */
export interface StepPlanResult {
  /** One line, e.g. `FAILOVER link [dag1] on the primary`. */
  summary: string;
  /**
   * Full SQL per replica when the step sends SQL (`--format sql` uses it), with the parameters the
   * text reads as `@name` (sent through sp_executesql): the T-SQL script declares them, so each
   * batch runs in sqlcmd or SSMS as printed. A value may be Unknown (known after apply).
   */
  sql?: Array<{ target: ReplicaTarget; text: string; params?: Record<string, unknown> }>;
  /**
   * Guards that apply, said positively: what must hold for the step to go on, e.g. `LSNs equal
   * and unchanged for 30s`, `Needs SQL Server 2022 CU13 (16.0.4125) or later`.
   */
  guards?: string[];
  /**
   * Set when these arguments, all known at plan time, already decide that the step refuses when
   * it runs (an `assert` whose condition renders to false): the message it would refuse with.
   * The plan says so in its closing line ("will refuse at step N"), and `plan --detailed-exitcode`
   * exits 3.
   */
  refusal?: string;
}

/** Structured values beside a progress line: JSON-safe (LSNs and sizes as decimal text). */
export type ProgressData = Record<string, string | number | boolean | null>;

export interface Logger {
  /**
   * A line of progress under the running step (listr2 output or a JSON event). `data`, when
   * given, travels with it as plain JSON values (the JSON event's `data`; text output shows only
   * the message), for displays that draw what the step measures.
   */
  progress(message: string, data?: ProgressData): void;
  info(message: string): void;
  warn(message: string): void;
}

/** The run's connections as a step sees them (engine/drivers/run-resources.ts implements all of RunResources). */
export type StepResources = Pick<RunResources, 'sql' | 'arm' | 'resolveTarget'>;

/**
 * A change step's account of whether it sent anything yet (engine/apply/step-runner.ts). A step
 * that never calls it counts as sending from its start, as before.
 */
export interface SendGate {
  /** Aborted by the step's timeout and by an interrupt: for waits before anything is sent. */
  readonly signal: AbortSignal;
  /** Nothing has been sent, and nothing will be until `sending()`. */
  notSent(): void;
  /** About to send the first statement: throws (nothing sent) if the step was interrupted or timed out meanwhile. */
  sending(): void;
}

export interface StepRunContext extends StepResources {
  stepId: string;
  runId: string;
  target?: ReplicaTarget;
  inventory: Inventory;
  inputs: Record<string, unknown>;
  /**
   * This use's impact, as the engine resolved it before running the step (and as the journal
   * records it): a step whose impact is a function can tell whether this use counts as dataLoss.
   */
  impact: Impact;
  log: Logger;
  /** Aborted on Ctrl-C/SIGTERM or the step's timeout. Steps poll it at safe points. */
  signal: AbortSignal;
  /**
   * For a change or data-loss step (whose `signal` an interrupt does not abort): how it says that
   * it has sent nothing yet, so that a wait before its first statement (a wave's shared session)
   * ends on an interrupt too, and ends as "not sent" rather than "may have taken effect".
   */
  sendGate?: SendGate;
  /** Outputs of earlier steps in this run. */
  outputs: Record<string, Record<string, unknown>>;
  history: StepHistoryEntry[];
  /** Test and drill knobs (poll intervals etc. are step inputs; this is for engine-wide scale). */
  env: NodeJS.ProcessEnv;
  /** Forget the cached roles behind `primary`/`secondary` (after a step that may change them). */
  invalidateRoles?(): void;
  /**
   * The lock check each T-SQL change batch sent to `side` must carry; undefined when the run takes
   * no lock (engine/drivers/sql/lock-guard.ts).
   */
  changeGuard?(side: ReplicaSide): ChangeGuard | undefined;
  /** `--yes` was given: gates such as `confirm` pass without asking. */
  assumeYes?: boolean;
  /** Asks the operator a yes/no question; absent when no one can be asked (no TTY). */
  confirm?(question: string): Promise<boolean>;
  /**
   * When the operator already confirmed exactly `question` in the one question apply asks before
   * the run begins (engine/apply/confirmation.ts), the time they did (ISO 8601); otherwise undefined.
   */
  answeredBefore?(question: string): string | undefined;
  /**
   * On a resume, when this step finished before the run stopped and runs again (a read whose
   * result held only at that moment): the outputs it returned then, as the journal kept them.
   */
  before?: Record<string, unknown>;
}

export interface OutputSpec {
  description: string;
}

/** A step's answer to "has your effect already happened?" (StepDefinition.verify). */
export type VerifyAnswer = 'done' | 'not-done' | 'unknown' | 'unknowable';

export interface StepDefinition<Args = Record<string, unknown>> {
  type: string;
  description: string;
  /** JSON Schema of `with:`; every property has a `description`; `additionalProperties: false`. */
  with: JsonSchema;
  /** The step's messages, id -> template with {{placeholders}}; what it reports is one of these. */
  messages?: Record<string, string>;
  /** Values the step uses for `with:` properties the runbook leaves out (never in the schema). */
  defaults?: Record<string, unknown>;
  impact: Impact | ((args: Args, ctx: ImpactContext) => Impact);
  /** Whether `target:` is required, optional or meaningless for this type. */
  target: 'required' | 'optional' | 'none';
  /**
   * For uses whose impact is `read`: how long a result recorded in the journal stays true, which
   * `apply --resume` needs to know. `moment` (the default): it describes the link at the moment the
   * step ran (roles, LSNs, backups, the link as ARM sees it), so a resume runs the step again when
   * it comes after the last change the journal shows done. `run`: it holds for the whole run (an
   * operator's confirmation, a message), so a resume keeps it. README, "apply --resume".
   */
  resultHolds?: 'moment' | 'run';
  outputs: Record<string, OutputSpec>;
  /**
   * Optional, for gates that ask the operator (confirm): the question this use asks, from its
   * arguments. When every argument is known at plan time and the step will run, apply asks it
   * together with the run's other confirmations before anything runs, and the step then finds it
   * answered (`ctx.answeredBefore`); a question that needs run-time values is asked when the step runs.
   */
  question?(args: Args): string;
  /** Read-only and pure: no I/O. Arguments may contain Unknown values. */
  plan(ctx: StepPlanContext, args: Args): StepPlanResult;
  run(ctx: StepRunContext, args: Args): Promise<Record<string, unknown>>;
  /**
   * Optional, for change and dataLoss steps: has this step's effect already happened? Read-only.
   * Called on resume for a step the journal shows started but not finished, and after an attempt
   * whose outcome is unknown (a dropped connection, a timeout). `done`: the engine records the
   * step as succeeded by verification and does not run it; `not-done`: it may run it again;
   * `unknown` (or throwing): the engine stops and tells the operator what to check, never
   * repeating the step blindly, after asking again until its outcome deadline; `unknowable`: these
   * arguments give the step no way to check (a sqlExec without `verify:`), so asking again cannot
   * help and the outcome is unknown at once. See engine/apply/outcome.ts.
   */
  verify?(ctx: StepRunContext, args: Args): Promise<VerifyAnswer>;
  /**
   * Optional, for `plan --probe`: look at the live replicas without changing anything and return
   * the outputs that can be known now (a subset of `outputs`), or undefined when nothing can.
   * Called only for uses whose impact resolves to `read`, with every argument known, and never
   * after a step that may change the link. Throw as run() would to predict a refusal or failure.
   */
  probe?(ctx: StepRunContext, args: Args): Promise<Record<string, unknown> | undefined>;
}

/** The registry's shape: step type -> lazy module whose default export is the definition. */
export type StepModuleMap = Record<string, () => Promise<{ default: StepDefinition<any> }>>;

/** A step type as a run uses it: its definition, and whether a runbook's `plugins:` brought it. */
export interface LoadedStep {
  definition: StepDefinition<any>;
  /** True for step types from the runbook's `plugins:`. */
  plugin: boolean;
}
