// `runbook runs prune`: removes old journals. Never one whose run is running or whose run lock is
// held (a resume in progress): each journal is removed only while this command holds that run's
// lock itself (engine/apply/journal/run-lock.ts), so no run or resume can start on it meanwhile.
// A damaged journal is kept: what its run did is not known, and a person should look at it first.
import { existsSync, statSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { ExitError, UsageError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { journalPath, listRuns, runInfo, type RunInfo } from '../apply/journal/runs.js';
import { readJournal } from '../apply/journal/read.js';
import { takeRunLock } from '../apply/journal/run-lock.js';
import { journalDirOf } from './runs.js';
import type { CommandIO } from './io.js';

export interface RunsPruneOptions {
  /** Remove runs that ended longer ago than this (`30d`, `12h`, `1d12h`). */
  olderThan?: string;
  /** Keep the newest N runs whatever their age. */
  keep?: string;
  dryRun: boolean;
}

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;

/** An age such as `30d`, `12h`, `1d12h`, `90m`: days are allowed here, unlike in runbook durations. */
export function parseAge(text: string): number {
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  if (!m || text.trim() === '') throw new UsageError(`runs prune: --older-than must be an age such as 30d, 12h or 1d12h, not "${text}"`);
  return (['d', 'h', 'm', 's'] as const).reduce((sum, unit, i) => sum + Number(m[i + 1] ?? 0) * UNIT_MS[unit], 0);
}

/** When the run last wrote to its journal: its file's modification time. */
function lastWritten(run: RunInfo): number {
  try {
    return statSync(run.journal).mtimeMs;
  } catch {
    return Date.parse(run.started) || 0;
  }
}

export async function runsPruneCommand(opts: RunsPruneOptions, io: CommandIO): Promise<number> {
  if (opts.olderThan === undefined && opts.keep === undefined) {
    throw new UsageError('runs prune: say what to remove: --older-than <age> (e.g. 30d), --keep <N newest>, or both');
  }
  const olderThanMs = opts.olderThan !== undefined ? parseAge(opts.olderThan) : undefined;
  let keep: number | undefined;
  if (opts.keep !== undefined) {
    if (!/^\d+$/.test(opts.keep)) throw new UsageError(`runs prune: --keep must be a whole number, not "${opts.keep}"`);
    keep = Number(opts.keep);
  }
  const dir = journalDirOf(io);
  const here = hostname();
  const now = Date.now();
  // Newest first: run ids sort by their start time.
  const runs = listRuns(dir, here).sort((a, b) => (a.runId < b.runId ? 1 : -1));
  const out: string[] = [];
  let removed = 0;
  runs.forEach((run, position) => {
    if (keep !== undefined && position < keep) return;
    if (olderThanMs !== undefined && now - lastWritten(run) < olderThanMs) return;
    if (run.state === 'damaged') return void out.push(`kept ${run.runId}: its journal is damaged (${run.damage ?? 'unreadable'}); look at it first`);
    if (run.state === 'running') return void out.push(`kept ${run.runId}: it is running (pid ${run.pid} on ${run.host})`);
    if (opts.dryRun) {
      out.push(`would remove ${run.runId} (${run.runbook}, ${run.state}, started ${run.started})`);
      return;
    }
    let lock;
    try {
      lock = takeRunLock(dir, run.runId, 'prune');
    } catch (error) {
      if (error instanceof ExitError) return void out.push(`kept ${run.runId}: its run lock is held (${error.message.replace(/^refusing to prune run \S+: /, '')})`);
      throw error;
    }
    try {
      // Read again under the lock: a resume may have started since the listing.
      const path = journalPath(dir, run.runId);
      const now = existsSync(path) ? runInfo(path, readJournal(path, run.runId).records, here) : undefined;
      if (now?.state === 'running') return void out.push(`kept ${run.runId}: it is running`);
      if (existsSync(path)) unlinkSync(path);
      removed++;
      out.push(`removed ${run.runId} (${run.runbook}, ${run.state}, started ${run.started})`);
    } catch (error) {
      out.push(`kept ${run.runId}: ${(error as Error).message.split('\n')[0]}`);
    } finally {
      lock.release();
    }
  });
  out.push(opts.dryRun ? `${out.filter((l) => l.startsWith('would')).length} run(s) would be removed from ${dir}.` : `${removed} run(s) removed from ${dir}.`);
  io.stdout.write(out.join('\n') + '\n');
  return ExitCode.done;
}
