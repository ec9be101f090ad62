// What an apply run is given and what it gives back, and what it needs from outside: a way to
// ask the operator (`Confirm`, which engine/ui/prompt.ts implements for a terminal) and a Reporter
// (engine/apply/events.ts).
import type { Inventory, Runbook, RunResources } from '../core/types.js';
import type { Plan } from '../plan/types.js';
import type { LoadedStep } from '../step-api/types.js';
import type { LockHolder } from '../drivers/sql/lock.js';
import type { LockSessions } from '../drivers/sql/lock-sessions.js';
import type { ServerSessions } from '../drivers/sql/server-sessions.js';
import type { ArmShared } from '../drivers/arm/shared-pipeline.js';
import type { Reporter, RunSummary } from './events.js';
import type { Interrupts } from './interrupt.js';
import type { RecordedLinkState, StepState } from './journal/runs.js';
import type { OutcomeOptions } from './outcome.js';
import type { ConfirmRun } from './confirmation.js';

/** Asks the operator a yes/no question; true only for an explicit yes. */
export type Confirm = (question: string) => Promise<boolean>;

/** `apply --resume`: what the run's journal says so far. */
export interface ResumeFrom {
  /** Each step's state as the journal left it. */
  states: ReadonlyMap<string, StepState>;
  /** The first run's start, so `run.started` (e.g. "backups since the run began") keeps meaning the same. */
  startedAt?: string;
  /** The journal as read, so that appending starts where the read ended (a torn last line is cut off). */
  journal?: { size: number; keep: number; needsNewline: boolean; tornLastLine?: number };
  /** The last state of the link the journal recorded (engine/apply/resume.ts compares the link with it). */
  linkState?: RecordedLinkState;
}

export interface ApplyOptions {
  plan: Plan;
  runbook: Runbook;
  inventory: Inventory;
  steps: ReadonlyMap<string, LoadedStep>;
  /** Real input values (the plan holds redacted ones). */
  inputs: Record<string, unknown>;
  runId: string;
  yes: boolean;
  allowDataLoss?: string;
  /** The run's environment (lab passwords live here, never in process.env). */
  env: NodeJS.ProcessEnv;
  /** The run's connections; opened by applyPlan when not given. */
  resources?: RunResources;
  reporter: Reporter;
  /** Undefined when there is no terminal to ask: apply then refuses before a change step. */
  confirm?: Confirm;
  /**
   * The one question before the steps run (engine/apply/confirmation.ts); undefined when there is
   * no terminal to ask: without --yes, apply then refuses before its first step.
   */
  confirmRun?: ConfirmRun;
  /** The one question was answered before the run, elsewhere (a wave's one confirmation): journalled with that time and `via`, not now. */
  answeredBefore?: { at: string; via: string };
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
  journalDir: string;
  interruptGraceMs?: number;
  /** How long apply's read-only probes before its question may take (engine/apply/foresee.ts); 5 s when not given. */
  foreseeDeadlineMs?: number;
  argv?: string[];
  /** Ctrl-C handling with non-safe sections (the CLI passes one; `signal` should be its signal). */
  interrupts?: Interrupts;
  /** Take the link lock on the replicas for the whole run (the CLI always does); a wave shares its sessions. */
  lock?: { holder: LockHolder; sessions?: LockSessions };
  /** A wave's step sessions per server, borrowed instead of the run's own (engine/drivers/sql/server-sessions.ts). */
  stepSessions?: ServerSessions;
  /** Flush the journal on the thread pool (a wave's runs share one thread): engine/apply/journal/write.ts. */
  flushOffThread?: boolean;
  /** A wave's ARM HTTP client and credentials (engine/drivers/arm/shared-pipeline.ts). */
  armShared?: ArmShared;
  /** Recorded in the journal so that a resume can check nothing changed. */
  identity?: { inventory: { file?: string; lab?: boolean; sha256: string }; runbookPath?: string };
  /** Continue run `runId` from its journal. */
  resume?: ResumeFrom;
  /** How long to keep verifying an unknown outcome. */
  outcome?: OutcomeOptions;
}

export interface ApplyResult {
  exitCode: number;
  summary: RunSummary;
}
