// The `runbook` command line: parse flags, call a command (each a typed function in
// engine/commands/, imported lazily so `plan` never loads apply's or the lab's code), and map
// every outcome to an exit code here and nowhere else. No stack traces reach the user.
// The help texts (./help.js) are loaded only when a command asks for them: start-up budget.
import { parseArgs, type ParsedArgs } from './args.js';
import { COMMAND_FLAGS } from './flags.js';
import { UsageError } from '../core/errors.js';
import { closest } from '../core/diagnostics.js';
import { ExitCode } from '../core/exit-codes.js';
import type { CommandIO } from '../commands/io.js';
import { redactingStream } from '../core/redact.js';

const COMMANDS = ['validate', 'plan', 'apply', 'status', 'inputs', 'runs', 'list-steps', 'lab', 'drill', 'help', 'runbooks', 'init', 'completion'];

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

let outputFormat: string | undefined;
/** `apply --format json` is a stream of events, one JSON object per line, whatever happens. */
let eventStream = false;

async function dispatch(argv: string[], io: CommandIO): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    io.stdout.write((await helpTexts()).USAGE);
    return command === undefined ? ExitCode.invalidInput : ExitCode.done;
  }
  if (command === 'help') {
    // `runbook help <command>` is `runbook <command> --help`, whatever else follows.
    const about = rest.find((a) => !a.startsWith('-'));
    const { USAGE, COMMAND_HELP } = await helpTexts();
    if (about === undefined || about === 'help') {
      io.stdout.write(USAGE);
      return ExitCode.done;
    }
    if (!Object.hasOwn(COMMAND_HELP, about)) throw unknownCommand(about);
    return printHelp(io, about);
  }
  if (command === '--version' || command === '-v') {
    const { versionText } = await import('../commands/version.js');
    io.stdout.write(versionText());
    return ExitCode.done;
  }
  // Shell completion asks here on every Tab: answered before anything else is loaded.
  if (command === '__complete') {
    const { USAGE, COMMAND_HELP } = await helpTexts();
    return (await import('../commands/completion.js')).completeCommand({ usage: USAGE, commands: COMMAND_HELP }, rest, io);
  }
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  switch (command) {
    case 'validate': {
      if (wantsHelp) return printHelp(io, command);
      const a = parseArgs(command, rest, ...COMMAND_FLAGS.validate);
      const format = oneOf(command, 'format', a.flags.format, ['text', 'json'] as const, 'text');
      outputFormat = format;
      if (a.positionals.length === 0) throw new UsageError('validate: name at least one runbook or inventory file, or a folder of them');
      const { runbookArgument } = await import('../commands/shipped.js');
      const { validateCommand } = await import('../commands/validate.js');
      return validateCommand({ files: a.positionals.map((f) => runbookArgument(f, io)), format }, io);
    }
    case 'plan': {
      if (wantsHelp) return printHelp(io, command);
      const a = parseArgs(command, rest, ...COMMAND_FLAGS.plan);
      const format = oneOf(command, 'format', a.flags.format, ['text', 'json', 'sql'] as const, 'text');
      outputFormat = format;
      const links = waveFlagsOf(a);
      if (links.links !== undefined || links.all) {
        if (typeof a.flags.inventory !== 'string') throw new UsageError('plan: --links and --all choose links of a fleet inventory: add -i <fleet.yml>');
        if (format === 'sql' || a.flags.out !== undefined || a.flags.probe === true || a.flags.inputs !== undefined || a.flags.replica !== undefined) {
          throw new UsageError('plan: a fleet plan is text or json with --set inputs; --format sql, --out, --probe, --replica and --inputs take one link');
        }
        const { wavePlanCommand } = await import('../commands/wave.js');
        const { runbookArgument } = await import('../commands/shipped.js');
        return wavePlanCommand({ runbook: await runbookPath(command, runbookArgument(exactlyOne(command, 'runbook file', a), io), io), inventory: a.flags.inventory, sets: (a.flags.set as string[] | undefined) ?? [], format: format as 'text' | 'json', flags: links }, io);
      }
      const replica = a.flags.replica === undefined ? undefined : oneOf(command, 'replica', a.flags.replica, ['sqlServer', 'managedInstance', 'primary', 'secondary'] as const, 'sqlServer');
      const { runbookArgument } = await import('../commands/shipped.js');
      const runbook = await runbookPath(command, runbookArgument(exactlyOne(command, 'runbook file', a), io), io);
      const { planCommand } = await import('../commands/plan.js');
      return planCommand({
        runbook,
        ...inventoryChoice(a),
        sets: (a.flags.set as string[] | undefined) ?? [],
        ...(str(a.flags.inputs) !== undefined ? { inputsFile: str(a.flags.inputs)! } : {}),
        format,
        ...(str(a.flags.out) !== undefined ? { out: str(a.flags.out)! } : {}),
        ...(a.flags.probe === true ? { probe: true } : {}),
        ...(a.flags.full === true ? { full: true } : {}),
        ...(a.flags['detailed-exitcode'] === true ? { detailedExitcode: true } : {}),
        ...(replica !== undefined ? { replica } : {}),
      }, io);
    }
    case 'apply': {
      if (wantsHelp) return printHelp(io, command);
      const a = parseArgs(command, rest, ...COMMAND_FLAGS.apply);
      const format = oneOf(command, 'format', a.flags.format, ['text', 'json'] as const, 'text');
      outputFormat = format;
      eventStream = format === 'json';
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
        if (a.flags.inputs !== undefined) throw new UsageError('apply: a wave takes its inputs with --set (an inputs file is not recorded in the wave yet)');
        const { waveApplyCommand } = await import('../commands/wave.js');
        const { runbookArgument } = await import('../commands/shipped.js');
        return waveApplyCommand({
          ...wave,
          // A resume's runbook is its record's: one given is refused as given (engine/commands/wave.ts), never looked up.
          target: resume !== undefined ? (a.positionals.length === 0 ? '' : exactlyOne(command, 'runbook file', a)) : await runbookPath(command, runbookArgument(exactlyOne(command, 'runbook file', a), io), io),
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
      if (resume !== undefined && a.flags.inputs !== undefined) {
        throw new UsageError('apply --resume: a resume takes its inputs from the journal; give secret inputs again with --set, not --inputs');
      }
      const { runbookArgument } = await import('../commands/shipped.js');
      const target = resume !== undefined && a.positionals.length === 0 ? '' : await runbookPath(command, runbookArgument(exactlyOne(command, 'runbook or plan file', a), io), io);
      const { applyCommand } = await import('../commands/apply.js');
      return applyCommand({
        target,
        ...(resume !== undefined ? { resume } : {}),
        ...(outcomeDeadlineMs !== undefined ? { outcomeDeadlineMs } : {}),
        ...inventoryChoice(a),
        sets: (a.flags.set as string[] | undefined) ?? [],
        ...(str(a.flags.inputs) !== undefined ? { inputsFile: str(a.flags.inputs)! } : {}),
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
    case 'inputs': {
      if (wantsHelp) return printHelp(io, command);
      const a = parseArgs(command, rest, ...COMMAND_FLAGS.inputs);
      const format = oneOf(command, 'format', a.flags.format, ['text', 'json'] as const, 'text');
      outputFormat = format;
      const { runbookArgument } = await import('../commands/shipped.js');
      const runbook = await runbookPath(command, runbookArgument(exactlyOne(command, 'runbook file', a), io), io);
      const { inputsCommand } = await import('../commands/inputs.js');
      return inputsCommand({ runbook, format }, io);
    }
    case 'runs': {
      if (wantsHelp) return printHelp(io, command);
      const [sub, ...runsArgs] = rest;
      if (sub === 'show') {
        const a = parseArgs('runs show', runsArgs, ...COMMAND_FLAGS['runs show']);
        const format = oneOf('runs show', 'format', a.flags.format, ['text', 'json', 'markdown'] as const, 'text');
        const { runsShowCommand } = await import('../commands/runs-show.js');
        return runsShowCommand({ runId: exactlyOne('runs show', 'run id', a), format }, io);
      }
      if (sub === 'prune') {
        const a = parseArgs('runs prune', runsArgs, ...COMMAND_FLAGS['runs prune']);
        if (a.positionals.length) throw new UsageError(`runs prune: unexpected argument ${a.positionals[0]}`);
        const { runsPruneCommand } = await import('../commands/runs-prune.js');
        return runsPruneCommand({
          ...(str(a.flags['older-than']) !== undefined ? { olderThan: str(a.flags['older-than'])! } : {}),
          ...(str(a.flags.keep) !== undefined ? { keep: str(a.flags.keep)! } : {}),
          dryRun: a.flags['dry-run'] === true,
        }, io);
      }
      const a = parseArgs(command, rest, ...COMMAND_FLAGS.runs);
      if (a.positionals.length) throw new UsageError(`runs: unexpected argument ${a.positionals[0]} (subcommands: show <run-id>, prune)`);
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
    case 'runbooks':
    case 'list-runbooks': {
      if (wantsHelp) return printHelp(io, 'runbooks');
      const a = parseArgs(command, rest, ...COMMAND_FLAGS.runbooks);
      if (a.positionals.length) throw new UsageError(`${command}: unexpected argument ${a.positionals[0]}`);
      const format = oneOf(command, 'format', a.flags.format, ['text', 'json'] as const, 'text');
      return (await import('../commands/shipped.js')).runbooksCommand({ format }, io);
    }
    case 'init': {
      if (wantsHelp) return printHelp(io, command);
      const a = parseArgs(command, rest, ...COMMAND_FLAGS.init);
      if (a.positionals.length > 1) throw new UsageError(`init: one folder only, got ${a.positionals.join(' ')}`);
      return (await import('../commands/init.js')).initCommand({ ...(a.positionals[0] !== undefined ? { dir: a.positionals[0] } : {}), force: a.flags.force === true }, io);
    }
    case 'completion': {
      if (wantsHelp) return printHelp(io, command);
      const a = parseArgs(command, rest, ...COMMAND_FLAGS.completion);
      if (a.positionals.length > 1) throw new UsageError(`completion: one shell only, got ${a.positionals.join(' ')}`);
      return (await import('../commands/completion.js')).completionCommand(a.positionals[0], io);
    }
    case 'drill': {
      if (wantsHelp) return printHelp(io, command);
      const a = parseArgs(command, rest, ...COMMAND_FLAGS.drill);
      const format = oneOf(command, 'format', a.flags.format, ['text', 'json'] as const, 'text');
      outputFormat = format;
      const { drillCommand } = await import('../commands/drill.js');
      const flag = (name: string) => (str(a.flags[name]) !== undefined ? { [name]: str(a.flags[name])! } : {});
      return drillCommand({
        runbook: exactlyOne(command, 'runbook file', a),
        sets: (a.flags.set as string[] | undefined) ?? [],
        ...(a.flags['all-scenarios'] === true ? { allScenarios: true } : {}),
        ...flag('scenarios'), ...flag('faults'), ...flag('runs'), ...flag('seed'), ...flag('only'), ...flag('jobs'),
        format,
      }, io);
    }
    default:
      throw unknownCommand(command);
  }
}

function unknownCommand(command: string): UsageError {
  const guess = closest(command, COMMANDS);
  return new UsageError(`unknown command "${command}"${guess ? `; did you mean "${guess}"?` : ''} (commands: validate, plan, apply, status, inputs, runs, list-steps, lab up, drill, runbooks, init, completion, help; see runbook --help)`);
}

/**
 * A runbook path as given, or exit 2 naming the nearest files when it does not exist: in the folder
 * it names and among the shipped runbooks/ (a typo such as `runbooks/planed-failover.yml`).
 */
async function runbookPath(command: string, given: string, io: CommandIO): Promise<string> {
  const { existsSync } = await import('node:fs');
  const { resolve } = await import('node:path');
  if (existsSync(resolve(io.cwd, given))) return given;
  const { nearestRunbooks } = await import('../commands/nearest-files.js');
  const near = nearestRunbooks(given, io.cwd);
  const hint = near.length ? `; did you mean ${near.map((n) => `\`${n}\``).join(' or ')}?` : '';
  throw new UsageError(`${command}: ${given}: no such file${hint}`);
}

function inventoryChoice(a: ParsedArgs): { inventory?: string; lab?: string | boolean } {
  const out: { inventory?: string; lab?: string | boolean } = {};
  if (typeof a.flags.inventory === 'string') out.inventory = a.flags.inventory;
  if (a.flags.lab !== undefined) out.lab = a.flags.lab as string | boolean;
  return out;
}

function helpTexts(): Promise<typeof import('./help.js')> {
  return import('./help.js');
}

async function printHelp(io: CommandIO, command: string): Promise<number> {
  const { COMMAND_HELP, USAGE } = await helpTexts();
  io.stdout.write(COMMAND_HELP[command] ?? USAGE);
  return ExitCode.done;
}

/** Runs the CLI and returns the exit code; never throws. */
export async function main(argv: string[], rawIo: CommandIO): Promise<number> {
  // A drill worker (worker.ts) calls main once per run: nothing of the last run's flags may remain.
  outputFormat = undefined;
  eventStream = false;
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
  return reportCommandError(error, io, { format: outputFormat === 'json' ? 'json' : 'text', eventStream });
}
