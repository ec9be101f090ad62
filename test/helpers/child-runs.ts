// For the lock, resume, interrupt and unknown-outcome tests: a lab in this process, an inventory
// file for it, and `runbook apply` in child processes (so they can be killed or interrupted),
// with the journal directory on disk to poll.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type sql from 'mssql';
import type { Hold, HoldSpec, Lab, StartLabOptions } from '../../lab/index.js';
import { runInProcess, startCli, waitFor, type CliResult } from './cli.js';
import { run as runBatch } from './lab.js';
import { FAST as FAST_SETS, FAST_PLANNED, labRoles, labWithInventory, runbookFile } from './lab-run.js';
import type { ChildProcess } from 'node:child_process';

/** lab-run's short waits for planned-failover.yml (the runbook these runs use) as command-line arguments. */
export const FAST = FAST_PLANNED.flatMap((s) => ['--set', s]);
/** The same for the other runbooks (they have no stoppedFor). */
export const FAST_OTHERS = FAST_SETS.flatMap((s) => ['--set', s]);
/** planned-failover with a 30 s window: the run stays in its first LSN wait (caught-up) while a test acts on it. */
export const STAYS_IN_WAIT = ['--set', 'stableFor=30s', '--set', 'pollInterval=50ms', '--set', 'lsnTimeout=40s'];
export const runbook = runbookFile;

export type Rec = Record<string, any>;

/** A run started in a child process: its process and how it ends. */
export type ChildRun = { child: ChildProcess; done: Promise<CliResult> };
type LockRow = ReturnType<Lab['model']['applocks']['rows']>[number];

export class ChildLab {
  private constructor(
    readonly lab: Lab,
    readonly dir: string,
    readonly inventory: string,
    readonly journalDir: string,
  ) {}

  static async start(options: StartLabOptions = {}): Promise<ChildLab> {
    const { lab, dir, inventoryFile } = await labWithInventory(options, 'runbook-safety-');
    return new ChildLab(lab, dir, inventoryFile, join(dir, 'runs'));
  }

  env(): Record<string, string> {
    return { ...this.lab.env, RUNBOOK_JOURNAL_DIR: this.journalDir };
  }

  /** `runbook <args>` in a child process, with the lab's passwords in its environment. */
  cli(args: string[], timeoutMs = 40_000): { child: ChildProcess; done: Promise<CliResult> } {
    return startCli(args, { env: this.env(), cwd: this.dir, timeoutMs });
  }

  /** `timeoutMs`: when the child is killed; a run pinned through many moments needs more than the default. */
  apply(file: string, extra: string[] = [], timeoutMs?: number): { child: ChildProcess; done: Promise<CliResult> } {
    return this.cli(['apply', file, '-i', this.inventory, '--yes', ...extra], timeoutMs);
  }

  /**
   * `runbook <args>` in this process (runInProcess), with the same environment and folder as
   * cli(): for a run that is not itself killed, interrupted or raced (a second operator's run
   * after the first ended, a resume), so that only the process a test acts on costs a Node start.
   */
  inProcess(args: string[], timeoutMs = 40_000): Promise<CliResult> {
    return runInProcess(args, { env: this.env(), cwd: this.dir, timeoutMs });
  }

  /** `apply file extra` in this process (inProcess). */
  applyInProcess(file: string, extra: string[] = []): Promise<CliResult> {
    return this.inProcess(['apply', file, '-i', this.inventory, '--yes', ...extra]);
  }

  /**
   * `apply file extra`, returned once the lab holds its first request matching `at` (the run is
   * pinned there until `pin.release()`); fails at once, with the run's output, if it ends first.
   */
  async applyHeld(file: string, extra: string[], at: HoldSpec): Promise<{ pin: Hold; run: ChildRun; runId: string }> {
    const pin = this.lab.hold(at);
    const run = this.apply(file, extra);
    try {
      await reachedBeforeEnd(pin.reached, run);
    } catch (error) {
      pin.release();
      throw error;
    }
    return { pin, run, runId: this.runIds().at(-1)! };
  }

  /**
   * `apply file extra`, returned once `reached()` (polled, e.g. a journal record, a statement in
   * the lab's log) is true, still running; fails at once, with the run's output, if it ends first.
   */
  async applyUntil(file: string, extra: string[], reached: () => boolean, timeoutMs = 20_000): Promise<{ run: ChildRun; runId: string }> {
    const run = this.apply(file, extra);
    await reachedBeforeEnd(waitFor(reached, timeoutMs), run);
    return { run, runId: this.runIds().at(-1)! };
  }

  /** Run `runId`'s link lock on a replica (SQL Server's by default), as the server's lock table shows it; fails if it holds none there. */
  lockOf(runId: string, replica = 'sql01'): LockRow {
    const row = this.lab.model.applocks.rows().find((r) => r.replica === replica && r.holder.programName.startsWith(`runbook ${runId} `));
    if (!row) throw new Error(`run ${runId} holds no lock on ${replica}`);
    return row;
  }

