// Every command's flags, in one table: the CLI parses with it (main.ts), and anything that must
// check a `runbook` command line without running it (examples/ci's test) parses with the same.
import { parseArgs, type FlagSpec, type ParsedArgs } from './args.js';

export const help: FlagSpec = { kind: 'boolean', short: 'h' };
export const inventoryFlags: Record<string, FlagSpec> = {
  inventory: { kind: 'string', short: 'i' },
  lab: { kind: 'optional' },
  set: { kind: 'repeat' },
  inputs: { kind: 'string' },
};
/** A fleet inventory's links (engine/commands/wave.ts). */
export const linkFlags: Record<string, FlagSpec> = { links: { kind: 'string' }, all: { kind: 'boolean' } };
export const waveFlags: Record<string, FlagSpec> = {
  ...linkFlags, parallel: { kind: 'string' }, canary: { kind: 'string' }, 'max-failures': { kind: 'string' }, 'allow-data-loss-all-of': { kind: 'string' },
};


/** Each command's flags and how many positionals it takes. */
export const COMMAND_FLAGS: Record<
  'validate' | 'plan' | 'apply' | 'status' | 'inputs' | 'runs' | 'runs show' | 'runs prune' | 'list-steps' | 'lab up' | 'runbooks' | 'init' | 'completion' | 'drill',
  [Record<string, FlagSpec>, number]
> = {
  validate: [{ help, format: { kind: 'string' } }, Infinity],
  plan: [{
    help, ...inventoryFlags, ...linkFlags, format: { kind: 'string' }, out: { kind: 'string' }, probe: { kind: 'boolean' },
    full: { kind: 'boolean', short: 'v' }, 'detailed-exitcode': { kind: 'boolean' }, replica: { kind: 'string' },
  }, 1],
  apply: [{
    help, ...inventoryFlags, format: { kind: 'string' }, yes: { kind: 'boolean', short: 'y' }, 'allow-data-loss': { kind: 'string' },
    resume: { kind: 'string' }, 'outcome-timeout': { kind: 'string' }, ...waveFlags,
  }, 1],
  status: [{ help, inventory: { kind: 'string', short: 'i' }, links: { kind: 'string' }, all: { kind: 'boolean' }, format: { kind: 'string' } }, 0],
  inputs: [{ help, format: { kind: 'string' } }, 1],
  runs: [{ help, format: { kind: 'string' } }, 0],
  'runs show': [{ help, format: { kind: 'string' } }, 1],
  'runs prune': [{ help, 'older-than': { kind: 'string' }, keep: { kind: 'string' }, 'dry-run': { kind: 'boolean' } }, 0],
  'list-steps': [{ help, format: { kind: 'string' } }, 0],
  'lab up': [{ help, links: { kind: 'string' }, scenario: { kind: 'string' }, 'inventory-out': { kind: 'string' }, 'link-scenario': { kind: 'repeat' } }, 0],
  runbooks: [{ help, format: { kind: 'string' } }, 0],
  init: [{ help, force: { kind: 'boolean' } }, 1],
  completion: [{ help }, 1],
  drill: [{
    help, set: { kind: 'repeat' }, scenarios: { kind: 'string' }, 'all-scenarios': { kind: 'boolean' }, faults: { kind: 'string' },
    runs: { kind: 'string' }, seed: { kind: 'string' }, only: { kind: 'string' }, jobs: { kind: 'string' }, format: { kind: 'string' },
  }, 1],
};

/**
 * Parses `runbook <command> ...` (argv without `runbook`) as the CLI would, without running it:
 * the parsed flags, or the CLI's own usage error. Positionals beyond what the command takes are
 * an error here (the commands check that themselves).
 */
export function parseCommandLine(argv: string[]): { command: string; args: ParsedArgs } | { error: string } {
  const [first, ...rest] = argv;
  const sub = rest[0];
  const command = first === 'lab' ? `lab ${rest.shift() ?? ''}` : first === 'runs' && (sub === 'show' || sub === 'prune') ? `runs ${rest.shift()}` : first ?? '';
  const spec = COMMAND_FLAGS[command as keyof typeof COMMAND_FLAGS];
  if (!spec) return { error: `unknown command "${command}"` };
  try {
    const args = parseArgs(command, rest, spec[0], spec[1]);
    if (args.positionals.length > spec[1]) return { error: `${command}: at most ${spec[1]} positional argument(s), got ${args.positionals.length}` };
    return { command, args };
  } catch (error) {
    return { error: (error as Error).message };
  }
}
