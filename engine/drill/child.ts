// `runbook apply` in a child process, so that the drill (and the fault-matrix tests) can SIGKILL
// it at any instant and start `apply --resume` after it; and the journal directory on disk, read
// while the run goes on to see which step it has reached.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExitCode } from '../core/exit-codes.js';
import type { JournalRecord } from './record.js';
import { boundaryReached } from './boundary.js';

export { stepsReached } from './boundary.js';

/** The built CLI next to this module (dist/engine/cli/bin.js). */
export const CLI_BIN = fileURLToPath(new URL('../cli/bin.js', import.meta.url));

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  startedAt: number;
  endedAt: number;
  pid?: number;
  /** The deadline passed and the process was killed. */
  timedOut: boolean;
  /**
   * The drill's own machinery failed: the process that was to run it died before the run began
   * (a warm worker that could not load). What it said, with its exit; no run took place.
   */
  harnessFailure?: string;
}

export interface ChildRun {
  /** The process's id once it runs (a warm worker's is known when the run is handed to it). */
  readonly pid: number | undefined;
  kill(signal: NodeJS.Signals): void;
  done: Promise<ChildResult>;
  /** Its standard error so far (the engine answers each interrupt there). */
  stderrSoFar(): string;
  /**
   * Only when it was started with `holdAt` and can hold (a warm worker): true once the run is held
   * still at that step boundary, waiting for its SIGKILL; false when it ended first.
   */
  held?: Promise<boolean>;
}

/**
 * `node <bin> ...args` with exactly `env` (plus what Node needs to run), no TTY, nothing on standard
 * input; killed with SIGKILL at `deadlineMs`.
 */
export function startCliChild(args: string[], opts: { env: NodeJS.ProcessEnv; cwd: string; deadlineMs: number; nodeArgs?: string[] }): ChildRun {
  const startedAt = Date.now();
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), CLI_BIN, ...args], { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.end('');
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let timedOut = false;
  const done = new Promise<ChildResult>((resolve) => {
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.deadlineMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, startedAt, endedAt: Date.now(), timedOut, ...(child.pid !== undefined ? { pid: child.pid } : {}) });
    });
  });
  return { pid: child.pid, kill: (signal) => void child.kill(signal), done, stderrSoFar: () => stderr };
}

/**
 * How runs are started: a fresh child each (startCliChild), or a warm worker (workers.ts).
 * `fresh`: a process that has run nothing yet (a warm worker may have): a run to be stopped at a
 * step boundary, which a process warm from earlier runs may pass before the journal poll sees it.
 * `apartFrom`: any process but the one of this pid (a run's other invocation, still going or just
 * ended: each invocation's journal is found by its pid).
 * `holdAt`: hold the run still at this step boundary, if the process can (ChildRun.held says).
 */
export type StartRun = (args: string[], opts: { env: NodeJS.ProcessEnv; cwd: string; deadlineMs: number; fresh?: boolean; apartFrom?: number; holdAt?: number }) => ChildRun;

/** The whole records of one journal file; a torn last line (a kill mid-write) is left out. */
export function journalFileRecords(file: string): JournalRecord[] {
  if (!existsSync(file)) return [];
  const out: JournalRecord[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as JournalRecord);
    } catch {
      // a torn line
    }
  }
  return out;
}

export function journalFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort().map((n) => join(dir, n));
}

/** Every record of every journal in a directory. */
export function journalRecords(dir: string): JournalRecord[] {
  return journalFiles(dir).flatMap(journalFileRecords);
}

/** The run id of the journal the process `pid` started (its run-started record names the pid). */
export function runIdOf(dir: string, pid: number | undefined): string | undefined {
  for (const file of journalFiles(dir)) {
    const first = journalFileRecords(file)[0];
    if (first?.kind === 'run-started' && first.pid === pid) return String(first.runId);
  }
  return undefined;
}


