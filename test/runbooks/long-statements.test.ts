// Statements that take long on a real server (issue 10, point 3): a BACKUP ... TO URL or a FAILOVER
// is not cancelled by the driver's request timeout (30 s unless the inventory says otherwise);
// change steps run until the server answers. The lab's scenario knob longStatements makes them
// take that long, and a cancelled one (ATTENTION) does nothing, as on a real server.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { FAST_PLANNED, type TestLab } from '../helpers/lab-run.js';
import { runbookCases } from '../helpers/runbook-cases.js';

const url = 'https://labbackups.blob.core.windows.net/splitbrain/SalesDb.bak';

/** The lab's inventory with a shorter request timeout on both connections, written next to it. */
function withRequestTimeout(t: TestLab, ms: number): string {
  const inventory = yaml.load(readFileSync(t.inventoryFile, 'utf8')) as { link: Record<string, { connection: Record<string, unknown> }> };
  inventory.link.sqlServer!.connection.requestTimeoutMs = ms;
  inventory.link.managedInstance!.connection.requestTimeoutMs = ms;
  const file = join(t.dir, 'short-timeout.yml');
  writeFileSync(file, yaml.dump(inventory));
  return file;
}

runbookCases([
  {
    // The real thing, with the real default: the copy-only backup to URL takes 45 s, longer than
    // the 30 s request timeout every statement used to get.
    name: "a 45 s copy-only BACKUP ... TO URL on the MI runs to its end, then the MI is demoted (split-brain, keep=sqlServer)",
    scenario: 'split-brain',
    overrides: { longStatements: { backupMs: 45_000, failoverMs: 0 } },
    runbook: 'split-brain',
    set: ['stableFor=300ms', 'pollInterval=50ms', 'keep=sqlServer', `backupLocation=${url}`],
    expect: {
      exit: 0,
      roles: { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' },
      sent: [`managedInstance: BACKUP DATABASE [SalesDb] TO URL = N'${url}' WITH COPY_ONLY`],
      armWrites: ['POST setRole'],
    },
    then(t, run) {
      const backup = t.lab.link().backups.find((b) => b.side === 'managedInstance' && b.isCopyOnly);
      assert.ok(backup, 'the copy-only backup is in msdb');
      const took = backup!.finish.getTime() - backup!.start.getTime();
      assert.ok(took >= 45_000, `the backup took ${took} ms`);
      assert.ok(run.ms >= 45_000, `the run took ${run.ms} ms`);
      const setRole = t.lab.armRequests().find((r) => r.method === 'POST' && /setRole/i.test(r.path))!;
      assert.ok(setRole.at.getTime() >= backup!.finish.getTime(), 'demoted only after the backup ended');
    },
  },
  {
    // The same rule for a FAILOVER, with the request timeout shortened in the inventory rather
    // than a FAILOVER of more than 30 s: the reads still time out at 1 s, the FAILOVER does not.
    name: 'a FAILOVER that takes 2.5 s with a 1 s request timeout in the inventory: it runs to its end, roles swapped',
    overrides: { longStatements: { backupMs: 0, failoverMs: 2500 } },
    runbook: 'planned-failover',
    set: FAST_PLANNED,
    arrange: (t) => ({ inventoryFile: withRequestTimeout(t, 1000) }),
    expect: { exit: 0, roles: { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' }, lost: 0 },
    then(t) {
      assert.is(t.statements().filter((s) => /\] FAILOVER$/.test(s)).length, 1, 'one FAILOVER, not repeated');
    },
  },
]);

test.run();
