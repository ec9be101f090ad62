// Runs a shipped runbook through the CLI's apply command, in this process, against a lab the test
// started itself, so the test can read the outcome from the lab afterwards (roles, modes, link,
// ledger, statement log). The inventory is written to a file as an operator would write it, and
// the lab's passwords reach the command only through its environment.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import yaml from 'js-yaml';
import { main } from '../../engine/cli/main.js';
import { startLab, type Lab, type StartLabOptions } from '../../lab/index.js';
import { root } from './cli.js';

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
}

export class TestLab {
  private constructor(
    readonly lab: Lab,
    readonly inventoryFile: string,
    readonly dir: string,
  ) {}

  static async start(options: StartLabOptions = {}): Promise<TestLab> {
    const lab = await startLab(options);
    const dir = mkdtempSync(join(tmpdir(), 'runbook-e2e-'));
    const inventoryFile = join(dir, 'inventory.yml');
    writeFileSync(inventoryFile, yaml.dump(lab.inventory));
    return new TestLab(lab, inventoryFile, dir);
  }

  /** `runbook apply runbooks/<name>.yml -i <inventory> --yes ...`, in process. */
  async apply(name: string, o: LabApplyOptions = {}): Promise<LabRun> {
    const journalDir = mkdtempSync(join(this.dir, 'journal-'));
    const argv = ['apply', runbookFile(name), '-i', o.inventoryFile ?? this.inventoryFile];
    if (o.yes ?? true) argv.push('--yes');
    if (o.allowDataLoss) argv.push('--allow-data-loss', o.allowDataLoss);
    if (o.format) argv.push('--format', o.format);
    for (const s of o.sets ?? []) argv.push('--set', s);
    const stdout = collect();
    const stderr = collect();
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.lab.env, NO_COLOR: '1', CI: '', RUNBOOK_JOURNAL_DIR: journalDir };
    for (const [k, v] of Object.entries(o.env ?? {})) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    const code = await main(argv, { stdout: stdout.stream, stderr: stderr.stream, stdin: process.stdin, env, cwd: root });
    return { code, stdout: stdout.text(), stderr: stderr.text(), journalDir };
  }

  /** Statements the replicas received, as `side: text`, optionally only those after `since` (an index). */
  statements(since = 0): string[] {
    return this.lab.statements().slice(since).map((s) => `${s.side}: ${s.statement}`);
  }

  roles(): { sqlServer: string; managedInstance: string } {
    const link = this.lab.link();
    link.advance();
    return { sqlServer: link.replicas.sqlServer.role, managedInstance: link.replicas.managedInstance.role };
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
