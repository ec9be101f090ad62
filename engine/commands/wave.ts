// `runbook plan|apply <runbook> -i fleet.yml --links a,b | --all`: a wave. Each link is its own run
// of the single-link apply (engine/commands/apply.ts: own run id, lock, journal, guards, exit
// code), on the single-link inventory the wave writes for it from the fleet's. The wave asks once
// (the listing names every link's changes), checks every data-loss acknowledgement before any link
// starts, schedules the runs (engine/fleet/schedule.ts), records itself (engine/fleet/record.ts)
// and ends with a table per link and the worst link's exit code. `apply --resume <wave-id>` runs
// the links that did not finish: a link with a run resumes that run, one never started starts.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { FleetInventory } from '../core/types.js';
import type { Plan } from '../plan/types.js';
import { buildPlan, sha256 } from '../plan/build.js';
import { ExitError, UsageError } from '../core/errors.js';
import { ExitCode, exitCodeMeaning } from '../core/exit-codes.js';
import { hasErrors } from '../core/diagnostics.js';
import { readRegularFile } from '../load/bounded-file.js';
import { MAX_FILE_BYTES } from '../load/yaml.js';
import { validateInventory } from '../validate/runbook.js';
import { newRunId, runIdentity } from '../apply/journal/write.js';
import { abbreviate, parseLinkList, selectLinks, type FleetLink, type LinkSelection } from '../fleet/expand.js';
import { scheduleWave, worstExitCode } from '../fleet/schedule.js';
import { newWaveId, readWaveRecord, waveDirOf, waveFile, writeWaveRecord, type WaveLinkRecord, type WaveRecord } from '../fleet/record.js';
import type { Reporter } from '../apply/events.js';
import type { LockSessions } from '../drivers/sql/lock-sessions.js';
import { renderPlanText } from '../ui/plan-text.js';
import { colorWanted, makeStyle, type Style } from '../ui/style.js';
import { ttyConfirm } from '../ui/prompt.js';
import type { LinkProgress } from '../ui/wave/progress.js';
import { LinkJsonReporter, LinkPlainReporter, LinkRowReporter, prefixedStream } from '../ui/wave/reporters.js';
import { LiveWaveView } from '../ui/wave/live.js';
import { Writable } from 'node:stream';
import { renderWaveSummary, waveTotals } from '../ui/wave/summary.js';
import { InvalidInput, loadRunbook, resolveInputsOrThrow, type LoadedRunbook } from './prepare.js';
import { applyCommand, type ApplyCommandOptions } from './apply.js';
import { reportCommandError } from './report-error.js';
import { isTty, type CommandIO } from './io.js';

export interface WaveFlags {
  /** `--links a,b` (as given) or `--all`. */
  links?: string;
  all?: boolean;
  parallel?: string;
  canary?: string;
  maxFailures?: string;
  /** `--allow-data-loss-all-of <fleet inventory>`. */
  allowDataLossAllOf?: string;
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
  links: Array<FleetLink & { plan: Plan; file: string }>;
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
    const file = linkDir ? join(linkDir, `${String(link.position).padStart(3, '0')}-${link.name.replace(/[^A-Za-z0-9_.-]/g, '_')}.yml`) : fleetFile;
    const plan = buildPlan({ runbook: loaded.runbook, source: loaded.source, inventory: link.inventory, inventorySource: { file }, inputs, steps: loaded.steps });
    return { ...link, plan, file };
  });
  return { loaded, inputs, sets, fleetFile: resolve(fleetFile), fleetSha: sha256(read.text), links: planned };
}

/** A link's inventory file as the wave writes it: a pure function of the (sha256-checked) fleet inventory. */
function linkInventoryText(wave: Pick<Wave, 'fleetFile'>, link: Pick<FleetLink, 'name' | 'inventory'>): string {
  return `# Link ${link.name} of ${wave.fleetFile}, written by a runbook wave; do not edit (its run checks it is unchanged).\n${JSON.stringify(link.inventory, null, 2)}\n`;
}

function writeLinkInventory(wave: Pick<Wave, 'fleetFile'>, link: Wave['links'][number]): void {
  mkdirSync(dirname(link.file), { recursive: true });
  writeFileSync(link.file, linkInventoryText(wave, link), { mode: 0o600 });
}

