// `runbook validate <file...>`: runbooks and inventories, every problem in every file; exit 0 or 2.
import { validateFiles } from '../validate/runbook.js';
import { hasErrors } from '../core/diagnostics.js';
import { stepModules } from '../../steps/index.js';
import { renderDiagnosticsJson, renderDiagnosticsText } from '../ui/diagnostics.js';
import { colorWanted } from '../ui/style.js';
import type { CommandIO } from './io.js';

export interface ValidateOptions {
  files: string[];
  format: 'text' | 'json';
}

export async function validateCommand(opts: ValidateOptions, io: CommandIO): Promise<number> {
  const result = await validateFiles(opts.files, { steps: stepModules });
  const failed = hasErrors(result.diagnostics);
  if (opts.format === 'json') {
    io.stdout.write(renderDiagnosticsJson(result.diagnostics));
  } else {
    if (result.diagnostics.length) io.stderr.write(renderDiagnosticsText(result.diagnostics, result.sources, { color: colorWanted(io.stderr, io.env) }));
    if (!failed) io.stdout.write(`${opts.files.length} file(s) valid.\n`);
  }
  return failed ? 2 : 0;
}
