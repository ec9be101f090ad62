// `runbook plan|apply <runbook> -i fleet.yml --links a,b | --all`: a wave. Each link is its own run
// of the single-link apply (engine/commands/apply.ts: own run id, lock, journal, guards, exit
// code), on the single-link inventory the wave writes for it from the fleet's
// (engine/fleet/link-inventory.ts). The wave checks every data-loss acknowledgement before any link
// starts (engine/fleet/data-loss.ts), asks once (engine/ui/wave/confirm.ts: every link's changes and
// gate questions), holds a lock on its record, schedules the runs (engine/fleet/schedule.ts),
// records itself (engine/fleet/record.ts) and ends with a table per link, their Attention lines and
// the worst link's exit code. `apply --resume <wave-id>` checks what it would run against what was
// confirmed (engine/fleet/resume-checks.ts), then runs the links that did not finish: a link with a
// run resumes that run, one never started starts. This file wires those parts together.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FleetInventory } from '../core/types.js';
import { buildPlan, sha256 } from '../plan/build.js';
import { ExitError, UsageError } from '../core/errors.js';
import { ExitCode, exitCodeMeaning } from '../core/exit-codes.js';
import { hasErrors } from '../core/diagnostics.js';
import { readRegularFile } from '../load/bounded-file.js';
import { MAX_FILE_BYTES } from '../load/yaml.js';
import { validateInventory } from '../validate/runbook.js';
import { newRunId, runIdentity } from '../apply/journal/write.js';
import { takeRunLock, type RunLock } from '../apply/journal/run-lock.js';
import type { Reporter } from '../apply/events.js';
import { parseLinkList, selectLinks, type LinkSelection } from '../fleet/expand.js';
import { scheduleWave, worstExitCode } from '../fleet/schedule.js';
import { newWaveId, readWaveRecord, recordLine, unusedRunId, waveDirOf, waveFile, waveRecordSaver, writeWaveRecord, type WaveLinkRecord, type WaveRecord } from '../fleet/record.js';
import { linkInventoryFile, linkInventoryText, writeLinkInventory, type PlannedLink } from '../fleet/link-inventory.js';
import { recordLinksProblem, recordRunsProblem, resumeProblems, runbookChange, runsFinishedUnrecorded } from '../fleet/resume-checks.js';
import { acknowledgedLinks, type DataLossFlags } from '../fleet/data-loss.js';
import type { LockSessions } from '../drivers/sql/lock-sessions.js';
import type { ServerSessions } from '../drivers/sql/server-sessions.js';
import type { ArmShared } from '../drivers/arm/shared-pipeline.js';
import { renderPlanText } from '../ui/plan-text.js';
import { colorWanted, makeStyle, type Style } from '../ui/style.js';
import type { LinkProgress } from '../ui/wave/progress.js';
import { prefixedStream } from '../ui/wave/reporters.js';
import { confirmWave, waveListing, type WaveAnswer } from '../ui/wave/confirm.js';
import type { RunQuestion } from '../apply/confirmation.js';
import { lineSink, linkReporter, waveView } from '../ui/wave/view.js';
import { renderWaveSummary, waveTotals } from '../ui/wave/summary.js';
import { InvalidInput, loadRunbook, resolveInputsOrThrow, type LoadedRunbook } from './prepare.js';
import { applyCommand, type ApplyCommandOptions } from './apply.js';
import { reportCommandError } from './report-error.js';
import { journalDirOf } from './runs.js';
import { isTty, type CommandIO } from './io.js';

export interface WaveFlags extends Pick<DataLossFlags, 'allowDataLossAllOf'> {
  /** `--links a,b` (as given) or `--all`. */
  links?: string;
  all?: boolean;
  parallel?: string;
  canary?: string;
  maxFailures?: string;
}

/** Apply's options as a wave reads them: `allowDataLoss` names links (a,b), `resume` may be a wave id. */
export type WaveApplyOptions = WaveFlags & Pick<ApplyCommandOptions, 'target' | 'inventory' | 'sets' | 'yes' | 'allowDataLoss' | 'format' | 'resume' | 'outcomeDeadlineMs'>;

