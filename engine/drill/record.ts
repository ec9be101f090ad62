// What one drill run leaves behind, as plain data: the lab's own records (statement log, ARM log,
// ledger, roles before and after) and each `runbook apply` process's exit code and output. The
// judge reads only this; the engine's summary is a claim to check, never the truth.

export type Side = 'sqlServer' | 'managedInstance';
export type Roles = Record<Side, string>;

export interface LoggedStatement {
  side: Side;
  statement: string;
  /** The first SQL error the statement raised; null when it raised none. */
  errorNumber: number | null;
  /** Set when the lab received it but never carried it out (connection dropped first, hung, its request cancelled before it began, or its client gone while an earlier statement of the batch ran). */
  notCarriedOut?: 'dropped' | 'hung' | 'cancelled' | 'connectionClosed';
  /** Milliseconds since the epoch. */
  at: number;
}

export interface ArmRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  status: number;
  at: number;
}

export interface LedgerCounts {
  committed: number;
  lost: number;
}

/** One `runbook apply` process of the run: the first, a resume after a kill, or a second operator. */
export interface Invocation {
  role: 'first' | 'resume' | 'second-operator';
  argv: string[];
  /** null when the process was killed (then `signal` says by what). */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  startedAt: number;
  endedAt: number;
  /** The drill killed it on purpose (SIGKILL fault); its silence is expected. */
  killedByDrill?: boolean;
  /**
   * The drill pressed Ctrl-C until it gave up a hung change (exit 130): an abandoned run exits at
   * once and leaves its account to its journal (README "apply"), which the resume then reads.
   */
  abandonedByDrill?: boolean;
  /** It did not end within the drill's deadline and was killed. */
  timedOut?: boolean;
  /** The records of its run's journal (a resume's file holds the killed run's records too). */
  journal?: JournalRecord[];
}

/** What the judge needs to know of the runbook, read from its plan (not from a run). */
export interface RunbookFacts {
  name: string;
  /**
   * The ids of the steps that may run that their author made dataLoss (not those the engine made
   * so because a safety step is missing). A loss is excused only by one of them that started.
   */
  dataLossSteps: string[];
  /** The runbook's `outcomes.splitBrain`: it may end with two primaries and says why. */
  declaresSplitBrain: boolean;
}

export interface JournalRecord {
  kind: string;
  step?: string;
  type?: string;
  outputs?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface RecordedRun {
  runbook: RunbookFacts;
  /** The runs were given `--allow-data-loss <link>`. */
  acknowledgedDataLoss: boolean;
  invocations: Invocation[];
  statements: LoggedStatement[];
  arm: ArmRequest[];
  ledger: { before: LedgerCounts; after: LedgerCounts };
  roles: { before: Roles; after: Roles };
  /** The journal files' raw text, for the secret check. */
  journalText: string;
  /** Values that must never appear in any output: passwords, the ARM token. */
  secrets: string[];
  /** ARM operations the lab was told to accept and then fail (armLroFails): they took no effect. */
  failedArmOperations: number;
}

export type InvariantName =
  | 'transaction-lost'
  | 'change-applied-twice'
  | 'two-primaries'
  | 'summary-disagrees'
  | 'exit-0-wrong-roles'
  | 'secret-leaked'
  | 'run-hung'
  | 'undeclared-change';

export interface Violation {
  invariant: InvariantName;
  message: string;
}
