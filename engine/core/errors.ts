// Errors with a meaning for the exit code. Step authors throw StepRefusal (a guard said no) and
// OutcomeUnknown (the step cannot tell whether its effect happened); the executor maps them.
import { ExitCode } from './exit-codes.js';

/** A guard refused to go on; nothing was done by this step. Exit code 3. */
export class StepRefusal extends Error {
  readonly exitCode = ExitCode.refused;
  constructor(message: string) {
    super(message);
    this.name = 'StepRefusal';
  }
}

/** The step acted but cannot tell whether the effect happened (e.g. a timeout after FAILOVER). Exit code 5. */
export class OutcomeUnknown extends Error {
  readonly outcome = 'unknown' as const;
  readonly exitCode = ExitCode.outcomeUnknown;
  constructor(message: string) {
    super(message);
    this.name = 'OutcomeUnknown';
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

/** The exit code an error asks for, if it carries one (duck-typed so plugins need not import us). */
export function errorExitCode(error: unknown): number | undefined {
  if (error && typeof error === 'object') {
    const e = error as { exitCode?: unknown; outcome?: unknown };
    if (e.outcome === 'unknown') return ExitCode.outcomeUnknown;
    if (typeof e.exitCode === 'number') return e.exitCode;
  }
  return undefined;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * True when the server definitely refused the step's request, so the step changed nothing: a
 * step marks such an error `notApplied: true` (sqlExec: a SQL error with its number on the first
 * batch, a single statement; ARM steps: a 4xx answer to the request itself). Raw driver errors a
 * plugin lets through count too: an mssql RequestError carrying a server error number, an ARM
 * answer with a 4xx status. A lost connection or a timeout after sending is never a refusal.
 */
export function definitelyNotApplied(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as { notApplied?: unknown; name?: unknown; number?: unknown; statusCode?: unknown; outcome?: unknown };
  if (e.outcome === 'unknown') return false;
  if (e.notApplied === true) return true;
  if (e.notApplied === false) return false;
  if (e.name === 'RequestError' && typeof e.number === 'number' && e.number > 0) return true;
  if (e.name === 'RestError' && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return true;
  return false;
}
