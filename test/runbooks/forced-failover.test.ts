// forced-failover.yml end to end on the lab: the data-loss gate, the loss report before the forced
// step, the ledger afterwards, role reversal and the loud split-brain warning.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { createLabCertificates } from '../../lab/certs.js';
import type { Inventory } from '../../engine/core/types.js';
import { TestLab, type LabApplyOptions } from '../helpers/lab-run.js';

const isAlter = (s: string) => /ALTER\s+AVAILABILITY\s+GROUP/i.test(s);
/** What one transaction advances the lab's log by (lab/model/lsn.ts: 16 blocks of 10^5). */
const LSN_PER_TRANSACTION = 16n * 100_000n;

test('without --allow-data-loss: exit 3 and nothing changed', async () => {
  const t = await TestLab.start({ scenario: 'primary-down' });
  try {
    const run = await t.apply('forced-failover');
    assert.is(run.code, 3, run.stdout + run.stderr);
    assert.match(run.stderr, /force \(sqlExec\) can lose data.*--allow-data-loss dag1/);
    assert.not.ok(t.statements().some(isAlter), 'no ALTER reached any replica');
    assert.is(t.roles().managedInstance, 'SECONDARY');
    assert.is(t.lab.ledger().lost, 0);

    const wrongName = await t.apply('forced-failover', { allowDataLoss: 'dag2' });
    assert.is(wrongName.code, 3);
    assert.not.ok(t.statements().some(isAlter));
  } finally {
    await t.stop();
  }
});

test('primary-down with --allow-data-loss: MI is primary, the loss is in the ledger, the report came first', async () => {
  const t = await TestLab.start({ scenario: 'primary-down' });
  try {
    const run = await t.apply('forced-failover', { allowDataLoss: 'dag1' });
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.is(t.roles().managedInstance, 'PRIMARY');
    assert.is(t.lab.ledger().lost, 25, 'the 25 transactions SQL Server never sent');
    const forced = t.statements().filter(isAlter);
    assert.equal(forced, ['managedInstance: ALTER AVAILABILITY GROUP [dag1] FORCE_FAILOVER_ALLOW_DATA_LOSS']);

    const out = run.stdout;
    const reportAt = out.indexOf('The primary sqlServer cannot be reached');
    const forceAt = out.indexOf('] force (sqlExec');
    assert.ok(reportAt >= 0 && forceAt > reportAt, 'the loss report is printed before the forced step starts');
    assert.match(out, /so the gap cannot be measured\. The secondary managedInstance has hardened the log up to LSN 71000009408100001/);
    // The confirmation says which replica is unreachable and why: its TCP connect was refused.
    assert.match(out, /Confirmed by --yes: Force managedInstance to become the primary of link dag1, losing what it has not received: The primary sqlServer cannot be reached \(the TCP connection to localhost:\d+ was refused \(ECONNREFUSED\)\)/);
    assert.match(out, /Attention:[\s\S]*old-primary-down: sqlServer could not be reached\. When it comes back it will still say PRIMARY/);
    assert.match(out, /Point the applications at sqlmi1\.lab\.database\.windows\.net/);

    // The old primary comes back: both sides now say PRIMARY, as the runbook warned.
    t.lab.setDown('sqlServer', false);
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'PRIMARY' });
  } finally {
    await t.stop();
  }
});

test('drill with the primary reachable: the gap is reported before acting and matches the loss; two primaries are announced', async () => {
  // primary-down without its fault: 25 transactions not hardened on the MI, replication stalled.
  const t = await TestLab.start({ scenario: 'primary-down', overrides: { faults: [] } });
  try {
    const run = await t.apply('forced-failover', { allowDataLoss: 'dag1' });
    assert.is(run.code, 0, run.stdout + run.stderr);
    const lost = t.lab.ledger().lost;
    assert.is(lost, 25);
    const gap = (BigInt(lost) * LSN_PER_TRANSACTION).toString();
    const out = run.stdout;
    const reportAt = out.indexOf(`(gap ${gap})`);
    assert.ok(reportAt >= 0, `report names the LSN gap ${gap}:\n${out}`);
    assert.ok(reportAt < out.indexOf('] force (sqlExec'), 'reported before the forced step');
    assert.match(out, /200 KB of log not sent yet/, '25 transactions of 8 KB each');
    assert.match(out, /A forced failover to managedInstance now loses every transaction sqlServer committed after/);
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'PRIMARY' });
    assert.match(out, /Attention:[\s\S]*two-primaries: SPLIT-BRAIN: sqlServer is still up and still PRIMARY/);
  } finally {
    await t.stop();
  }
});

