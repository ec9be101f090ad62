// Runbook inputs from `--set name=value`: known names only, converted to the declared type,
// checked against `enum`, defaults filled in, missing required inputs reported.
//
// Command-line problems have no file position, so their diagnostics use file `<command line>`,
// line 1 and, as column, the 1-based ordinal of the offending `--set` among all `--set`s (the
// third `--set` is column 3). That points at the argument without pretending to be a character
// offset in a shell command line we never saw.
import { diag, didYouMean, hasErrors, type Diagnostic, type Where } from '../core/diagnostics.js';
import { loadYaml } from './yaml.js';
import { LINE_BREAK } from '../core/sql-literal.js';
import type { InputSpec, Runbook } from '../core/types.js';

export const COMMAND_LINE = '<command line>';

export interface ResolvedInputs {
  inputs: Record<string, unknown>;
  diagnostics: Diagnostic[];
}

function convert(spec: InputSpec, text: string): { value?: unknown; problem?: string } {
  switch (spec.type) {
    case 'string':
      return { value: text };
    case 'boolean':
      if (text === 'true') return { value: true };
      if (text === 'false') return { value: false };
      return { problem: 'must be true or false' };
    case 'integer':
      if (/^-?\d{1,15}$/.test(text)) return { value: Number(text) };
      return { problem: 'must be a whole number' };
    case 'number': {
      const n = Number(text);
      if (text.trim() !== '' && Number.isFinite(n)) return { value: n };
      return { problem: 'must be a number' };
    }
    default:
      return { value: text };
  }
}

/**
 * The declaration of input `name`, if the runbook has one: an own property only, so `__proto__`,
 * `constructor` or `toString` are unknown inputs, not Object.prototype's members.
 */
function declared(specs: Record<string, InputSpec>, name: string): InputSpec | undefined {
  return Object.hasOwn(specs, name) ? specs[name] : undefined;
}

/** What an input is for, to help a person choosing a value: `(one of a, b: what it means)`. */
export function inputHelp(spec: InputSpec): string {
  const allowed = spec.enum ? `one of ${spec.enum.map(String).join(', ')}` : `a ${spec.type}`;
  const about = spec.description?.trim().replace(/\.$/, '');
  return `(${allowed}${about ? `: ${about}` : ''})`;
}

/** Values read from an `--inputs` file, each with where it is written. */
export interface InputsFile {
  file: string;
  source: string;
  values: Record<string, unknown>;
  /** Where input `name` (its key or its value) is written in the file. */
  at(name: string, which: 'key' | 'value'): Where;
}

/**
 * Reads `--inputs file.yml` (a mapping of input name to value, as Terraform's -var-file): YAML
 * problems and anything but a mapping of scalars are diagnostics at file:line:col.
 */