/** A fleet inventory with the links chosen, each with its plan. */
interface Wave {
  loaded: LoadedRunbook;
  inputs: Record<string, unknown>;
  /** `--set` values every link's new run gets. */
  sets: string[];
  fleetFile: string;
  fleetSha: string;
  links: PlannedLink[];
}

function wholeNumber(flag: string, value: string | undefined, min: number, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min) throw new UsageError(`--${flag} must be a whole number of at least ${min}, not "${value}"`);
  return n;
}

export function linkSelection(flags: WaveFlags): LinkSelection {
  if (flags.all && flags.links !== undefined) throw new UsageError('--links and --all cannot be used together');
  if (flags.all) return { all: true };
  if (flags.links === undefined) throw new UsageError('a fleet inventory needs --links a,b or --all');
  const { names, problems } = parseLinkList(flags.links);
  if (problems.length) throw new UsageError(problems.join('; '));
  return { names };
}

/** Loads the fleet, picks the links and writes each link's inventory where its run will read it. */
async function prepareWave(runbookFile: string, fleetFile: string, selection: LinkSelection, sets: string[], linkDir: string | undefined): Promise<Wave> {
  const loaded = await loadRunbook(runbookFile);
  const read = readRegularFile(fleetFile, MAX_FILE_BYTES);
  if ('problem' in read) throw new UsageError(`${fleetFile}: ${read.problem.replace(/^is /, 'it is ')}`);
  const result = validateInventory(fleetFile, read.text);
  if (hasErrors(result.diagnostics)) throw new InvalidInput(result.diagnostics, new Map([[fleetFile, result.source]]));
  if (!result.fleet) throw new UsageError(`--links and --all choose links of a fleet inventory; ${fleetFile} is a single-link inventory (leave them out)`);
  refuseStdinPasswords(result.fleet);
  const { links, problems } = selectLinks(result.fleet, selection);
  if (problems.length) throw new UsageError(problems.join('; '));
  const inputs = resolveInputsOrThrow(loaded.runbook, loaded.source, sets);
  const planned = links.map((link) => {
    const file = linkDir ? linkInventoryFile(linkDir, link) : fleetFile;
    const plan = buildPlan({ runbook: loaded.runbook, source: loaded.source, inventory: link.inventory, inventorySource: { file }, inputs, steps: loaded.steps });
    return { ...link, plan, file };
  });
  return { loaded, inputs, sets, fleetFile: resolve(fleetFile), fleetSha: sha256(read.text), links: planned };
}

/** Many links reading one standard input would each need a line: a wave takes passwords from the environment. */
function refuseStdinPasswords(fleet: FleetInventory): void {
  const servers = [...Object.entries(fleet.sqlServers), ...Object.entries(fleet.managedInstances)];
  const stdin = servers.filter(([, s]) => s.connection.passwordStdin).map(([k]) => k);
  if (stdin.length) throw new UsageError(`a wave reads passwords from the environment only; ${stdin.join(', ')} set passwordStdin (use passwordEnv)`);
}

/** `plan <runbook> -i fleet.yml --links|--all`: every link's plan, one after the other; connects to nothing. */
export async function wavePlanCommand(opts: { runbook: string; inventory: string; sets: string[]; format: 'text' | 'json'; flags: WaveFlags }, io: CommandIO): Promise<number> {
  const wave = await prepareWave(opts.runbook, opts.inventory, linkSelection(opts.flags), opts.sets, undefined);
  if (opts.format === 'json') {
    io.stdout.write(JSON.stringify({ links: wave.links.map((l) => ({ link: l.name, plan: l.plan })) }, null, 2) + '\n');
    return ExitCode.done;
  }
  const style = makeStyle(colorWanted(io.stdout, io.env));
  io.stdout.write(waveListing(wave.links, wave.loaded.runbook.name, wave.loaded.steps));
  wave.links.forEach((l, i) => {
    io.stdout.write(`\n${style.bold(`== Link ${l.name} (${i + 1} of ${wave.links.length}) ==`)}\n`);
    io.stdout.write(renderPlanText(l.plan, style));
  });
  return ExitCode.done;
}

