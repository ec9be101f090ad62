// How a command's error reaches the user: diagnostics (rendered, exit 2), a usage error (one line,
// exit 2), an ExitError (one line, its code), anything else one line saying it is a bug; on an
// event stream (apply --format json) also one `error` event on stdout. The CLI reports a
// command's error with it, and a wave each link's.
import { ExitError, UsageError } from '../core/errors.js';
import { ExitCode, exitCodeMeaning } from '../core/exit-codes.js';
import type { CommandIO } from './io.js';

export interface ReportOptions {
  format: 'text' | 'json';
  /** Standard output is a stream of JSON events (apply --format json). */
  eventStream?: boolean;
}

export async function reportCommandError(error: unknown, io: CommandIO, o: ReportOptions): Promise<number> {
  const errorEvent = (exitCode: number, message: string) => {
    if (o.eventStream) io.stdout.write(JSON.stringify({ event: 'error', exitCode, meaning: exitCodeMeaning(exitCode), message }) + '\n');
  };
  const e = error as { name?: string; message?: string; diagnostics?: unknown; sources?: unknown; exitCode?: unknown; changeMade?: unknown };
  if (Array.isArray(e?.diagnostics)) {
    const render = await import('../ui/diagnostics.js');
    if (o.eventStream) io.stdout.write(render.renderDiagnosticsEvents(e.diagnostics));
    else if (o.format === 'json') io.stdout.write(render.renderDiagnosticsJson(e.diagnostics));
    else {
      const { colorWanted } = await import('../ui/style.js');
      io.stderr.write(render.renderDiagnosticsText(e.diagnostics, (e.sources instanceof Map ? e.sources : new Map()) as Map<string, string>, { color: colorWanted(io.stderr, io.env) }));
    }
    return ExitCode.invalidInput;
  }
  if (error instanceof UsageError || e?.name === 'PlanError') {
    io.stderr.write(`runbook: ${e.message}\n`);
    errorEvent(ExitCode.invalidInput, String(e.message));
    return ExitCode.invalidInput;
  }
  if (error instanceof ExitError) {
    io.stderr.write(`runbook: ${error.message}\n`);
    errorEvent(error.exitCode, error.message);
    return error.exitCode;
  }
  const message = String(e?.message ?? error).split('\n')[0];
  io.stderr.write(`runbook: internal error: ${message} (this is a bug)\n`);
  const code = e?.changeMade === true ? ExitCode.failedAfterChange : ExitCode.failedBeforeChange;
  errorEvent(code, `internal error: ${message} (this is a bug)`);
  return code;
}
