// For the lock, resume, interrupt and unknown-outcome tests: a lab in this process, an inventory
// file for it, and `runbook apply` in child processes (so they can be killed or interrupted),
// with the journal directory on disk to poll.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab, StartLabOptions } from '../../lab/index.js';
import { startCli, waitFor, type CliResult } from './cli.js';
import { FAST as FAST_SETS, FAST_PLANNED, labRoles, labWithInventory, runbookFile } from './lab-run.js';
import type { ChildProcess } from 'node:child_process';

/** lab-run's short waits for planned-failover.yml (the runbook these runs use) as command-line arguments. */
export const FAST = FAST_PLANNED.flatMap((s) => ['--set', s]);
/** The same for the other runbooks (they have no stoppedFor). */
export const FAST_OTHERS = FAST_SETS.flatMap((s) => ['--set', s]);
export const runbook = runbookFile;

export type Rec = Record<string, any>;

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