export async function waveApplyCommand(opts: WaveApplyOptions, io: CommandIO, argv: string[]): Promise<number> {
  const waveDir = waveDirOf(io.env, io.cwd, (p) => resolve(io.cwd, p));
  if (opts.resume === undefined) {
    if (opts.inventory === undefined) throw new UsageError('apply: a wave needs -i <fleet inventory>');
    const waveId = newWaveId();
    const wave = await prepareWave(opts.target, opts.inventory, linkSelection(opts), opts.sets, join(waveDir, waveId));
    const secret = (arg: string) => (wave.loaded.runbook.inputs?.[arg.split('=')[0]!] as { secret?: boolean } | undefined)?.secret === true;
    const { user, host } = runIdentity();
    const now = new Date().toISOString();
    const record: WaveRecord = {
      kind: 'runbook-wave', version: 1, waveId, started: now, updated: now, user, host,
      runbook: { file: resolve(io.cwd, opts.target), sha256: wave.links[0]!.plan.runbook.sha256 },
      inventory: { file: wave.fleetFile, sha256: wave.fleetSha },
      sets: opts.sets.filter((s) => !secret(s)),
      options: { parallel: 1, canary: 0, allowDataLoss: [] },
      links: wave.links.map((l): WaveLinkRecord => ({ name: l.name, inventory: l.file, inventorySha256: sha256(linkInventoryText(wave.fleetFile, l)), state: 'pending' })),
    };
    return runWave(wave, record, undefined, { opts, io, argv, waveDir });
  }
  const read = readWaveRecord(waveDir, opts.resume);
  if ('problem' in read) throw new UsageError(`apply --resume: ${read.problem}`);
  const record = read;
  if (opts.links !== undefined || opts.all) throw new UsageError('apply --resume <wave-id>: the wave\'s links are its record\'s; --links and --all cannot change them');
  if (opts.target !== '' || opts.inventory !== undefined) {
    throw new UsageError(`apply --resume <wave-id>: a wave's runbook and inventory are its record's (${record.runbook.file}, ${record.inventory.file}); leave out ${[...(opts.target !== '' ? [opts.target] : []), ...(opts.inventory !== undefined ? [`-i ${opts.inventory}`] : [])].join(' and ')}`);
  }
  // One process drives a wave: a second resume while this one runs would run its links again and overwrite its record.
  const lock = takeRunLock(waveDir, record.waveId, 'resume', { noun: 'wave', file: 'record' });
  try {
    const wave = await prepareWave(record.runbook.file, record.inventory.file, { names: record.links.map((l) => l.name) }, [...record.sets, ...opts.sets], join(waveDir, record.waveId));
    const damaged = recordLinksProblem(record, wave.links.map((l) => l.name)) ?? recordRunsProblem(record, journalDirOf(io));
    if (damaged) throw new UsageError(`apply --resume: ${waveFile(waveDir, record.waveId)}: ${damaged}`);
    const changed = resumeProblems({ ...wave, runbookSha: wave.links[0]!.plan.runbook.sha256 }, record, journalDirOf(io));
    if (changed.length) throw new ExitError(ExitCode.refused, `refusing to resume wave ${record.waveId}: ${changed.join('; ')}. Nothing was run.`);
    for (const { name, runId } of runsFinishedUnrecorded(record, journalDirOf(io))) {
      Object.assign(record.links.find((l) => l.name === name)!, { state: 'done' as const, exitCode: ExitCode.done });
      io.stderr.write(`[${name}] its run ${runId} succeeded before the wave could record it (its journal says so): taken as done, not run again.\n`);
    }
    return await runWave(wave, record, lock, { opts, io, argv, waveDir });
  } finally {
    lock.release();
  }
}

