// What `runbook plan` adds up to, through the CLI (its main() in this process; issue 12, point 4):
// the compact listing and its --full / -v twin, the closing line that says where a run will refuse
// (from the inputs, or from the live link with --probe), --detailed-exitcode as Terraform's, and a
// --format sql script that sqlcmd runs as printed on the replica it names.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runInProcess, tempDir } from '../../helpers/cli.js';
import { connect, run } from '../../helpers/lab.js';
import { labWithInventory } from '../../helpers/lab-run.js';

const planned = 'runbooks/planned-failover.yml';
const closing = (stdout: string) => stdout.split('\n').find((l) => l.startsWith('Plan: '));

test('compact by default, one line per step; --full and -v are the same listing with every argument', async () => {
  const compact = await runInProcess(['plan', planned, '--lab']);
  assert.is(compact.code, 0, compact.stderr);
  const stepLines = compact.stdout.split('\n').filter((l) => /^ ?\d+\. /.test(l));
  assert.is(stepLines.length, (yaml.load(readFileSync(planned, 'utf8')) as { steps: unknown[] }).steps.length, 'one line per step');
  assert.match(compact.stdout, /^ ?\d+\. failover +sqlExec -> primary +\[change\] +Run 1 batch of T-SQL on primary: ALTER AVAILABILITY GROUP \[dag1\] FAILOVER;$/m);
  assert.not.match(compact.stdout, /guard:|with:/);
  assert.match(compact.stdout, /the same command with --full\.$/m);
  const full = await runInProcess(['plan', planned, '--lab', '--full']);
  const verbose = await runInProcess(['plan', planned, '--lab', '-v']);
  assert.is(verbose.code, 0, verbose.stderr);
  assert.is(verbose.stdout, full.stdout);
  assert.match(full.stdout, /guard: Needs SQL Server 2022 CU13 \(16\.0\.4125\) or later/);
  assert.not.match(full.stdout, /--full\.$/m);
  assert.is(closing(full.stdout), closing(compact.stdout));
});

test('the closing line adds the plan up and names the step where it will refuse, from the inputs or the probe', async () => {
  assert.is(closing((await runInProcess(['plan', planned, '--lab'])).stdout), 'Plan: 3 changes, 0 data-loss steps, 20 reads (3 skipped, 3 decided at run time).');
  // Decided by the inputs: split-brain with neither a backup location nor skipBackup.
  const inputs = await runInProcess(['plan', 'runbooks/split-brain.yml', '--lab', '--set', 'keep=sqlServer']);
  assert.match(closing(inputs.stdout)!, /; will refuse at step 4 \(Say where the backup of managedInstance goes with --set backupLocation=/);
  // Decided by what the probe reads: SQL Server 2019 cannot fail the link over with T-SQL.
  const probed = await runInProcess(['plan', planned, '--lab', 'sql2019', '--probe'], { timeoutMs: 40_000 });
  assert.is(probed.code, 0, probed.stderr);
  assert.match(closing(probed.stdout)!, /; will refuse at step 4 \(SQL Server is older than 2022 CU13 \(16\.0\.4125\)\)\.$/);
  // A prediction (here, and in apply's question) does not say "nothing was changed": nothing has run yet (attack-r4apply A8).
  assert.match(probed.stdout, /Step 4 \(version-supports-failover\) would refuse, by what the probe read: SQL Server is older than 2022 CU13/);
  assert.not.match(probed.stdout, /nothing was changed/i);
});

test('--detailed-exitcode: 0 nothing to change, 2 changes, 3 would refuse; without it a plan exits 0', async () => {
  const dir = tempDir('runbook-detailed-');
  const readsOnly = join(dir, 'reads.yml');
  writeFileSync(readsOnly, [
    'name: reads', 'description: Reads only.', 'steps:',
    '  - id: roles', '    type: assertRole', '    with: { exactlyOnePrimary: true }',
    '  - id: say', '    type: notify', '    with: { message: nothing to do }', '',
  ].join('\n'));
  const code = async (...args: string[]) => (await runInProcess(['plan', ...args, '--lab', '--detailed-exitcode'], { timeoutMs: 40_000 })).code;
  assert.is(await code(readsOnly), 0);
  assert.is(await code(planned), 2);
  assert.is(await code('runbooks/split-brain.yml', '--set', 'keep=sqlServer'), 3, 'refused by its inputs');
  assert.is(await code('runbooks/split-brain.yml', '--set', 'keep=sqlServer', '--set', 'skipBackup=true'), 2);
  assert.is((await runInProcess(['plan', planned, '--lab', 'sql2019', '--probe', '--detailed-exitcode'], { timeoutMs: 40_000 })).code, 3, 'refused by what the probe read');
  assert.is((await runInProcess(['plan', 'runbooks/split-brain.yml', '--lab', '--set', 'keep=sqlServer'])).code, 0, 'only asked for');
  assert.is((await runInProcess(['plan', planned, '--lab', '--detailed-exitcode', '--set', 'direction=x'])).code, 2, 'bad input is still 2');
});

// sqlcmd and SSMS split a script at lines holding only GO and send each batch on its own, so a
// variable declared in one batch is gone in the next: each batch must declare what it reads.
function sqlcmdBatches(script: string): string[] {
  return script.split(/^GO(?:[ \t]+\d+)?[ \t]*$/m).map((b) => b.trim()).filter((b) => b.split('\n').some((l) => l.trim() !== '' && !l.trim().startsWith('--')));
}

test('--format sql: each replica\'s script runs as printed, batch by batch, on that replica of a live link', async () => {
  const { lab, inventoryFile } = await labWithInventory({ scenario: 'healthy' }, 'runbook-plan-sql-');
  try {
    for (const [replica, side] of [['sqlServer', 'sqlServer'], ['managedInstance', 'managedInstance'], ['primary', 'sqlServer']] as const) {
      const r = await runInProcess(['plan', planned, '-i', inventoryFile, '--format', 'sql', '--replica', replica], { env: lab.env });
      assert.is(r.code, 0, r.stderr);
      const batches = sqlcmdBatches(r.stdout);
      // The primary's script ends with the FAILOVER itself: run its reads, not the change.
      const toRun = replica === 'primary' ? batches.filter((b) => !/FAILOVER;/.test(b)) : batches;
      // (The primary's script may hold only the FAILOVER: the reads around it run on named replicas.)
      assert.ok(toRun.length === batches.length - (replica === 'primary' ? 1 : 0) && (replica === 'primary' || toRun.length >= 1), `${replica}: ${r.stdout}`);
      const pool = await connect(lab, side);
      try {
        for (const batch of toRun) {
          const sets = await run(pool, batch).catch((e: Error) => assert.unreachable(`${replica}: ${e.message} in\n${batch}`));
          assert.ok(sets!.length >= 1, `${replica}: a result set from\n${batch}`);
        }
      } finally {
        await pool.close();
      }
    }
  } finally {
    await lab.stop();
  }
});

test.run();
