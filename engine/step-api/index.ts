// The step API: the one entry point built-in step types (steps/) and plugins import. Everything a
// step needs from the engine is here: defineStep and its contexts, messages, typed errors, reading
// `with:` values, durations and LSNs, and the inventory's types. Drivers (mssql pools, the ARM
// client) are in engine/drivers/ and are reached through the run context (ctx.sql(), ctx.arm()).
// README, "Writing a step type".

export { defineStep, isDefinedStep } from './define-step.js';
export type { PlanContext, RunContext, StepDeclaration, StepHelpers } from './define-step.js';
export { defineMessages, formatMessage, placeholders, stepMessages } from './messages.js';
export type { MessageData, Messages, StepMessages } from './messages.js';
export { durationMs, durationText, isUnknown, KNOWN_AFTER_APPLY, shown, sleep } from './args.js';
export { resolveImpact } from './impact.js';
export { pollUntil } from './poll.js';
export type { PollOptions } from './poll.js';
export { checkStepDefinition } from './contract.js';
export type {
  ImpactContext,
  LoadedStep,
  Logger,
  OutputSpec,
  ProgressData,
  StepDefinition,
  StepHistoryEntry,
  StepModuleMap,
  StepPlanContext,
  StepPlanResult,
  StepResources,
  StepRunContext,
  Unknown,
  VerifyAnswer,
} from './types.js';

// From engine/core, what steps legitimately share with the engine.
export { GuardRefusal, OutcomeUnknown, StepFailure, StepRefusal } from '../core/errors.js';
export type { StepFailureOptions } from '../core/errors.js';
export { DurationError, formatDuration, formatElapsed, formatSeconds, MAX_DURATION_MS, parseDuration } from '../core/duration.js';
export { compareLsn, formatLsn, lsnDiff, lsnEqual, LsnStability, parseLsn } from '../core/lsn.js';
export { sentence } from '../core/sentence.js';
export type { Lsn, LsnSample } from '../core/lsn.js';
export type {
  ArmSpec,
  ChangeGuard,
  ConnectionSpec,
  Impact,
  Inventory,
  JsonSchema,
  LinkSpec,
  ManagedInstanceSide,
  ReplicaSide,
  ReplicaTarget,
  SqlServerSide,
} from '../core/types.js';