/** Runs the wave's unfinished links under its lock (`held` on resume; a new wave takes it before its first record). */
async function runWave(wave: Wave, record: WaveRecord, held: RunLock | undefined, ctx: { opts: WaveApplyOptions; io: CommandIO; argv: string[]; waveDir: string }): Promise<number> {
  const { opts, io, argv, waveDir } = ctx;
  // A bad RUNBOOK_SESSIONS_PER_SERVER is exit 2 before anything is asked or written.
  const sessionsEach = (await import('../drivers/sql/server-sessions.js')).sessionsPerServer(io.env);
  const parallel = wholeNumber('parallel', opts.parallel, 1, record.options.parallel)!;
  const canary = wholeNumber('canary', opts.canary, 0, record.options.canary)!;
  const maxFailures = wholeNumber('max-failures', opts.maxFailures, 1, record.options.maxFailures);
  const acknowledged = acknowledgedLinks(wave, opts, io.cwd);
  record.options = { parallel, canary, ...(maxFailures !== undefined ? { maxFailures } : {}), allowDataLoss: [...acknowledged] };

  const todo = wave.links.filter((l) => record.links.find((r) => r.name === l.name)?.state !== 'done');
  const style = makeStyle(colorWanted(io.stdout, io.env));
  const answer = await confirmWave(todo, wave.loaded.runbook.name, wave.loaded.steps, opts, io);
  const lock = held ?? takeRunLock(waveDir, record.waveId, 'start', { noun: 'wave', file: 'record' });
  try {
    if (opts.resume === undefined) for (const link of wave.links) writeLinkInventory(wave.fleetFile, link);
    writeWaveRecord(waveDir, record);
    return await runLinks(wave, record, todo, { parallel, canary, maxFailures, acknowledged, answer, style, sessionsEach }, ctx);
  } finally {
    if (!held) lock.release();
  }
}

