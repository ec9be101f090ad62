// plan --probe against an inventory whose connections read their passwords from standard input
// (passwordStdin: true): the passwords piped in are read the way apply reads them, the probe
// logs in with them, and they appear in no output.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { startLab } from '../../../lab/index.js';
import { labInventory } from '../../../lab/inventory.js';
import type { Inventory } from '../../../engine/core/types.js';
import { root, runCli, tempDir, type CliResult } from '../../helpers/cli.js';

/** `runbook plan <args>` with `stdin` piped in and no password variables (the inventory reads them from stdin). */
function planProbe(args: string[], stdin: string, env: Record<string, string>): Promise<CliResult> {
  return runCli(['plan', ...args], { env: { ...env, LAB_SQL_PASSWORD: undefined, LAB_MI_PASSWORD: undefined }, stdin, timeoutMs: 40_000 });
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