/**
 * On resume, each unfinished link runs on the inventory file the wave wrote for it: matched by
 * name, at the path the wave derives (not one the record points elsewhere), with the text the
 * checked fleet gives (and the sha256 the record kept). A missing file is written again, as it
 * was; a changed one refuses the resume.
 */
function linkInventoryProblems(wave: Wave, record: WaveRecord): string[] {
  const problems: string[] = [];
  for (const link of wave.links) {
    const entry = record.links.find((r) => r.name === link.name);
    if (!entry) {
      problems.push(`link ${link.name} has no entry in the record`);
      continue;
    }
    if (entry.state === 'done') continue;
    const expected = linkInventoryText(wave, link);
    if (entry.inventory !== link.file) {
      problems.push(`link ${link.name}: the record names ${entry.inventory} as its inventory, but the wave wrote ${link.file}`);
      continue;
    }
    if (entry.inventorySha256 !== undefined && entry.inventorySha256 !== sha256(expected)) {
      problems.push(`link ${link.name}: the fleet now gives it another inventory than the one the wave wrote (sha256 ${entry.inventorySha256.slice(0, 12)} -> ${sha256(expected).slice(0, 12)})`);
      continue;
    }
    if (!existsSync(link.file)) {
      writeLinkInventory(wave, link);
      continue;
    }
    const read = readRegularFile(link.file, MAX_FILE_BYTES);
    if ('problem' in read) problems.push(`link ${link.name}: ${link.file} ${read.problem}`);
    else if (read.text !== expected) problems.push(`link ${link.name}: its inventory ${link.file} changed since the wave wrote it (sha256 ${sha256(expected).slice(0, 12)} -> ${sha256(read.text).slice(0, 12)})`);
  }
  return problems;
}

/** Many links reading one standard input would each need a line: a wave takes passwords from the environment. */
function refuseStdinPasswords(fleet: FleetInventory): void {
  const servers = [...Object.entries(fleet.sqlServers), ...Object.entries(fleet.managedInstances)];
  const stdin = servers.filter(([, s]) => s.connection.passwordStdin).map(([k]) => k);
  if (stdin.length) throw new UsageError(`a wave reads passwords from the environment only; ${stdin.join(', ')} set passwordStdin (use passwordEnv)`);
}

const changeSteps = (plan: Plan) => plan.steps.filter((s) => s.impact !== 'read' && s.decision !== 'skip');
const dataLossSteps = (plan: Plan) => plan.steps.filter((s) => s.impact === 'dataLoss' && s.decision !== 'skip');

/**
 * Every link whose plan can lose data must be named in --allow-data-loss (or the whole fleet
 * acknowledged with --allow-data-loss-all-of <the fleet inventory>): checked for all of them
 * before any link starts. A name that is not a link of the wave is a typo, never ignored.
 */
function acknowledgedLinks(wave: Wave, opts: Pick<WaveApplyOptions, 'allowDataLoss' | 'allowDataLossAllOf'>, cwd: string): Set<string> {
  const named = new Set<string>();
  if (opts.allowDataLossAllOf !== undefined) {
    if (resolve(cwd, opts.allowDataLossAllOf) !== wave.fleetFile) {
      throw new UsageError(`--allow-data-loss-all-of names ${opts.allowDataLossAllOf}, but the wave's inventory is ${wave.fleetFile}: it acknowledges the links of the inventory the wave runs on, spelled out`);
    }
    for (const l of wave.links) named.add(l.name);
  }
  if (opts.allowDataLoss !== undefined) {
    const { names, problems } = parseLinkList(opts.allowDataLoss);
    const unknown = names.filter((n) => !wave.links.some((l) => l.name === n));
    if (problems.length || unknown.length) throw new UsageError(`--allow-data-loss: ${[...problems, ...unknown.map((n) => `${n} is not a link of this wave`)].join('; ')}`);
    for (const n of names) named.add(n);
  }
  const missing = wave.links.filter((l) => dataLossSteps(l.plan).length && !named.has(l.name));
  if (missing.length) {
    const which = missing.map((l) => `${l.name} (${dataLossSteps(l.plan).map((s) => s.id).join(', ')})`).join('; ');
    throw new ExitError(ExitCode.refused, `refusing the wave: ${missing.length} link(s) have steps that can lose data: ${which}. Nothing was run. Name each with --allow-data-loss ${missing.map((l) => l.name).join(',')} or acknowledge the whole fleet with --allow-data-loss-all-of ${wave.fleetFile} (--yes implies neither).`);
  }
  return named;
}

