// `runbook validate <file or folder...>`: runbooks and inventories, every problem in every file; exit 0 or 2.
import { validateFiles } from '../validate/runbook.js';
import { hasErrors } from '../core/diagnostics.js';
import { stepModules } from '../../steps/index.js';
import type { CommandIO } from './io.js';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';

export interface ValidateOptions {
  files: string[];
  format: 'text' | 'json';
}

/**
 * The files to validate: each file as given, and each folder as the .yml and .yaml files directly
 * in it (sorted). A path that does not exist stays, so validate reports it (with "did you mean").
 */
export function expandFolders(given: string[], cwd: string): string[] {
  const files: string[] = [];
  for (const path of given) {
    const full = resolve(cwd, path);
    if (existsSync(full) && statSync(full).isDirectory()) {
      const inside = readdirSync(full).filter((f) => /\.ya?ml$/i.test(f) && statSync(join(full, f)).isFile()).sort();
      if (inside.length === 0) throw new UsageError(`validate: ${path} holds no .yml or .yaml file`);
      files.push(...inside.map((f) => join(path, f)));
    } else files.push(path);
  }
  return files;
}

export async function validateCommand(opts: ValidateOptions, io: CommandIO): Promise<number> {
  const files = expandFolders(opts.files, io.cwd);
  const result = await validateFiles(files, { steps: stepModules });
  // A path that is not there: name the nearest files, as plan and apply do.
  for (const d of result.diagnostics) {
    if (d.code !== 'file-unreadable' || !/: no such file\.$/.test(d.message)) continue;
    const { nearestRunbooks } = await import('./nearest-files.js');
    const near = nearestRunbooks(d.file, io.cwd);
    if (near.length) d.message = d.message.replace(/\.$/, `; did you mean ${near.map((n) => `\`${n}\``).join(' or ')}?`);
  }
  const failed = hasErrors(result.diagnostics);
  // The renderers and the colour check are loaded only when there is something to render (start-up budget).
  if (opts.format === 'json') {
    const { renderDiagnosticsJson } = await import('../ui/diagnostics.js');
    io.stdout.write(renderDiagnosticsJson(result.diagnostics));
  } else {
    if (result.diagnostics.length) {
      const [{ renderDiagnosticsText }, { colorWanted }] = await Promise.all([import('../ui/diagnostics.js'), import('../ui/style.js')]);
      io.stderr.write(renderDiagnosticsText(result.diagnostics, result.sources, { color: colorWanted(io.stderr, io.env) }));
    }
    if (!failed) io.stdout.write(`${files.length} file(s) valid.\n`);
  }
  return failed ? 2 : 0;
}
