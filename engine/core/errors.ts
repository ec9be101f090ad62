// Errors with a meaning for the exit code, typed so the engine reads fields, not guesses. Steps
// (through engine/step-api) end with StepFailure (exit 1, or 4 after a change), GuardRefusal /
// StepRefusal (a guard said no: 3) and OutcomeUnknown (the step acted and cannot tell whether the
// effect happened: 5). The drivers raise them too (engine/drivers/run-resources.ts).
import { ExitCode } from './exit-codes.js';

/**
 * Step errors are recognised by kind, not by module identity: a plugin that imports its own copy of
 * the step API (its own installed `runbook`) throws errors this engine still tells apart. Each
 * class marks its instances (a non-enumerable list under a registered symbol) and answers
 * `instanceof` from the mark.
 */
const KINDS = Symbol.for('runbook.step-error.kinds');

function mark(error: Error, kind: string): void {
  const own = (error as unknown as Record<symbol, string[] | undefined>)[KINDS];
  if (own) own.push(kind);
  else Object.defineProperty(error, KINDS, { value: [kind], enumerable: false });
}

function isKind(value: unknown, kind: string): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const kinds = (value as Record<symbol, unknown>)[KINDS];
  return Array.isArray(kinds) && kinds.includes(kind);
}

/** Values a message template's {{placeholders}} are filled with. */
export type MessageData = Record<string, string | number | bigint | boolean>;

export interface StepFailureOptions {
  /** Extra lines shown under the message (e.g. the SQL around an error line). */
  detail?: string;
  /**
   * true: the server definitely refused the request itself, so this step changed nothing (a SQL
   * error on a batch that is one statement, an ARM 4xx to the change request, nothing sent at all).
   * Absent or false: it may have acted. See definitelyNotApplied.
   */
  notApplied?: boolean;
  cause?: unknown;
}

/** A step failed (not a guard refusal): exit 1 before any change, 4 after one. */
export class StepFailure extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isKind(value, 'StepFailure');
  }
  readonly detail?: string;
  readonly notApplied?: boolean;
  /** `unknown` only on OutcomeUnknown: the step acted and cannot tell whether it took effect. */
  readonly outcome?: 'unknown';
  constructor(
    /** The id of the step message that produced the text (e.g. `sqlError`), for tests and JSON. */
    readonly messageId: string,
    readonly data: MessageData,
    message: string,
    options: StepFailureOptions = {},
  ) {
    super(options.detail ? `${message}\n${options.detail}` : message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StepFailure';
    mark(this, 'StepFailure');
    if (options.detail !== undefined) this.detail = options.detail;
    if (options.notApplied !== undefined) this.notApplied = options.notApplied;
  }
}

/** The step acted but cannot tell whether the effect happened (e.g. a timeout after FAILOVER). Exit code 5. */
export class OutcomeUnknown extends StepFailure {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isKind(value, 'OutcomeUnknown');
  }
  override readonly outcome = 'unknown' as const;
  readonly exitCode = ExitCode.outcomeUnknown;
  constructor(message: string, init: { messageId?: string; data?: MessageData; detail?: string; cause?: unknown } = {}) {
    super(init.messageId ?? 'outcomeUnknown', init.data ?? {}, message, {
      ...(init.detail !== undefined ? { detail: init.detail } : {}),
      ...(init.cause !== undefined ? { cause: init.cause } : {}),
    });
    this.name = 'OutcomeUnknown';
    mark(this, 'OutcomeUnknown');
  }
}

/** A guard refused to go on; nothing was done by this step. Exit code 3. */
export class StepRefusal extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isKind(value, 'StepRefusal');
  }
  readonly exitCode = ExitCode.refused;
  constructor(message: string) {
    super(message);
    this.name = 'StepRefusal';
    mark(this, 'StepRefusal');
  }
}

/** A guard said no (exit 3), with the message id and data that produced the text. */
export class GuardRefusal extends StepRefusal {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isKind(value, 'GuardRefusal');
  }
  constructor(
    readonly messageId: string,
    readonly data: MessageData,
    message: string,
  ) {
    super(message);
    this.name = 'GuardRefusal';
    mark(this, 'GuardRefusal');
  }
}

/** Bad flags, arguments or files: one plain line (or a diagnostics block) and exit 2. */
export class UsageError extends Error {
  readonly exitCode = ExitCode.invalidInput;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A user-facing stop with a specific exit code and message (already worded for the operator). */
export class ExitError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ExitError';
  }
}

/** The exit code an error asks for, if its type carries one. */
export function errorExitCode(error: unknown): number | undefined {
  if (error instanceof StepFailure) return error.outcome === 'unknown' ? ExitCode.outcomeUnknown : undefined;
  if (error instanceof StepRefusal || error instanceof UsageError || error instanceof ExitError) return error.exitCode;
  return undefined;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * True when the server definitely refused the step's request, so the step changed nothing: a
 * StepFailure says so with `notApplied: true` (sqlExec: a SQL error with its number on the first
 * batch, a single statement; ARM steps: a 4xx answer to the request itself, or nothing sent). Raw
 * driver errors a plugin lets through count too: an mssql RequestError carrying a server error
 * number, an ARM RestError with a 4xx status. A lost connection or a timeout after sending, or an
 * unknown outcome, is never a refusal.
 */
export function definitelyNotApplied(error: unknown): boolean {
  if (error instanceof StepFailure) return error.outcome !== 'unknown' && error.notApplied === true;
  if (!error || typeof error !== 'object') return false;
  const e = error as { name?: unknown; number?: unknown; statusCode?: unknown };
  if (e.name === 'RequestError' && typeof e.number === 'number' && e.number > 0) return true;
  if (e.name === 'RestError' && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return true;
  return false;
}
