// The run lock: one process at a time writes a run's journal. A run takes it before it creates
// its journal, a resume before it reads the journal, and both hold it to the end. It is a file
// next to the journal, `<run-id>.lock`, naming the holder (pid, host, user, since). It appears
// whole or not at all: the holder is written to a file of its own, then hard-linked to the lock's
// name, which fails if the name exists (as O_EXCL does, without a window where the lock is empty).
// A crash leaves the file behind. A lock left by a process that is gone on this host is taken over;
// one from another host, or from a pid that is running (perhaps reused), is not: the refusal names
// the holder and the file to remove. Taking over happens under a second file (`.takeover`),
// taken the same way, so two processes never both remove a stale lock and both believe they
// replaced it.
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ExitError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import { currentUser, processAlive } from './owner.js';

export interface RunLockHolder {
  runId: string;
  pid: number;
  host: string;
  user: string;
  since: string;
}

export interface RunLock {
  readonly path: string;
  /** Removes the lock if it is still this process's. Safe to call more than once. */
  release(): void;
}

export function runLockPath(dir: string, runId: string): string {
  return join(dir, `${runId}.lock`);
}

function readHolder(path: string): { text: string; holder?: RunLockHolder } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const h = JSON.parse(text) as Partial<RunLockHolder>;
    if (typeof h.pid === 'number' && typeof h.host === 'string') return { text, holder: h as RunLockHolder };
  } catch {
    // Not ours, or edited: it names no holder that could be checked.
  }
  return { text };
}

/** Puts `text` at `path` only if nothing is there; false when something is. */
function createWhole(path: string, text: string): boolean {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, text, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temp);
  }
}

function describe(h: RunLockHolder | undefined): string {
  return h ? `pid ${h.pid} on host ${h.host} (user ${h.user ?? '?'}, since ${h.since ?? '?'})` : 'a lock file that names no holder';
}

/** What the lock guards, for its refusals: a run's journal, or (a wave) its record. */
export interface LockSubject {
  noun: string;
  file: string;
}

const RUN: LockSubject = { noun: 'run', file: 'journal' };

function refuse(runId: string, what: string, path: string, holder: RunLockHolder | undefined, stale: boolean, subject: LockSubject = RUN): never {
  const advice =
    stale || !holder
      ? `remove ${path} if no runbook process is using ${subject.noun} ${runId}`
      : holder.host !== hostname()
        ? `it cannot be checked from this host; if that process is gone, remove ${path}`
        : `wait for it to end or stop it; if pid ${holder.pid} is not a runbook process, remove ${path}`;
  throw new ExitError(ExitCode.refused, `refusing to ${what} ${subject.noun} ${runId}: its ${subject.file} is locked by ${describe(holder)}; ${advice}. Nothing was run.`);
}

/**
 * Takes the lock of run `runId` in journal directory `dir`, or refuses (exit 3) naming the holder.
 * `what` words the refusal: "run", "resume". The lock is released by `release()` or when the
 * process exits normally; a killed process leaves it for the stale check.
 */
export function takeRunLock(dir: string, runId: string, what: string, subject: LockSubject = RUN): RunLock {
  mkdirSync(dir, { recursive: true });
  const path = runLockPath(dir, runId);
  const me: RunLockHolder = { runId, pid: process.pid, host: hostname(), user: currentUser(), since: new Date().toISOString() };
  const text = JSON.stringify(me) + '\n';

  if (!createWhole(path, text)) {
    const found = readHolder(path);
    const holder = found?.holder;
    const stale = holder !== undefined && holder.host === hostname() && !processAlive(holder.pid);
    if (found && !stale) refuse(runId, what, path, holder, false, subject);
    // Gone (released just now) or stale: replace it, under the takeover file.
    const takeover = `${path}.takeover`;
    if (!createWhole(takeover, text)) {
      const other = readHolder(takeover)?.holder;
      const otherStale = other !== undefined && other.host === hostname() && !processAlive(other.pid);
      if (otherStale) refuse(runId, what, takeover, other, true, subject);
      refuse(runId, what, path, other, false, subject);
    }
    try {
      const now = readHolder(path);
      if (now && found && now.text === found.text) unlinkSync(path);
      else if (now) refuse(runId, what, path, now.holder, false, subject);
      if (!createWhole(path, text)) refuse(runId, what, path, readHolder(path)?.holder, false, subject);
    } finally {
      unlinkSync(takeover);
    }
  }

  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.removeListener('exit', release);
    try {
      // Only our own: a lock someone removed by hand and another process took is theirs.
      if (readHolder(path)?.text === text) unlinkSync(path);
    } catch {
      // Already gone.
    }
  };
  process.on('exit', release);
  return { path, release };
}
