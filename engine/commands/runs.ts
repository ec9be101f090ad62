// `runbook runs`: the runs in the journal directory with their state, and what `apply --resume`
// needs from a run's journal (which runbook, inventory and inputs it used; each step's state).
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { ExitError, UsageError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { defaultJournalDir } from '../apply/journal/write.js';
import { SECRET_PLACEHOLDER } from '../plan/build.js';
import { journalPath, lastLinkState, listRuns, runInfo, lockLossVerdict, stepStates, type Recorded, type StepState } from '../apply/journal/runs.js';
import { splitBrainNotice } from '../apply/split-brain.js';
import { JournalDamage, readJournal, type ReadJournal } from '../apply/journal/read.js';
import { takeRunLock, type RunLock } from '../apply/journal/run-lock.js';
import type { CommandIO } from './io.js';

export function journalDirOf(io: CommandIO): string {
  return io.env.RUNBOOK_JOURNAL_DIR ? resolve(io.cwd, io.env.RUNBOOK_JOURNAL_DIR) : defaultJournalDir(io.cwd);
}

export async function runsCommand(opts: { format: 'text' | 'json' }, io: CommandIO): Promise<number> {
  const runs = listRuns(journalDirOf(io), hostname());
  if (opts.format === 'json') {
    io.stdout.write(JSON.stringify(runs, null, 2) + '\n');
    return ExitCode.done;
  }
  if (runs.length === 0) {
    io.stdout.write(`No runs in ${journalDirOf(io)}.\n`);
    return ExitCode.done;
  }
  const rows = runs.map((r) => [
    r.runId,
    r.runbook,
    r.link,
    r.started.replace(/\.\d+Z$/, 'Z'),
    r.state + (r.exitCode !== undefined && r.state === 'failed' ? ` (exit ${r.exitCode})` : ''),
    r.damage ?? (r.lastStep ? `${r.lastStep.id} ${r.lastStep.status}` : '-'),
  ]);
  const head = ['RUN', 'RUNBOOK', 'LINK', 'STARTED', 'STATE', 'LAST STEP (OR THE DAMAGE)'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  io.stdout.write([line(head), ...rows.map(line)].join('\n') + '\n');
  return ExitCode.done;
}

export interface ResumeSource {
  runId: string;
  started: Extract<Recorded, { kind: 'run-started' }>;
  states: Map<string, StepState>;
  /** The journal as read (checked), and the run lock held from before it was read until the resume ends. */
  journal: ReadJournal;
  runLock: RunLock;
  /** The runbook file to load (the one given, or the journal's). */
  target: string;
  inventory: string;
  sets: string[];
}

/**
 * Takes run `runId`'s lock, reads its journal and decides what to load for the resume; refuses runs
 * that cannot be resumed (releasing the lock). The caller releases the lock when the resume ends.
 */
export function resumeSource(
  runId: string,
  given: { target?: string; inventory?: string; lab?: unknown; sets: string[] },
  io: CommandIO,
): ResumeSource {
  if (!/^[A-Za-z0-9-]+$/.test(runId)) throw new UsageError(`apply --resume: "${runId}" is not a run id (see runbook runs)`);
  const path = journalPath(journalDirOf(io), runId);
  if (!existsSync(path)) throw new UsageError(`apply --resume: no journal for run ${runId} in ${journalDirOf(io)} (see runbook runs)`);
  // Before reading: what is read must be what this resume appends to, with no one else writing.
  const runLock = takeRunLock(journalDirOf(io), runId, 'resume');
  try {
    return { ...resumeFromJournal(runId, path, given), runLock };
  } catch (error) {
    runLock.release();
    throw error;
  }
}

function resumeFromJournal(runId: string, path: string, given: { target?: string; inventory?: string; lab?: unknown; sets: string[] }): Omit<ResumeSource, 'runLock'> {
  let journal: ReadJournal;
  try {
    journal = readJournal(path, runId);
  } catch (error) {
    if (error instanceof JournalDamage) throw damagedJournal(runId, error);
    throw error;
  }
  const records = journal.records;
  const info = runInfo(path, records, hostname());
  const started = records.find((r): r is Extract<Recorded, { kind: 'run-started' }> => r.kind === 'run-started');
  if (!started || !info) throw new UsageError(`apply --resume: the journal of run ${runId} has no start record`);
  if (info.state === 'succeeded') {
    // A run killed after its end record but before its summary printed never said a split-brain
    // it left (its journal's last reading of the link): the refusal says it instead.
    const last = lastLinkState(records);
    const split = last ? splitBrainNotice(started.link, last.state) : undefined;
    throw new ExitError(ExitCode.refused, `refusing to resume run ${runId}: it already succeeded; there is nothing left to do.${split ? `\nAs its journal last read the link: ${split}` : ''}`);
  }
  if (info.state === 'running') {
    throw new ExitError(ExitCode.refused, `refusing to resume run ${runId}: it is still running (pid ${info.pid} on ${info.host}). Stop it first, or wait for it to end.`);
  }
  const acted = lockLossVerdict(records);
  if (acted) {
    throw new ExitError(
      ExitCode.refused,
      `refusing to resume run ${runId}: ${acted}. What it read and did before no longer describes the link, so nothing was run; check the link's roles and who is driving it, then start a new run.`,
    );
  }
  if (given.lab !== undefined || started.inventory?.lab) {
    throw new ExitError(ExitCode.refused, `refusing to resume run ${runId}: it ran against an embedded lab (--lab), which ended with it; start a new run.`);
  }
  const inventory = given.inventory ?? started.inventory?.file;
  if (!inventory) throw new UsageError(`apply --resume: the journal of run ${runId} does not say which inventory it used; pass -i <inventory.yml>`);
  const target = given.target ?? started.runbookPath ?? started.runbook.file;
  // The journal holds secret inputs only as a placeholder: they must be given again, never sent as "(secret)".
  const givenNames = new Set(given.sets.map((s) => s.slice(0, Math.max(0, s.indexOf('=')))));
  const secrets = Object.entries(started.inputs).filter(([, v]) => v === SECRET_PLACEHOLDER).map(([k]) => k);
  const missing = secrets.filter((name) => !givenNames.has(name));
  if (missing.length) {
    throw new UsageError(
      `apply --resume: run ${runId} used secret input${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which the journal does not keep; ` +
        `pass ${missing.map((n) => `--set ${n}=<the same value>`).join(' ')} again`,
    );
  }
  // The run's other inputs come from the journal; a --set given now overrides (and a changed value is refused later).
  const fromJournal = Object.entries(started.inputs)
    .filter(([k, v]) => v !== SECRET_PLACEHOLDER && !givenNames.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const sets = [...fromJournal, ...given.sets];
  return { runId, started, states: stepStates(records), journal, target, inventory, sets };
}

/** A damaged journal cannot say what ran: the resume refuses (exit 3), naming the line. */
export function damagedJournal(runId: string, damage: JournalDamage): ExitError {
  return new ExitError(
    ExitCode.refused,
    `${damage.message}. Refusing to resume run ${runId}: its journal is damaged there, so it cannot tell what ran; nothing was run. ` +
      `Check the link's state by hand (roles, the link in Azure) and start a new run.`,
  );
}
