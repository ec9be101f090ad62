// plan --probe against an inventory whose connections read their passwords from standard input
// (passwordStdin: true): the passwords piped in are read the way apply reads them, the probe
// logs in with them, and they appear in no output.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { startLab } from '../../../lab/index.js';
import { labInventory } from '../../../lab/inventory.js';
import type { Inventory } from '../../../engine/core/types.js';
import { bin, root, tempDir } from '../../helpers/cli.js';

function planProbe(args: string[], stdin: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...env };
  delete childEnv.CI;
  delete childEnv.LAB_SQL_PASSWORD;
  delete childEnv.LAB_MI_PASSWORD;
  // Async spawn: the lab answers from this process, so its event loop must keep running.
  const child = spawn(process.execPath, [bin, 'plan', ...args], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(stdin);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('plan --probe with passwordStdin on both connections: reads them from the pipe and observes the live roles', async () => {
  const lab = await startLab({});
  try {
    const inv: Inventory = structuredClone(lab.inventory);
    for (const side of ['sqlServer', 'managedInstance'] as const) {
      delete inv.link[side].connection.passwordEnv;
      inv.link[side].connection.passwordStdin = true;
    }
    const file = join(tempDir('runbook-probe-stdin-'), 'inventory.yml');
    writeFileSync(file, yaml.dump(inv));
    const passwords = `${lab.env.LAB_SQL_PASSWORD}\n${lab.env.LAB_MI_PASSWORD}\n`;
    const r = await planProbe([join(root, 'runbooks', 'planned-failover.yml'), '-i', file, '--probe'], passwords, { LAB_ARM_TOKEN: lab.env.LAB_ARM_TOKEN! });
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^\s+sqlServer: link role PRIMARY/m);
    assert.match(r.stdout, /^\s+managedInstance: link role SECONDARY/m);
    assert.match(r.stdout, /unreachable=\[\]/);
    for (const secret of [lab.env.LAB_SQL_PASSWORD!, lab.env.LAB_MI_PASSWORD!]) {
      assert.not.ok((r.stdout + r.stderr).includes(secret), 'no password in the output');
    }
  } finally {
    await lab.stop();
  }
});

// A plan without --probe connects to nothing, so no lab is started: the lab's inventory, with ports nothing listens on.
test('plan without --probe reads nothing from standard input, even with passwordStdin', async () => {
  const inv = labInventory(0, { sqlPort: 1, miPort: 1 }) as Inventory;
  delete inv.link.sqlServer.connection.passwordEnv;
  inv.link.sqlServer.connection.passwordStdin = true;
  const file = join(tempDir('runbook-probe-stdin-'), 'inventory.yml');
  writeFileSync(file, yaml.dump(inv));
  const r = await planProbe([join(root, 'runbooks', 'planned-failover.yml'), '-i', file], '', {});
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.not.match(r.stdout, /Observed state/);
});

test.run();
