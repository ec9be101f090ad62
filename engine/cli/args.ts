// A small hand-written argument parser: declared flags only, `--flag value` and `--flag=value`,
// repeatable flags, and `--lab [scenario]` whose value is optional. Errors are one plain line.
import { UsageError } from '../core/errors.js';

export type FlagKind = 'boolean' | 'string' | 'repeat' | 'optional';

export interface FlagSpec {
  kind: FlagKind;
  short?: string;
  /** For `optional` flags: the value used when none follows. */
  bare?: string;
}

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | boolean | string[] | undefined>;
}

const looksLikeFile = /\.(ya?ml|json)$/i;

export function parseArgs(command: string, argv: string[], specs: Record<string, FlagSpec>, maxPositionals: number): ParsedArgs {
  const flags: ParsedArgs['flags'] = {};
  const positionals: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) if (spec.short) byShort.set(spec.short, name);
  let onlyPositionals = false;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (onlyPositionals || !arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    if (arg === '--') {
      onlyPositionals = true;
      continue;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      if (eq >= 0) inline = arg.slice(eq + 1);
    } else {
      name = byShort.get(arg.slice(1));
      if (name === undefined) throw new UsageError(`${command}: unknown option ${arg} (see runbook ${command} --help)`);
    }
    const spec = specs[name];
    if (!spec) throw new UsageError(`${command}: unknown option --${name} (see runbook ${command} --help)`);
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('-') && next !== '-')) throw new UsageError(`${command}: ${arg} needs a value`);
      i++;
      return next;
    };
    switch (spec.kind) {
      case 'boolean':
        if (inline !== undefined) throw new UsageError(`${command}: ${arg.split('=')[0]} takes no value`);
        flags[name] = true;
        break;
      case 'string':
        if (flags[name] !== undefined) throw new UsageError(`${command}: --${name} given twice`);
        flags[name] = takeValue();
        break;
      case 'repeat':
        flags[name] = [...((flags[name] as string[] | undefined) ?? []), takeValue()];
        break;
      case 'optional': {
        if (inline !== undefined) {
          flags[name] = inline;
          break;
        }
        // `--lab runbook.yml`: the file is the positional, not a scenario, while one is still missing.
        const next = argv[i + 1];
        const nextIsValue = next !== undefined && !next.startsWith('-') && !(positionals.length < maxPositionals && looksLikeFile.test(next));
        if (nextIsValue) {
          flags[name] = next;
          i++;
        } else flags[name] = spec.bare ?? true;
        break;
      }
    }
  }
  return { positionals, flags };
}