export function loadInputsFile(file: string): { inputs?: InputsFile; source: string; diagnostics: Diagnostic[] } {
  const doc = loadYaml(file);
  const diagnostics = [...doc.diagnostics];
  if (hasErrors(diagnostics)) return { source: doc.source, diagnostics };
  const root = doc.value ?? {};
  const where = (pointer: string, which: 'key' | 'value' = 'value') => ({ file, ...doc.locate(pointer, which) });
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    diagnostics.push(diag('bad-inputs-file', 'An inputs file is a mapping of input names to values, e.g. `direction: toSqlServer`.', where('')));
    return { source: doc.source, diagnostics };
  }
  const values: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(root as Record<string, unknown>)) {
    if (value !== null && typeof value === 'object') {
      diagnostics.push(diag('bad-input-value', `Input \`${name}\` must be a single value (text, a number, true or false), not ${Array.isArray(value) ? 'a list' : 'a mapping'}.`, where(`/${pointerSegment(name)}`)));
      continue;
    }
    Object.defineProperty(values, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return {
    inputs: { file, source: doc.source, values, at: (name, which) => where(`/${pointerSegment(name)}`, which) },
    source: doc.source,
    diagnostics,
  };
}

function pointerSegment(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * The runbook's inputs from an `--inputs` file and `--set name=value`s: known names only, of the
 * declared type, in the `enum`, defaults filled in, missing required inputs reported. A `--set`
 * wins over the file for the same input.
 */
export function resolveInputs(runbook: Runbook, sets: string[], file?: InputsFile): ResolvedInputs {
  const diagnostics: Diagnostic[] = [];
  const specs = runbook.inputs ?? {};
  const names = Object.keys(specs);
  const known = names.length
    ? ` Inputs of ${runbook.name}: ${names.join(', ')} (see runbook inputs ${runbook.file}).`
    : ` ${runbook.name} has no inputs.`;
  const given: Record<string, unknown> = {};
  if (file) {
    for (const [name, value] of Object.entries(file.values)) {
      const spec = declared(specs, name);
      if (!spec) {
        diagnostics.push(diag('unknown-input', `Unknown input \`${name}\`.${didYouMean(name, names)}${known}`, file.at(name, 'key')));
        continue;
      }
      if (!hasType(spec, value)) {
        const hint = spec.type === 'string' && value !== null ? ' (quote it to make it text)' : '';
        diagnostics.push(diag('bad-input-value', `Input \`${name}\` must be ${spec.type === 'integer' ? 'an integer' : `a ${spec.type}`}, got \`${JSON.stringify(value)}\`${hint} ${inputHelp(spec)}.`, file.at(name, 'value')));
        continue;
      }
      const problem = valueProblem(name, spec, value);
      if (problem) {
        diagnostics.push(diag('bad-input-value', problem, file.at(name, 'value')));
        continue;
      }
      given[name] = value;
    }
  }
  sets.forEach((arg, i) => {
    const where = { file: COMMAND_LINE, line: 1, column: i + 1 };
    const eq = arg.indexOf('=');
    if (eq <= 0) {
      diagnostics.push(diag('bad-set', `\`--set ${arg}\` must be name=value.`, where));
      return;
    }
    const name = arg.slice(0, eq);
    const text = arg.slice(eq + 1);
    const spec = declared(specs, name);
    if (!spec) {
      diagnostics.push(diag('unknown-input', `Unknown input \`${name}\`.${didYouMean(name, names)}${known}`, where));
      return;
    }
    const { value, problem } = convert(spec, text);
    if (problem) {
      diagnostics.push(diag('bad-input-value', `Input \`${name}\` ${problem}, got \`${text}\` ${inputHelp(spec)}.`, where));
      return;
    }
    const problem2 = valueProblem(name, spec, value);
    if (problem2) {
      diagnostics.push(diag('bad-input-value', problem2, where));
      return;
    }
    given[name] = value;
  });
  const inputs: Record<string, unknown> = {};
  for (const name of names) {
    const spec = specs[name]!;
    if (name in given) inputs[name] = given[name];
    else if (spec.default !== undefined) inputs[name] = spec.default;
    else if (!diagnostics.some((d) => d.message.includes(`Input \`${name}\``))) {
      const inFile = file ? ` or in ${file.file}` : '';
      diagnostics.push(diag('missing-input', `Input \`${name}\` has no default; give it with \`--set ${name}=<value>\`${inFile} ${inputHelp(spec)}.`, { file: COMMAND_LINE, line: 1, column: 1 }));
    }
  }
  return { inputs, diagnostics };
}

/** What the input's own declaration refuses in a value of the right type: `enum`, line breaks. */
function valueProblem(name: string, spec: InputSpec, value: unknown): string | undefined {
  if (spec.enum && !spec.enum.includes(value as string | number | boolean)) {
    const allowed = spec.enum.map(String);
    const about = spec.description?.trim() ? ` ${spec.description.trim().replace(/\.?$/, '.')}` : '';
    return `Input \`${name}\` must be one of: ${allowed.join(', ')} (got \`${String(value)}\`).${didYouMean(String(value), allowed)}${about}`;
  }
  if (typeof value === 'string' && !spec.multiline && LINE_BREAK.test(value)) {
    return `Input \`${name}\` is one line: its value holds a line break (declare \`multiline: true\` for text that may, and splice it only with str).`;
  }
  return undefined;
}

function hasType(spec: InputSpec, value: unknown): boolean {
  switch (spec.type) {
    case 'string': return typeof value === 'string';
    case 'boolean': return typeof value === 'boolean';
    case 'integer': return typeof value === 'number' && Number.isInteger(value);
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    default: return false;
  }
}

/**
 * Checks inputs that arrive already resolved (a saved plan's) against the runbook's declarations,
 * as `--set` values are: every declared input present, no other, each of its type, in its `enum`,
 * one line unless `multiline`. `at(name)` says where each value is written.
 */
export function checkResolvedInputs(
  runbook: Runbook,
  inputs: Record<string, unknown>,
  at: (name: string | undefined) => Where,
): Diagnostic[] {
  const specs = runbook.inputs ?? {};
  const names = Object.keys(specs);
  const out: Diagnostic[] = [];
  for (const [name, value] of Object.entries(inputs)) {
    const spec = declared(specs, name);
    if (!spec) {
      const known = names.length ? ` Inputs of ${runbook.name}: ${names.join(', ')}.` : ` ${runbook.name} has no inputs.`;
      out.push(diag('unknown-input', `Unknown input \`${name}\`.${didYouMean(name, names)}${known}`, at(name)));
      continue;
    }
    if (!hasType(spec, value)) {
      out.push(diag('bad-input-value', `Input \`${name}\` must be ${spec.type === 'integer' ? 'an integer' : `a ${spec.type}`}, got \`${JSON.stringify(value)}\`.`, at(name)));
      continue;
    }
    const problem = valueProblem(name, spec, value);
    if (problem) out.push(diag('bad-input-value', problem, at(name)));
  }
  for (const name of names) {
    if (!(name in inputs)) out.push(diag('missing-input', `Input \`${name}\` is missing.`, at(undefined)));
  }
  return out;
}