test('drill with reverseRoles: the old primary is set to secondary, one primary at the end', async () => {
  const t = await TestLab.start({ scenario: 'primary-down', overrides: { faults: [] } });
  try {
    const run = await t.apply('forced-failover', { allowDataLoss: 'dag1', sets: ['reverseRoles=true'] });
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.equal(t.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
    const alters = t.statements().filter(isAlter);
    assert.equal(alters, [
      'managedInstance: ALTER AVAILABILITY GROUP [dag1] FORCE_FAILOVER_ALLOW_DATA_LOSS',
      'sqlServer: ALTER AVAILABILITY GROUP [dag1] SET (ROLE = SECONDARY)',
    ]);
    assert.not.match(run.stdout, /SPLIT-BRAIN/);
    assert.is(t.lab.ledger().lost, 25);
  } finally {
    await t.stop();
  }
});

// A replica that answers and refuses us is up: with SQL Server still PRIMARY behind a wrong
// password, forcing the MI would leave two primaries. Such set-up errors stop apply before any
// prompt, lock or journal; only a replica that never answered counts as unreachable.
const setUpErrors: Array<{ name: string; cause: RegExp; setUp: (t: TestLab) => LabApplyOptions }> = [
  { name: 'a wrong SQL Server password', cause: /the login was refused \(Login failed for user 'runbook'\)/, setUp: () => ({ env: { LAB_SQL_PASSWORD: 'Wr0ng-but-long-enough' } }) },
  { name: 'the SQL Server password variable not set', cause: /Environment variable LAB_SQL_PASSWORD is not set/, setUp: () => ({ env: { LAB_SQL_PASSWORD: undefined } }) },
  {
    name: 'a CA that did not sign SQL Server\'s certificate',
    cause: /the TLS certificate was not accepted/,
    setUp: (t) => {
      const inventory = yaml.load(readFileSync(t.inventoryFile, 'utf8')) as Inventory;
      inventory.link.sqlServer.connection.caFile = foreignCa;
      const file = join(t.dir, 'foreign-ca.yml');
      writeFileSync(file, yaml.dump(inventory));
      return { inventoryFile: file };
    },
  },
  {
    // Issue 9 attack, F10: the listener accepts the TCP connection and never answers the login.
    name: 'SQL Server accepting TCP and never answering the login',
    cause: /the server at localhost:\d+ accepted the TCP connection but did not answer the login within 1000 ms \(ETIMEOUT\): it is up, not unreachable/,
    setUp: (t) => {
      t.lab.setDown('sqlServer', 'hang');
      const inventory = yaml.load(readFileSync(t.inventoryFile, 'utf8')) as Inventory;
      inventory.link.sqlServer.connection.connectTimeoutMs = 1000;
      const file = join(t.dir, 'short-timeout.yml');
      writeFileSync(file, yaml.dump(inventory));
      return { inventoryFile: file };
    },
  },
];

let foreignCa = '';
test.before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'runbook-foreign-ca-'));
  foreignCa = (await createLabCertificates(dir)).caFile;
});

for (const c of setUpErrors) {
  test(`${c.name}: exit 2 naming sqlServer and the cause; no journal, no lock, nothing sent; SQL Server stays the only primary`, async () => {
    const t = await TestLab.start({ scenario: 'healthy' });
    try {
      const run = await t.apply('forced-failover', { allowDataLoss: 'dag1', ...c.setUp(t) });
      assert.is(run.code, 2, run.stdout + run.stderr);
      assert.match(run.stderr, /^runbook: set-up error on sqlServer, not an unreachable replica: /);
      assert.is(run.stderr.split('\n').length, 2, 'one line');
      assert.match(run.stderr, c.cause);
      assert.match(run.stderr, /Nothing was run: no lock, no journal\.\n$/);
      assert.is(run.stdout, '', 'no run started, no prompt');
      assert.equal(readdirSync(run.journalDir), [], 'no journal');
      // The MI's login succeeded (the driver sets up its session); nothing of the run's own was sent.
      const sent = t.statements().filter((s) => !/^\w+: set /i.test(s));
      assert.equal(sent, [], `statements sent: ${sent.join('\n')}`);
      assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' });
      assert.is(t.lab.ledger().lost, 0);
    } finally {
      await t.stop();
    }
  });
}

test('split-brain: refused before anything, even with --allow-data-loss', async () => {
  const t = await TestLab.start({ scenario: 'split-brain' });
  try {
    const run = await t.apply('forced-failover', { allowDataLoss: 'dag1' });
    assert.is(run.code, 3, run.stdout + run.stderr);
    assert.match(run.stderr, /refused at step roles: Split-brain/);
    assert.not.ok(t.statements().some(isAlter));
  } finally {
    await t.stop();
  }
});

test.run();