async function runLinks(
  wave: Wave,
  record: WaveRecord,
  todo: PlannedLink[],
  o: { parallel: number; canary: number; maxFailures: number | undefined; acknowledged: Set<string>; answer: WaveAnswer | undefined; style: Style; sessionsEach: number },
  ctx: { opts: WaveApplyOptions; io: CommandIO; argv: string[]; waveDir: string },
): Promise<number> {
  const { opts, io, argv, waveDir } = ctx;
  const { parallel, canary, maxFailures, acknowledged, answer, style } = o;

  const progress = new Map<string, LinkProgress>(record.links.map((r) => [r.name, rowOf(r)]));
  const save = waveRecordSaver(waveDir, record).save;
  const emitWave = (event: Record<string, unknown>) => {
    if (opts.format === 'json') io.stdout.write(JSON.stringify({ ...event, waveId: record.waveId }) + '\n');
  };
  const rows = record.links.map((r) => progress.get(r.name)!);
  const live = waveView(rows, io.stdout, { format: opts.format, terminal: isTty(io.stdout) && !ciSet(io.env), columns: (io.stdout as { columns?: number }).columns ?? 0 }, style);
  emitWave({ event: 'wave-started', links: todo.map((l) => l.name), parallel, canary, ...(maxFailures !== undefined ? { maxFailures } : {}), resumed: opts.resume !== undefined });
  if (opts.format !== 'json') io.stdout.write(style.bold(`Wave ${record.waveId}: ${wave.loaded.runbook.name} on ${todo.length} link(s), ${parallel} at a time${canary ? `, canary ${canary}` : ''}${maxFailures !== undefined ? `, stop after ${maxFailures} failure(s)` : ''}`) + '\n');

  // Ctrl-C: each running link stops at its own next safe point (its run handles the signal); the wave starts nothing more.
  let interrupted = false;
  const onSignal = () => void (interrupted = true);
  process.setMaxListeners(Math.max(process.getMaxListeners(), 2 * parallel + 10));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const started = Date.now();
  // One lock session per server for every link's run, instead of one per link (engine/drivers/sql/shared-lock-sessions.ts).
  const lockSessions = (await import('../drivers/sql/shared-lock-sessions.js')).waveLockSessions(record.waveId, { ...runIdentity(), since: new Date(started).toISOString() });
  // And a few sessions per server that every link's steps borrow (engine/drivers/sql/server-sessions.ts).
  const { serverSessions } = await import('../drivers/sql/server-sessions.js');
  const stepSessions = serverSessions(o.sessionsEach);
  // And one ARM HTTP client (its connections) and credential for every link's own ARM client.
  const armShared = (await import('../drivers/arm/shared-pipeline.js')).armShared();
  try {
    const result = await scheduleWave(todo, { parallel, canary, ...(maxFailures !== undefined ? { maxFailures } : {}), stopped: () => interrupted }, async (link) => {
      const entry = record.links.find((r) => r.name === link.name)!;
      const row = progress.get(link.name)!;
      // The runbook confirmed is the one every link runs: a file changed since (a pull, an edit) refuses the link.
      const changed = runbookChange(record);
      if (changed) {
        const line = `runbook: refusing link ${link.name}: ${changed} since the wave was confirmed. Nothing was run on this link; review the change and start a new wave.`;
        if (live) live.note(`[${link.name}] ${line}`);
        else io.stderr.write(`[${link.name}] ${line}\n`);
        Object.assign(entry, { state: 'failed' as const, exitCode: ExitCode.refused });
        Object.assign(row, { state: 'failed', exitCode: ExitCode.refused, durationMs: 0 });
        await save();
        live?.changed();
        emitWave({ event: 'link-finished', link: link.name, exitCode: ExitCode.refused, meaning: exitCodeMeaning(ExitCode.refused), refused: line });
        return ExitCode.refused;
      }
      const resumeRun = entry.runId !== undefined && existsSync(join(journalDirOf(io), `${entry.runId}.jsonl`)) ? entry.runId : undefined;
      const runId = resumeRun ?? unusedRunId(record, newRunId);
      Object.assign(entry, { runId, state: 'running' as const });
      delete entry.exitCode;
      delete entry.changed;
      delete entry.attention;
      Object.assign(row, { state: 'running', runId, startedAt: Date.now() });
      await save();
      emitWave({ event: 'link-started', link: link.name, runId, resumed: resumeRun !== undefined });
      live?.changed();
      const code = await runLink(link, { runId, resume: resumeRun, acknowledged: acknowledged.has(link.name), ...(answer ? { answered: { at: answer.at, via: `the one confirmation of wave ${record.waveId}`, covers: (q: RunQuestion) => answer.covers(link.name, q) } } : {}), reporter: linkReporter(row, opts.format, io.stdout, style, live), lockSessions, stepSessions, armShared, ...(live ? { note: (line: string) => live.note(line) } : {}) }, opts, wave, io, argv);
      Object.assign(entry, { state: code === ExitCode.done ? 'done' : 'failed', exitCode: code }, saved(row));
      Object.assign(row, { state: entry.state, exitCode: code, durationMs: row.durationMs ?? Date.now() - row.startedAt! });
      await save();
      live?.changed();
      emitWave({ event: 'link-finished', link: link.name, runId, exitCode: code, meaning: exitCodeMeaning(code) });
      return code;
    });
    for (const name of result.notStarted) {
      const entry = record.links.find((r) => r.name === name)!;
      if (entry.state !== 'done') entry.state = 'not started';
      progress.get(name)!.state = entry.state;
    }
    const exitCode = worstExitCode(record.links.map((l) => l.exitCode ?? ExitCode.done));
    record.finished = { exitCode, ...(result.stoppedBy ? { stoppedBy: result.stoppedBy } : {}) };
    await save();
    live?.finish();
    const summary = { waveId: record.waveId, record: waveFile(waveDir, record.waveId), links: rows, exitCode, durationMs: Date.now() - started, ...(result.stoppedBy ? { stoppedBy: result.stoppedBy } : {}), ...(maxFailures !== undefined ? { maxFailures } : {}) };
    if (opts.format === 'json') emitWave({ event: 'wave-finished', exitCode, meaning: exitCodeMeaning(exitCode), ...(result.stoppedBy ? { stoppedBy: result.stoppedBy } : {}), totals: waveTotals(rows), links: rows.map(({ name, state, runId, exitCode: c, changed, attention }) => ({ link: name, state, ...(runId ? { runId } : {}), ...(c !== undefined ? { exitCode: c } : {}), ...(changed ? { changed } : {}), ...(attention?.length ? { attention } : {}) })) });
    else io.stdout.write(renderWaveSummary(summary, style));
    return exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.all([lockSessions.close(), stepSessions.close()]);
  }
}