/** Polls `check` every `everyMs` until it is true or `stop` is; false when stopped first or at the deadline. */
export async function until(check: () => boolean, stop: () => boolean, timeoutMs: number, everyMs = 5): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (stop() || Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** How the drill stops a run it started: SIGKILL (a crash), or Ctrl-C as an operator presses it. */
export type Stop = 'kill' | 'interrupt';

export interface StopThenResume {
  /** The stop landed while the process was still going (then it was resumed). */
  stopped: boolean;
  /** The SIGKILL landed after the run had journaled its end: no step of it was cut short. */
  afterEnd: boolean;
  first: ChildResult;
  runId?: string;
  resumed?: ChildResult;
}

/** What an interrupted run says on standard error for each Ctrl-C it takes (engine/apply/interrupt.ts). */
const INTERRUPT_ANSWER = /^runbook: SIGINT/gm;
/** Ctrl-C presses that abandon a change in progress: the first asks to stop, the second explains, the third abandons (README "apply"). */
const PRESSES_TO_ABANDON = 3;

/**
 * Ctrl-C as an operator presses it at a run that is stuck: once, then again each time the run
 * has answered the last press (signals sent back to back would merge into one), until it ends
 * or has taken the presses that abandon a change in progress.
 */
async function interruptUntilEnded(run: ChildRun, finished: () => boolean, deadlineMs: number): Promise<void> {
  for (let press = 1; press <= PRESSES_TO_ABANDON && !finished(); press++) {
    run.kill('SIGINT');
    await until(() => (run.stderrSoFar().match(INTERRUPT_ANSWER)?.length ?? 0) >= press, finished, deadlineMs);
  }
}

/** Where stopThenResume stops the run: at a step boundary (boundary.ts), or once `reached()` holds (an instant of the lab's). */
export type StopAt = { boundary: number; reached?: never } | { reached: (records: () => JournalRecord[]) => boolean; boundary?: never };

/**
 * Starts `apply` (args), stops it at `boundary` or once `reached()` holds: SIGKILL, or Ctrl-C
 * pressed until it gives up a change in progress (exit 130); then runs `apply --resume <run-id>`
 * with `resumeArgs` and returns both. A SIGKILL at a boundary on a process that can hold its run
 * there (a warm worker) lands exactly at it; otherwise where the run is when the journal poll sees
 * the boundary, which may be a few steps later.
 */
export async function stopThenResume(
  args: string[],
  resumeArgs: string[],
  opts: { env: NodeJS.ProcessEnv; cwd: string; journalDir: string; deadlineMs: number; stop?: Stop; start?: StartRun } & StopAt,
): Promise<StopThenResume> {
  const start = opts.start ?? startCliChild;
  const interrupt = opts.stop === 'interrupt';
  // A held run blocks its thread: it could not take Ctrl-C, so an interrupt is sent where the poll sees the boundary.
  const holdAt = !interrupt && opts.boundary !== undefined ? { holdAt: opts.boundary } : {};
  const first = start(args, { env: opts.env, cwd: opts.cwd, deadlineMs: opts.deadlineMs, fresh: true, ...holdAt });
  let finished = false;
  void first.done.then(() => (finished = true));
  const boundary = opts.boundary;
  const reached = boundary === undefined ? opts.reached! : (records: () => JournalRecord[]) => boundaryReached(records(), boundary);
  // Read again only when the file grew: the poll is frequent (a step boundary lasts milliseconds) and runs beside other runs.
  let id: string | undefined;
  let size = -1;
  let records: JournalRecord[] = [];
  const ownJournal = () => {
    id ??= first.pid === undefined ? undefined : runIdOf(opts.journalDir, first.pid);
    if (!id) return [];
    const file = join(opts.journalDir, `${id}.jsonl`);
    const now = existsSync(file) ? statSync(file).size : -1;
    if (now !== size) {
      size = now;
      records = journalFileRecords(file);
    }
    return records;
  };
  const hit = first.held ? await first.held : await until(() => reached(ownJournal), () => finished, opts.deadlineMs, 3);
  if (hit && !finished) {
    if (interrupt) await interruptUntilEnded(first, () => finished, opts.deadlineMs);
    else first.kill('SIGKILL');
  }
  const firstResult = await first.done;
  const runId = runIdOf(opts.journalDir, firstResult.pid);
  const stopped = hit && !firstResult.timedOut && (interrupt ? firstResult.code === ExitCode.interrupted : firstResult.signal === 'SIGKILL');
  if (!stopped || !runId) return { stopped: false, afterEnd: false, first: firstResult, ...(runId ? { runId } : {}) };
  // A SIGKILL that landed once the run had journaled its end rehearsed no crash of its steps: the
  // last step's boundary is often passed, and the run finished, before the poll's kill arrives
  // (attack r5drill #2: counted as fired). The operator, who cannot know, resumes all the same.
  const afterEnd = !interrupt && journalFileRecords(join(opts.journalDir, `${runId}.jsonl`)).some((r) => r.kind === 'run-finished');
  const resumed = await start(['apply', '--resume', runId, ...resumeArgs], { env: opts.env, cwd: opts.cwd, deadlineMs: opts.deadlineMs }).done;
  return { stopped: true, afterEnd, first: firstResult, runId, resumed };
}