/** What the one confirmation shows: each link, where it runs, and the steps that change it. */
export function waveListing(wave: Pick<Wave, 'links'>, runbookName: string): string {
  const lines = [`The wave runs ${runbookName} on ${wave.links.length} link(s):`];
  for (const l of wave.links) {
    const link = l.inventory.link;
    const changes = changeSteps(l.plan).map((s) => `${s.id}${s.impact === 'dataLoss' ? ' [DATA LOSS]' : ''}${s.decision === 'decided at run time' ? ' (if)' : ''}`);
    lines.push(`  ${l.name}: ${link.database} on ${link.sqlServer.name} <-> ${link.managedInstance.name}; ${l.plan.steps.length} steps, changes: ${changes.join(', ') || 'none'}`);
  }
  return lines.join('\n') + '\n';
}

/** `plan <runbook> -i fleet.yml --links|--all`: every link's plan, one after the other; connects to nothing. */
export async function wavePlanCommand(opts: { runbook: string; inventory: string; sets: string[]; format: 'text' | 'json'; flags: WaveFlags }, io: CommandIO): Promise<number> {
  const wave = await prepareWave(opts.runbook, opts.inventory, linkSelection(opts.flags), opts.sets, undefined);
  if (opts.format === 'json') {
    io.stdout.write(JSON.stringify({ links: wave.links.map((l) => ({ link: l.name, plan: l.plan })) }, null, 2) + '\n');
    return ExitCode.done;
  }
  const style = makeStyle(colorWanted(io.stdout, io.env));
  io.stdout.write(waveListing(wave, wave.loaded.runbook.name));
  wave.links.forEach((l, i) => {
    io.stdout.write(`\n${style.bold(`== Link ${l.name} (${i + 1} of ${wave.links.length}) ==`)}\n`);
    io.stdout.write(renderPlanText(l.plan, style));
  });
  return ExitCode.done;
}

