// defineStep: a step type's whole life in one literal (schema, messages, defaults, impact, outputs,
// plan, run, verify, probe), checked by the compiler. As typescript-eslint's RuleCreator does for
// lint rules, it infers the step's message ids from `messages` and its arguments' type from the
// annotated `args` of plan()/run(), and hands every method a context that reports by those ids:
// `throw ctx.fail('sqlError', data)`, `throw ctx.refuse('splitBrain', data)`,
// `ctx.log.progress(ctx.text('deleting', data))`. A misspelled id does not compile.
import type { Impact, JsonSchema } from '../core/types.js';
import { stepMessages, type Messages, type StepMessages } from './messages.js';
import type {
  ImpactContext,
  OutputSpec,
  StepDefinition,
  StepPlanContext,
  StepPlanResult,
  StepRunContext,
  VerifyAnswer,
} from './types.js';

/** What every method of a defined step receives on top of the engine's context. */
export interface StepHelpers<Id extends string, Defaults> extends StepMessages<Id> {
  /** The step's declared `defaults`, for `with:` properties the runbook leaves out. */
  defaults: Defaults;
}

/** The context plan() receives: the engine's plan context plus the step's messages and defaults. */
export type PlanContext<Id extends string = string, Defaults = Record<string, unknown>> = StepPlanContext & StepHelpers<Id, Defaults>;
/** The context run(), verify() and probe() receive: the engine's run context plus messages and defaults. */
export type RunContext<Id extends string = string, Defaults = Record<string, unknown>> = StepRunContext & StepHelpers<Id, Defaults>;

/** The literal a step type is written as; see StepDefinition for what each part means to the engine. */
export interface StepDeclaration<Args, M extends Messages, Defaults> {
  /** lowerCamel name used as `type:` in runbooks. */
  type: string;
  description: string;
  /** JSON Schema of `with:`: type object, additionalProperties false, every property described. */
  with: JsonSchema;
  /** id -> template with {{placeholders}}; the only texts the step reports. Capital first letter, full stop at the end. */
  messages?: M;
  /** Values for `with:` properties the runbook leaves out (ctx.defaults); never `default:` in the schema. */
  defaults?: Defaults;
  /** read, change or dataLoss; or a function of the arguments and the steps before (ctx.impact says how it resolved). */
  impact: Impact | ((args: Args, ctx: ImpactContext) => Impact);
  target: 'required' | 'optional' | 'none';
  resultHolds?: 'moment' | 'run';
  outputs: Record<string, OutputSpec>;
  /** For a gate: the question it asks the operator, from known arguments (StepDefinition.question). */
  question?(args: Args): string;
  /** Read-only and pure: no I/O. Arguments may hold Unknown values ("known after apply"). */
  plan(ctx: PlanContext<keyof M & string, Defaults>, args: Args): StepPlanResult;
  run(ctx: RunContext<keyof M & string, Defaults>, args: Args): Promise<Record<string, unknown>>;
  verify?(ctx: RunContext<keyof M & string, Defaults>, args: Args): Promise<VerifyAnswer>;
  probe?(ctx: RunContext<keyof M & string, Defaults>, args: Args): Promise<Record<string, unknown> | undefined>;
}

const defined = new WeakSet<object>();

/** Whether a definition was made by defineStep (every built-in step type is). */
export function isDefinedStep(definition: unknown): boolean {
  return typeof definition === 'object' && definition !== null && defined.has(definition);
}

/**
 * Defines a step type. Annotate `args` in plan() and run() with the step's argument type; the
 * message ids come from `messages`. Inside the methods `this` is the literal, so a probe that reads
 * exactly as run() does is `probe(ctx, args) { return this.run(ctx, args); }`. The result is
 * frozen: nothing is added to a step type after its literal.
 */
export function defineStep<Args, const M extends Messages = Record<never, string>, const Defaults = Record<never, never>>(
  declaration: StepDeclaration<Args, M, Defaults> & ThisType<StepDeclaration<Args, M, Defaults>>,
): Readonly<StepDefinition<Args>> {
  const messages = (declaration.messages ?? {}) as M;
  const defaults = (declaration.defaults ?? {}) as Defaults;
  const helpers: StepHelpers<keyof M & string, Defaults> = { ...stepMessages(messages), defaults };
  const own = <C extends object>(ctx: C): C & StepHelpers<keyof M & string, Defaults> => ({ ...ctx, ...helpers });
  const { verify, probe, question } = declaration;
  const definition: StepDefinition<Args> = {
    type: declaration.type,
    description: declaration.description,
    with: declaration.with,
    messages,
    defaults: defaults as Record<string, unknown>,
    impact: declaration.impact,
    target: declaration.target,
    outputs: declaration.outputs,
    plan: (ctx, args) => declaration.plan.call(declaration, own(ctx), args),
    run: (ctx, args) => declaration.run.call(declaration, own(ctx), args),
  };
  if (declaration.resultHolds !== undefined) definition.resultHolds = declaration.resultHolds;
  if (verify) definition.verify = (ctx, args) => verify.call(declaration, own(ctx), args);
  if (question) definition.question = (args) => question.call(declaration, args);
  if (probe) definition.probe = (ctx, args) => probe.call(declaration, own(ctx), args);
  Object.freeze(definition);
  defined.add(definition);
  return definition;
}
