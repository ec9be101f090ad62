// `runbook inputs <runbook>`: what a runbook asks of its operator before a plan: each input's type,
// allowed values, default and description, and an `--inputs` file to start from. Connects to nothing.
import { loadRunbook } from './prepare.js';
import { inputConstraints, inputLines } from '../ui/inputs-text.js';
import type { InputSpec } from '../core/types.js';
import type { CommandIO } from './io.js';

export interface InputsOptions {
  runbook: string;
  format: 'text' | 'json';
}

/** A YAML scalar as an `--inputs` file would hold it (quoted when YAML would read it as something else). */
function yamlScalar(value: unknown): string {
  if (typeof value !== 'string') return JSON.stringify(value);
  return /^[A-Za-z_][A-Za-z0-9_./-]*$/.test(value) && !/^(true|false|null|yes|no|on|off|~)$/i.test(value) ? value : JSON.stringify(value);
}

export function inputsFileTemplate(specs: Record<string, InputSpec>): string[] {
  return Object.entries(specs).map(([name, spec]) => {
    if (spec.secret) return `# ${name}: give it with --set, not in a file (it is secret)`;
    // A required input gets no example value: copied as it is, the file must not choose for the operator.
    return spec.default !== undefined ? `# ${name}: ${yamlScalar(spec.default)}` : `${name}:   # required: ${inputConstraints(spec)}`;
  });
}

export async function inputsCommand(opts: InputsOptions, io: CommandIO): Promise<number> {
  const { runbook } = await loadRunbook(opts.runbook);
  const specs = runbook.inputs ?? {};
  if (opts.format === 'json') {
    io.stdout.write(JSON.stringify({ runbook: runbook.name, file: runbook.file, inputs: specs }, null, 2) + '\n');
    return 0;
  }
  const out: string[] = [`Inputs of ${runbook.name} (${runbook.file}):`];
  if (Object.keys(specs).length === 0) out.push('  none: it asks for nothing.');
  else {
    out.push(...inputLines(specs));
    out.push('', 'Give them with --set name=value, or in a YAML file with --inputs <file> (a --set wins over the file), e.g.:');
    out.push(...inputsFileTemplate(specs).map((l) => `  ${l}`));
  }
  io.stdout.write(out.join('\n') + '\n');
  return 0;
}