export async function waveApplyCommand(opts: WaveApplyOptions, io: CommandIO, argv: string[]): Promise<number> {
  const waveDir = waveDirOf(io.env, io.cwd, (p) => resolve(io.cwd, p));
  let record: WaveRecord;
  let wave: Wave;
  if (opts.resume !== undefined) {
    const read = readWaveRecord(waveDir, opts.resume);
    if ('problem' in read) throw new UsageError(`apply --resume: ${read.problem}`);
    record = read;
    if (opts.links !== undefined || opts.all) throw new UsageError('apply --resume <wave-id>: the wave\'s links are its record\'s; --links and --all cannot change them');
    wave = await prepareWave(record.runbook.file, record.inventory.file, { names: record.links.map((l) => l.name) }, [...record.sets, ...opts.sets], join(waveDir, record.waveId));
    const changed = [
      ...(wave.fleetSha !== record.inventory.sha256 ? [`the fleet inventory ${record.inventory.file} changed (sha256 ${record.inventory.sha256.slice(0, 12)} -> ${wave.fleetSha.slice(0, 12)})`] : []),
      ...(wave.links[0]!.plan.runbook.sha256 !== record.runbook.sha256 ? [`the runbook ${record.runbook.file} changed`] : []),
    ];
    if (!changed.length) changed.push(...linkInventoryProblems(wave, record), ...lostJournals(record, journalDirOf(io)));
    if (changed.length) throw new ExitError(ExitCode.refused, `refusing to resume wave ${record.waveId}: ${changed.join('; ')}. Nothing was run.`);
  } else {
    if (opts.inventory === undefined) throw new UsageError('apply: a wave needs -i <fleet inventory>');
    const waveId = newWaveId();
    wave = await prepareWave(opts.target, opts.inventory, linkSelection(opts), opts.sets, join(waveDir, waveId));
    const secret = (arg: string) => (wave.loaded.runbook.inputs?.[arg.split('=')[0]!] as { secret?: boolean } | undefined)?.secret === true;
    const { user, host } = runIdentity();
    const now = new Date().toISOString();
    record = {
      kind: 'runbook-wave', version: 1, waveId, started: now, updated: now, user, host,
      runbook: { file: resolve(io.cwd, opts.target), sha256: wave.links[0]!.plan.runbook.sha256 },
      inventory: { file: wave.fleetFile, sha256: wave.fleetSha },
      sets: opts.sets.filter((s) => !secret(s)),
      options: { parallel: 1, canary: 0, allowDataLoss: [] },
      links: wave.links.map((l): WaveLinkRecord => ({ name: l.name, inventory: l.file, inventorySha256: sha256(linkInventoryText(wave, l)), state: 'pending' })),
    };
  }
  const parallel = wholeNumber('parallel', opts.parallel, 1, record.options.parallel)!;
  const canary = wholeNumber('canary', opts.canary, 0, record.options.canary)!;
  const maxFailures = wholeNumber('max-failures', opts.maxFailures, 1, record.options.maxFailures);
  const acknowledged = acknowledgedLinks(wave, opts, io.cwd);
  record.options = { parallel, canary, ...(maxFailures !== undefined ? { maxFailures } : {}), allowDataLoss: [...acknowledged] };

  const todo = wave.links.filter((l) => record.links.find((r) => r.name === l.name)?.state !== 'done');
  const style = makeStyle(colorWanted(io.stdout, io.env));
  await confirmWave({ ...wave, links: todo }, wave.loaded.runbook.name, opts, io);
  if (opts.resume === undefined) for (const link of wave.links) writeLinkInventory(wave, link);
  writeWaveRecord(waveDir, record);

  const progress = new Map<string, LinkProgress>(record.links.map((r) => [r.name, { name: r.name, state: r.state, ...(r.runId ? { runId: r.runId } : {}), ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}) }]));
  const save = () => writeWaveRecord(waveDir, record);
  const emitWave = (event: Record<string, unknown>) => {
    if (opts.format === 'json') io.stdout.write(JSON.stringify({ ...event, waveId: record.waveId }) + '\n');
  };
  const rows = record.links.map((r) => progress.get(r.name)!);
  const live = liveView(rows, opts, io, style);
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
        save();
        live?.changed();
        emitWave({ event: 'link-finished', link: link.name, exitCode: ExitCode.refused, meaning: exitCodeMeaning(ExitCode.refused), refused: line });
        return ExitCode.refused;
      }
      const resumeRun = entry.runId !== undefined && existsSync(join(journalDirOf(io), `${entry.runId}.jsonl`)) ? entry.runId : undefined;
      const runId = resumeRun ?? newRunId();
      Object.assign(entry, { runId, state: 'running' as const });
      delete entry.exitCode;
      Object.assign(row, { state: 'running', runId, startedAt: Date.now() });
      save();
      emitWave({ event: 'link-started', link: link.name, runId, resumed: resumeRun !== undefined });
      live?.changed();
      const code = await runLink(link, { runId, resume: resumeRun, acknowledged: acknowledged.has(link.name), reporter: reporterFor(row, opts, io, style, live), lockSessions, ...(live ? { note: (line: string) => live.note(line) } : {}) }, opts, wave, io, argv);
      Object.assign(entry, { state: code === ExitCode.done ? 'done' : 'failed', exitCode: code });
      Object.assign(row, { state: entry.state, exitCode: code, durationMs: row.durationMs ?? Date.now() - row.startedAt! });
      save();
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
    save();
    live?.finish();
    const summary = { waveId: record.waveId, record: waveFile(waveDir, record.waveId), links: rows, exitCode, durationMs: Date.now() - started, ...(result.stoppedBy ? { stoppedBy: result.stoppedBy } : {}) };
    if (opts.format === 'json') emitWave({ event: 'wave-finished', exitCode, meaning: exitCodeMeaning(exitCode), ...(result.stoppedBy ? { stoppedBy: result.stoppedBy } : {}), totals: waveTotals(rows), links: rows.map(({ name, state, runId, exitCode: c, changed }) => ({ link: name, state, ...(runId ? { runId } : {}), ...(c !== undefined ? { exitCode: c } : {}), ...(changed ? { changed } : {}) })) });
    else io.stdout.write(renderWaveSummary(summary, style));
    return exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await lockSessions.close();
  }
}

