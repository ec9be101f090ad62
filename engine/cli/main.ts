// The `runbook` command line: parse flags, call a command (each a typed function in
// engine/commands/, imported lazily so `plan` never loads apply's or the lab's code), and map
// every outcome to an exit code here and nowhere else. No stack traces reach the user.
import { readFileSync } from 'node:fs';
import { parseArgs, type ParsedArgs } from './args.js';
import { COMMAND_FLAGS } from './flags.js';
import { COMMAND_HELP, USAGE } from './help.js';
import { ExitError, UsageError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import type { CommandIO } from '../commands/io.js';
import { redactingStream } from '../core/redact.js';

function waveFlagsOf(a: ParsedArgs): import('../commands/wave.js').WaveFlags {
  const out: import('../commands/wave.js').WaveFlags = {};
  if (str(a.flags.links) !== undefined) out.links = str(a.flags.links)!;
  if (a.flags.all === true) out.all = true;
  if (str(a.flags.parallel) !== undefined) out.parallel = str(a.flags.parallel)!;
  if (str(a.flags.canary) !== undefined) out.canary = str(a.flags.canary)!;
  if (str(a.flags['max-failures']) !== undefined) out.maxFailures = str(a.flags['max-failures'])!;
  if (str(a.flags['allow-data-loss-all-of']) !== undefined) out.allowDataLossAllOf = str(a.flags['allow-data-loss-all-of'])!;
  return out;
}

/** The flags only a wave takes, given without one: a usage error, never silently ignored. */
function refuseWaveOnlyFlags(command: string, flags: import('../commands/wave.js').WaveFlags): void {
  const given = (['parallel', 'canary', 'maxFailures', 'allowDataLossAllOf'] as const).filter((k) => flags[k] !== undefined);
  if (given.length) throw new UsageError(`${command}: ${given.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} apply to a wave: add --links a,b or --all with a fleet inventory`);
}

function oneOf<T extends string>(command: string, flag: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${command}: --${flag} must be one of ${allowed.join(', ')}, not "${String(value)}"`);
}

function exactlyOne(command: string, what: string, args: ParsedArgs): string {
  if (args.positionals.length === 0) throw new UsageError(`${command}: missing ${what} (see runbook ${command} --help)`);
  if (args.positionals.length > 1) throw new UsageError(`${command}: one ${what} only, got ${args.positionals.length}: ${args.positionals.join(' ')}`);
  return args.positionals[0]!;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

let outputFormat: string | undefined;

async function dispatch(argv: string[], io: CommandIO): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(USAGE);
    return command === undefined ? ExitCode.invalidInput : ExitCode.done;
  }
  if (command === '--version' || command === '-v') {
    io.stdout.write(`${version()}\n`);
    return ExitCode.done;
  }
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  switch (command) {
    case 'validate': {
      if (wantsHelp) return printHelp(io, command);
      const a = parseArgs(command, rest, ...COMMAND_FLAGS.validate);
      const format = oneOf(command, 'format', a.flags.format, ['text', 'json'] as const, 'text');
      outputFormat = format;
      if (a.positionals.length === 0) throw new UsageError('validate: name at least one runbook or inventory file');
      const { validateCommand } = await import('../commands/validate.js');
      return validateCommand({ files: a.positionals, format }, io);
    }
    case 'plan': {
      if (wantsHelp) return printHelp(io, command);
      const a = parseArgs(command, rest, ...COMMAND_FLAGS.plan);
      const format = oneOf(command, 'format', a.flags.format, ['text', 'json', 'sql'] as const, 'text');
      outputFormat = format;
      const links = waveFlagsOf(a);
      if (links.links !== undefined || links.all) {
        if (typeof a.flags.inventory !== 'string') throw new UsageError('plan: --links and --all choose links of a fleet inventory: add -i <fleet.yml>');
        if (format === 'sql' || a.flags.out !== undefined || a.flags.probe === true) throw new UsageError('plan: a fleet plan is text or json; --format sql, --out and --probe take one link');
        const { wavePlanCommand } = await import('../commands/wave.js');
        return wavePlanCommand({ runbook: exactlyOne(command, 'runbook file', a), inventory: a.flags.inventory, sets: (a.flags.set as string[] | undefined) ?? [], format: format as 'text' | 'json', flags: links }, io);
      }
      const { planCommand } = await import('../commands/plan.js');
      return planCommand({
        runbook: exactlyOne(command, 'runbook file', a),
        ...inventoryChoice(a),
        sets: (a.flags.set as string[] | undefined) ?? [],
        format,
        ...(str(a.flags.out) !== undefined ? { out: str(a.flags.out)! } : {}),
        ...(a.flags.probe === true ? { probe: true } : {}),
      }, io);
    }
    case 'apply': {
      if (wantsHelp) return printHelp(io, command);
      const a = parseArgs(command, rest, ...COMMAND_FLAGS.apply);
      const format = oneOf(command, 'format', a.flags.format, ['text', 'json'] as const, 'text');
      outputFormat = format;
      const resume = str(a.flags.resume);
      const outcomeTimeout = str(a.flags['outcome-timeout']);
      let outcomeDeadlineMs: number | undefined;
      if (outcomeTimeout !== undefined) {
        const { parseDuration } = await import('../core/duration.js');
        try {
          outcomeDeadlineMs = parseDuration(outcomeTimeout);
        } catch (error) {
          throw new UsageError(`apply: --outcome-timeout: ${(error as Error).message}`);
        }
      }
      const wave = waveFlagsOf(a);
      if (wave.links !== undefined || wave.all || resume?.startsWith('wave-')) {
        if (a.flags.lab !== undefined) throw new UsageError('apply: a wave runs on a fleet inventory (-i fleet.yml); `runbook lab up --links N` writes one for the lab');
        const { waveApplyCommand } = await import('../commands/wave.js');
        return waveApplyCommand({
          ...wave,
          target: resume !== undefined && a.positionals.length === 0 ? '' : exactlyOne(command, 'runbook file', a),
          ...(typeof a.flags.inventory === 'string' ? { inventory: a.flags.inventory } : {}),
          ...(resume !== undefined ? { resume } : {}),
          ...(outcomeDeadlineMs !== undefined ? { outcomeDeadlineMs } : {}),
          sets: (a.flags.set as string[] | undefined) ?? [],
          yes: a.flags.yes === true,
          ...(str(a.flags['allow-data-loss']) !== undefined ? { allowDataLoss: str(a.flags['allow-data-loss'])! } : {}),
          format,
        }, io, argv);
      }
      refuseWaveOnlyFlags(command, wave);
      const { applyCommand } = await import('../commands/apply.js');
      return applyCommand({
        target: resume !== undefined && a.positionals.length === 0 ? '' : exactlyOne(command, 'runbook or plan file', a),
        ...(resume !== undefined ? { resume } : {}),
        ...(outcomeDeadlineMs !== undefined ? { outcomeDeadlineMs } : {}),
        ...inventoryChoice(a),
        sets: (a.flags.set as string[] | undefined) ?? [],
        yes: a.flags.yes === true,
        ...(str(a.flags['allow-data-loss']) !== undefined ? { allowDataLoss: str(a.flags['allow-data-loss'])! } : {}),
        format,
      }, io, argv);
    }
    case 'status': {
      if (wantsHelp) return printHelp(io, command);
      const a = parseArgs(command, rest, ...COMMAND_FLAGS.status);
      if (a.positionals.length) throw new UsageError(`status: unexpected argument ${a.positionals[0]}`);
      const format = oneOf(command, 'format', a.flags.format, ['text', 'json'] as const, 'text');
      outputFormat = format;
      if (typeof a.flags.inventory !== 'string') throw new UsageError('status: say which links: -i <inventory.yml>');
      const linkList = str(a.flags.links);
      if (linkList !== undefined && a.flags.all === true) throw new UsageError('status: --links and --all cannot be used together');
      const { statusCommand } = await import('../commands/status.js');
      const { parseLinkList } = await import('../fleet/expand.js');
      const parsed = linkList !== undefined ? parseLinkList(linkList) : undefined;
      if (parsed?.problems.length) throw new UsageError(`status: ${parsed.problems.join('; ')}`);
      return statusCommand({ inventory: a.flags.inventory, format, ...(parsed ? { links: parsed.names } : {}) }, io);
    }
    case 'runs': {
      if (wantsHelp) return printHelp(io, command);
      const a = parseArgs(command, rest, ...COMMAND_FLAGS.runs);
      if (a.positionals.length) throw new UsageError(`runs: unexpected argument ${a.positionals[0]}`);
      const format = oneOf(command, 'format', a.flags.format, ['text', 'json'] as const, 'text');
      const { runsCommand } = await import('../commands/runs.js');
      return runsCommand({ format }, io);
    }
    case 'list-steps': {
      if (wantsHelp) return printHelp(io, command);
      const a = parseArgs(command, rest, ...COMMAND_FLAGS['list-steps']);
      if (a.positionals.length) throw new UsageError(`list-steps: unexpected argument ${a.positionals[0]}`);
      const format = oneOf(command, 'format', a.flags.format, ['text', 'json'] as const, 'text');
      const { listStepsCommand } = await import('../commands/list-steps.js');
      return listStepsCommand({ format }, io);
    }
    case 'lab': {
      if (wantsHelp) return printHelp(io, command);
      const [sub, ...labArgs] = rest;
      if (sub !== 'up') throw new UsageError(sub === undefined ? 'lab: missing subcommand; did you mean "runbook lab up"?' : `lab: unknown subcommand "${sub}"; the only one is "up"`);
      const a = parseArgs('lab up', labArgs, ...COMMAND_FLAGS['lab up']);
      if (a.positionals.length) throw new UsageError(`lab up: unexpected argument ${a.positionals[0]}`);
      const { labUpCommand } = await import('../commands/lab-up.js');
      return labUpCommand({
        ...(str(a.flags.links) !== undefined ? { links: str(a.flags.links)! } : {}),
        ...(str(a.flags.scenario) !== undefined ? { scenario: str(a.flags.scenario)! } : {}),
        ...(str(a.flags['inventory-out']) !== undefined ? { inventoryOut: str(a.flags['inventory-out'])! } : {}),
        ...(a.flags['link-scenario'] !== undefined ? { linkScenarios: a.flags['link-scenario'] as string[] } : {}),
      }, io);
    }
    default:
      throw new UsageError(`unknown command "${command}" (commands: validate, plan, apply, status, runs, list-steps, lab up; see runbook --help)`);
  }
}

function inventoryChoice(a: ParsedArgs): { inventory?: string; lab?: string | boolean } {
  const out: { inventory?: string; lab?: string | boolean } = {};
  if (typeof a.flags.inventory === 'string') out.inventory = a.flags.inventory;
  if (a.flags.lab !== undefined) out.lab = a.flags.lab as string | boolean;
  return out;
}

function printHelp(io: CommandIO, command: string): number {
  io.stdout.write(COMMAND_HELP[command] ?? USAGE);
  return ExitCode.done;
}

/** Runs the CLI and returns the exit code; never throws. */
export async function main(argv: string[], rawIo: CommandIO): Promise<number> {
  // Every line the command writes passes the redactor: secrets registered later are masked too.
  const io: CommandIO = { ...rawIo, stdout: redactingStream(rawIo.stdout), stderr: redactingStream(rawIo.stderr) };
  try {
    return await dispatch(argv, io);
  } catch (error) {
    return reportError(error, io);
  }
}

async function reportError(error: unknown, io: CommandIO): Promise<number> {
  const { reportCommandError } = await import('../commands/report-error.js');
  return reportCommandError(error, io, outputFormat === 'json' ? 'json' : 'text');
}
