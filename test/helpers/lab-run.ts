// Runs a shipped runbook through the CLI's apply command, in this process, against a lab the test
// started itself, so the test can read the outcome from the lab afterwards (roles, modes, link,
// ledger, statement log). The inventory is written to a file as an operator would write it, and the
// lab's passwords reach the command only through its environment.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import yaml from 'js-yaml';
import { main } from '../../engine/cli/main.js';
import type { Lab, StartLabOptions } from '../../lab/index.js';
import { root } from './cli.js';
import { startTestLab } from './certificates.js';

export { root };

export const runbookFile = (name: string) => join(root, 'runbooks', `${name}.yml`);

/** Short waits for tests: the runbooks' defaults are for real links (30 s windows). */
export const FAST = ['stableFor=300ms', 'pollInterval=50ms', 'lsnTimeout=5s'];
/** The same for planned-failover.yml, whose first wait has its own window (stoppedFor). */
export const FAST_PLANNED = [...FAST, 'stoppedFor=200ms'];

export interface LabRun {
  code: number;
  stdout: string;
  stderr: string;
  journalDir: string;
  /** From the call to apply to its exit code. */
  ms: number;
}

export interface LabApplyOptions {
  sets?: string[];
  yes?: boolean;
  allowDataLoss?: string;
  format?: 'text' | 'json';
  /** Laid over the lab's environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** Another inventory file than the lab's own (e.g. one with a foreign CA). */
  inventoryFile?: string;
  /** More command-line arguments, after the others (e.g. `--outcome-timeout 10s`). */
  args?: string[];
}

/** A started lab, a temporary folder, and the lab's inventory written into it as an operator would write it. */
export async function labWithInventory(options: StartLabOptions, prefix: string): Promise<{ lab: Lab; dir: string; inventoryFile: string }> {
  const lab = await startTestLab(options);
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const inventoryFile = join(dir, 'inventory.yml');
  writeFileSync(inventoryFile, yaml.dump(lab.inventory));
  return { lab, dir, inventoryFile };
}

/** Each replica's link role, once the lab's link has caught up with its clock. */
export function labRoles(lab: Lab): { sqlServer: string; managedInstance: string } {
  const link = lab.link();
  link.advance();
  return { sqlServer: link.replicas.sqlServer.role, managedInstance: link.replicas.managedInstance.role };
}

export class TestLab {
  private constructor(
    readonly lab: Lab,
    readonly inventoryFile: string,
    readonly dir: string,
  ) {}

  static async start(options: StartLabOptions = {}): Promise<TestLab> {
    const { lab, dir, inventoryFile } = await labWithInventory(options, 'runbook-e2e-');
    return new TestLab(lab, inventoryFile, dir);
  }

  /** `runbook apply runbooks/<name>.yml -i <inventory> --yes ...`, in process. `runbook` is a shipped runbook's name or a file's path. */
  async apply(runbook: string, o: LabApplyOptions = {}): Promise<LabRun> {
    const started = Date.now();
    const journalDir = mkdtempSync(join(this.dir, 'journal-'));
    const stdout = collect();
    const stderr = collect();
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.lab.env, NO_COLOR: '1', CI: '', RUNBOOK_JOURNAL_DIR: journalDir };
    for (const [k, v] of Object.entries(o.env ?? {})) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    const code = await main(this.argv(runbook, o), { stdout: stdout.stream, stderr: stderr.stream, stdin: process.stdin, env, cwd: root });
    return { code, stdout: stdout.text(), stderr: stderr.text(), journalDir, ms: Date.now() - started };
  }

  private argv(runbook: string, o: LabApplyOptions): string[] {
    const file = runbook.includes('/') ? runbook : runbookFile(runbook);
    const argv = ['apply', file, '-i', o.inventoryFile ?? this.inventoryFile];
    if (o.yes ?? true) argv.push('--yes');
    if (o.allowDataLoss) argv.push('--allow-data-loss', o.allowDataLoss);
    if (o.format) argv.push('--format', o.format);
    for (const s of o.sets ?? []) argv.push('--set', s);
    argv.push(...(o.args ?? []));
    return argv;
  }

  /** Statements the replicas received, as `side: text`, optionally only those after `since` (an index). */
  statements(since = 0): string[] {
    return this.lab.statements().slice(since).map((s) => `${s.side}: ${s.statement}`);
  }

  roles(): { sqlServer: string; managedInstance: string } {
    return labRoles(this.lab);
  }

  linkPresent(): { sqlServer: boolean; managedInstance: boolean } {
    const link = this.lab.link();
    return { sqlServer: link.replicas.sqlServer.dagPresent, managedInstance: link.replicas.managedInstance.dagPresent };
  }

  stop(): Promise<void> {
    return this.lab.stop();
  }
}

function collect(): { stream: PassThrough; text(): string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d) => (text += d));
  return { stream, text: () => text };
}
