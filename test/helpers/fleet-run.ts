// A fleet lab with its fleet inventory on disk, and `runbook` commands run in this process against
// it with journals and wave records under a temporary RUNBOOK_JOURNAL_DIR.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import yaml from 'js-yaml';
import { main } from '../../engine/cli/main.js';
import type { Lab, StartLabOptions } from '../../lab/index.js';
import { startTestLab } from './certificates.js';
import { root } from './cli.js';

export interface FleetRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface FleetLab {
  lab: Lab;
  dir: string;
  fleetFile: string;
  journalDir: string;
  /** `runbook <args>` in this process, against the lab (its passwords in the environment). */
  run(args: string[], env?: Record<string, string>): Promise<FleetRun>;
  stop(): Promise<void>;
}

export async function fleetLab(options: StartLabOptions): Promise<FleetLab> {
  const lab = await startTestLab({ ...options, fleet: true });
  const dir = mkdtempSync(join(tmpdir(), 'runbook-fleet-'));
  const fleetFile = join(dir, 'fleet.yml');
  writeFileSync(fleetFile, yaml.dump(lab.fleetInventory));
  const journalDir = join(dir, 'journals');
  return {
    lab, dir, fleetFile, journalDir,
    async run(args, extra = {}) {
      const out = collect();
      const err = collect();
      const env: NodeJS.ProcessEnv = { ...process.env, ...lab.env, NO_COLOR: '1', CI: '', RUNBOOK_JOURNAL_DIR: journalDir, ...extra };
      const code = await main(args, { stdout: out.stream, stderr: err.stream, stdin: process.stdin, env, cwd: root });
      return { code, stdout: out.text(), stderr: err.text() };
    },
    stop: () => lab.stop(),
  };
}

function collect(): { stream: PassThrough; text(): string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d) => (text += d));
  return { stream, text: () => text };
}

/** Each link's roles by DAG name, once the lab caught up with its clock. */
export function fleetRoles(lab: Lab): Record<string, string> {
  return Object.fromEntries(lab.model.links.map((l) => {
    l.advance();
    return [l.name, `${l.replicas.sqlServer.role[0]}${l.replicas.managedInstance.role[0]}`];
  }));
}