  /** A DBA's console (`dba`, on SQL Server) runs `KILL <run runId's lock session>` followed by `then`, in one batch; returns the killed session's id. */
  async killLockSession(dba: sql.ConnectionPool, runId: string, then = ''): Promise<number> {
    const session = this.lockOf(runId).holder.sessionId;
    await runBatch(dba, `KILL ${session};\n${then}`);
    return session;
  }

  runIds(): string[] {
    if (!existsSync(this.journalDir)) return [];
    return readdirSync(this.journalDir).filter((n) => n.endsWith('.jsonl')).sort().map((n) => n.replace(/\.jsonl$/, ''));
  }

  records(runId?: string): Rec[] {
    const id = runId ?? this.runIds().at(-1);
    if (!id) return [];
    const path = join(this.journalDir, `${id}.jsonl`);
    if (!existsSync(path)) return [];
    return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).flatMap((l) => {
      try {
        return [JSON.parse(l) as Rec];
      } catch {
        return [];
      }
    });
  }

  /** Polls the newest journal until a record matches. */
  async waitForRecord(match: (r: Rec) => boolean, timeoutMs = 20_000): Promise<void> {
    await waitFor(() => this.records().some(match), timeoutMs);
  }

  /** How many statements the replicas received that match. */
  count(re: RegExp): number {
    return this.lab.statements().filter((s) => re.test(s.statement)).length;
  }

  roles(): { sqlServer: string; managedInstance: string } {
    return labRoles(this.lab);
  }

  stop(): Promise<void> {
    return this.lab.stop();
  }
}

/** `reached`, unless the run ends first: then a failure with its exit and output. */
async function reachedBeforeEnd(reached: Promise<unknown>, run: ChildRun): Promise<void> {
  const ended = run.done.then((r) => Promise.reject(new Error(`the run ended before it was held: exit ${r.code}\n${r.stdout}${r.stderr}`)));
  // Whichever loses the race settles unheard.
  ended.catch(() => undefined);
  reached.catch(() => undefined);
  await Promise.race([reached, ended]);
}

/** What a second operator's console sends to take the link's lock (session-owned, no wait), failing if it is not granted. */
export const TAKE_LINK_LOCK = `DECLARE @r int;
EXEC @r = sp_getapplock @Resource = N'runbook:link:dag1', @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;
IF @r < 0 THROW 50000, 'lock not granted', 1;`;

/** planned-failover (short windows, a long LSN timeout) held by the lab at `at`: the lock-lost tests' run. */
export const pinnedPlannedFailover = (lab: ChildLab, at: HoldSpec) =>
  lab.applyHeld(runbook('planned-failover'), ['--set', 'stoppedFor=200ms', '--set', 'stableFor=300ms', '--set', 'pollInterval=50ms', '--set', 'lsnTimeout=30s'], at);

export type PinnedRun = Awaited<ReturnType<ChildLab['applyHeld']>>;

/** Lets a held run go; how it ended. */
export async function releasedRun({ pin, run }: PinnedRun): Promise<{ code: number | null; out: string }> {
  pin.release();
  const r = await run.done;
  return { code: r.code, out: r.stdout + r.stderr };
}

/** A journal record of step `id` starting (or, with `kind`, another step record). */
export const stepRecord = (id: string, kind = 'step-started') => (r: Rec) => r.kind === kind && r.step === id;

export const FAILOVER = /^\s*ALTER AVAILABILITY GROUP \[dag1\] FAILOVER/i;
export const SYNC_COMMIT = /MODIFY AVAILABILITY GROUP ON/i;

/** Writes a runbook whose one change step (sync commit via sqlExec) has no verify query; returns its path. */
export function writeNoVerifyRunbook(dir: string): string {
  const file = join(dir, 'no-verify.yml');
  writeFileSync(
    file,
    `name: no-verify
description: One change step without a verify query.
inputs: {}
steps:
  - id: sync
    type: sqlExec
    target: sqlServer
    with:
      impact: change
      sql: ALTER AVAILABILITY GROUP {{ident link.name}} MODIFY AVAILABILITY GROUP ON {{str link.sqlServer.agName}} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);
`,
  );
  return file;
}

export function kinds(records: Rec[]): string[] {
  return records.map((r) => `${r.kind}${r.step ? `:${r.step}` : ''}`);
}

export function waitExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('close', () => resolve())));
}

/**
 * While the run's change on SQL Server is held by the lab: the server forgets the run's lock (a
 * half-open session, so the client hears nothing and cancels nothing) and a second operator's
 * console takes it. Throws if the run holds no lock there.
 */
export async function lockForgottenThenTaken(lab: Lab, dba: sql.ConnectionPool): Promise<void> {
  const lock = lab.model.applocks.rows().find((row) => row.replica === 'sql01' && row.holder.programName.startsWith('runbook '));
  if (!lock) throw new Error('the run holds no lock on sql01');
  lab.model.applocks.releaseSession('sql01', lock.holder.sessionId);
  await runBatch(dba, TAKE_LINK_LOCK);
}