/** One link's run: the single-link apply, confirmed by the wave, its errors said on its own line. */
async function runLink(
  link: PlannedLink,
  run: { runId: string; resume: string | undefined; acknowledged: boolean; answered?: ApplyCommandOptions['answeredBefore']; reporter: Reporter; lockSessions: LockSessions; stepSessions: ServerSessions; armShared: ArmShared; note?: (line: string) => void },
  opts: WaveApplyOptions,
  wave: Wave,
  io: CommandIO,
  argv: string[],
): Promise<number> {
  // On a terminal the rows own the screen: what a link says on standard error waits under them.
  const sink = run.note ? lineSink(run.note) : io.stderr;
  const stderr = prefixedStream(sink, `[${link.name}] `);
  const linkIo: CommandIO = { ...io, stderr, stdout: run.note ? lineSink(run.note) : prefixedStream(io.stdout, `[${link.name}] `) };
  const applyOptions: ApplyCommandOptions = {
    target: run.resume ? '' : wave.loaded.runbook.file,
    // A new run runs the runbook text the wave loaded and its operator confirmed, not the file read again.
    ...(run.resume ? {} : { loaded: wave.loaded }),
    inventory: link.file,
    // A resumed run takes its inputs from its journal (secret ones given again); a new run the wave's.
    sets: run.resume ? opts.sets : wave.sets,
    // The wave's --yes, or the operator's one answer to the wave's listing (never a --yes they did not type).
    yes: run.answered === undefined,
    ...(run.answered ? { answeredBefore: run.answered } : {}),
    format: opts.format,
    reporter: run.reporter,
    lockSessions: run.lockSessions,
    stepSessions: run.stepSessions,
    armShared: run.armShared,
    flushOffThread: true,
    ...(run.resume ? { resume: run.resume } : { runId: run.runId }),
    ...(run.acknowledged ? { allowDataLoss: link.name } : {}),
    ...(opts.outcomeDeadlineMs !== undefined ? { outcomeDeadlineMs: opts.outcomeDeadlineMs } : {}),
  };
  try {
    return await applyCommand(applyOptions, linkIo, argv);
  } catch (error) {
    // Diagnostics as text on the link's error lines: its standard output may carry JSON events.
    return await reportCommandError(error, linkIo, { format: 'text' });
  } finally {
    stderr.end();
  }
}

/** A link's row as its record left it: a link not run now still shows what its run changed and said to act on. */
function rowOf(r: WaveLinkRecord): LinkProgress {
  return {
    name: r.name, state: r.state, ...(r.runId ? { runId: r.runId } : {}), ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
    ...(r.changed ? { changed: r.changed } : {}), ...(r.attention?.length ? { attention: r.attention } : {}),
  };
}

/** What the record keeps of a finished link's row (a line a server worded must not make the record unreadable). */
function saved(row: LinkProgress): Pick<WaveLinkRecord, 'changed' | 'attention'> {
  const lines = (l: string[]) => l.map(recordLine);
  return { ...(row.changed ? { changed: lines(row.changed) } : {}), ...(row.attention?.length ? { attention: lines(row.attention) } : {}) };
}

function ciSet(env: NodeJS.ProcessEnv): boolean {
  return env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
}