/** How the runbook file now differs from the one the wave was confirmed on, if it does. */
function runbookChange(record: WaveRecord): string | undefined {
  const read = readRegularFile(record.runbook.file, MAX_FILE_BYTES);
  if ('problem' in read) return `the runbook ${record.runbook.file} can no longer be read (${read.problem})`;
  const now = sha256(read.text);
  return now === record.runbook.sha256 ? undefined : `the runbook ${record.runbook.file} changed (sha256 ${record.runbook.sha256.slice(0, 12)} -> ${now.slice(0, 12)})`;
}

/**
 * A link the record says started (a run id) resumes that run from its journal: a journal not found
 * is refused, as a single-link resume is, never taken for "not started". The one exception is a run
 * killed before its journal existed: its lock file alone is left, and nothing was sent.
 */
function lostJournals(record: WaveRecord, journalDir: string): string[] {
  return record.links
    .filter((l) => l.state !== 'done' && l.runId !== undefined && !existsSync(join(journalDir, `${l.runId}.jsonl`)) && !existsSync(join(journalDir, `${l.runId}.lock`)))
    .map((l) => `link ${l.name}: its run ${l.runId} has no journal in ${journalDir} (${l.runId}.jsonl); a run the record says started is resumed from its journal, never started afresh (resume from the directory the wave ran in, or with its RUNBOOK_JOURNAL_DIR)`);
}

function journalDirOf(io: CommandIO): string {
  return io.env.RUNBOOK_JOURNAL_DIR ? resolve(io.cwd, io.env.RUNBOOK_JOURNAL_DIR) : join(io.cwd, '.runbook', 'runs');
}

async function confirmWave(wave: Pick<Wave, 'links'>, runbookName: string, opts: Pick<WaveApplyOptions, 'yes' | 'format'>, io: CommandIO): Promise<void> {
  const changing = wave.links.filter((l) => changeSteps(l.plan).length);
  if (opts.yes || changing.length === 0) return;
  const confirm = ttyConfirm(io.stdin, io.stderr);
  if (!confirm) {
    throw new ExitError(ExitCode.refused, `refusing the wave: ${changing.length} link(s) would be changed (${abbreviate(changing.map((l) => l.name))}) and there is no terminal to confirm on. Nothing was run. Review \`runbook plan\` and pass --yes.`);
  }
  io.stderr.write(waveListing(wave, runbookName));
  if (!(await confirm(`Apply to these ${wave.links.length} link(s)?`))) throw new ExitError(ExitCode.refused, 'the wave was not confirmed. Nothing was run.');
}

/**
 * On a terminal (not CI, wide enough) the rows are redrawn in place; otherwise plain lines, each
 * prefixed with its link, and JSON lines carry the link.
 */
function liveView(rows: LinkProgress[], opts: Pick<WaveApplyOptions, 'format'>, io: CommandIO, style: Style): LiveWaveView | undefined {
  if (opts.format === 'json' || !isTty(io.stdout) || ciSet(io.env)) return undefined;
  const columns = (io.stdout as { columns?: number }).columns ?? 0;
  return columns >= 40 ? new LiveWaveView(io.stdout, rows, style, columns) : undefined;
}

function ciSet(env: NodeJS.ProcessEnv): boolean {
  return env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
}

function reporterFor(row: LinkProgress, opts: Pick<WaveApplyOptions, 'format'>, io: CommandIO, style: Style, live: LiveWaveView | undefined): Reporter {
  if (opts.format === 'json') return new LinkJsonReporter(row, io.stdout);
  if (live) return new LinkRowReporter(row, () => live.changed());
  return new LinkPlainReporter(row, prefixedStream(io.stdout, `[${row.name}] `), style);
}

/** One link's run: the single-link apply, confirmed by the wave, its errors said on its own line. */
async function runLink(
  link: Wave['links'][number],
  run: { runId: string; resume: string | undefined; acknowledged: boolean; reporter: Reporter; lockSessions: LockSessions; note?: (line: string) => void },
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
    yes: true,
    format: opts.format,
    reporter: run.reporter,
    lockSessions: run.lockSessions,
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

function lineSink(note: (line: string) => void): NodeJS.WritableStream {
  let partial = '';
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) note(l);
      done();
    },
  });
}


