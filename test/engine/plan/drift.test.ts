// A plan saved with `plan --probe --out` is bound to the link's observed roles, modes, versions
// and ARM link: `apply plan.json` looks again first and refuses (exit 3, naming the change) when
// the lab was changed behind its back, and runs when nothing changed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../../../lab/index.js';
import { fingerprintDrift } from '../../../engine/plan/drift.js';
import { NOT_OBSERVED } from '../../../engine/plan/observe.js';
import { runInProcess } from '../../helpers/cli.js';
import { labWithInventory } from '../../helpers/lab-run.js';
import { connect, linkRole, localLsns, poll, run } from '../../helpers/lab.js';

const toSync = `ALTER AVAILABILITY GROUP [dag1] MODIFY AVAILABILITY GROUP ON
    'ag1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT),
    'sqlmi1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);`;

test('fingerprintDrift names each change in words and ignores what the plan could not see', () => {
  const atPlan = { 'sqlServer role': 'PRIMARY', 'managedInstance role': 'SECONDARY', 'ARM link': NOT_OBSERVED, 'sqlServer version': '16.0.4125.3' };
  assert.equal(fingerprintDrift(atPlan, { ...atPlan }), []);
  assert.equal(fingerprintDrift(atPlan, { ...atPlan, 'ARM link': 'missing' }), [], 'not observed at plan time: not compared');
  assert.equal(fingerprintDrift(atPlan, { ...atPlan, 'sqlServer role': 'SECONDARY', 'managedInstance role': 'PRIMARY' }), [
    'sqlServer role was PRIMARY at plan time, now SECONDARY',
    'managedInstance role was SECONDARY at plan time, now PRIMARY',
  ]);
  assert.equal(fingerprintDrift(atPlan, { ...atPlan, 'sqlServer version': NOT_OBSERVED }), [
    'sqlServer version was 16.0.4125.3 at plan time and cannot be read now',
  ]);
});

interface Setup {
  lab: Lab;
  dir: string;
  env: Record<string, string>;
  plan: string;
}

/** A lab, its inventory on disk, and a probed plan of the planned failover saved for it. */
async function planned(): Promise<Setup> {
  const { lab, dir, inventoryFile: inventory } = await labWithInventory({ scenario: 'healthy' }, 'runbook-drift-');
  const env = { ...lab.env, RUNBOOK_JOURNAL_DIR: join(dir, 'runs') };
  const plan = join(dir, 'plan.json');
  const r = await runInProcess(
    ['plan', 'runbooks/planned-failover.yml', '-i', inventory, '--probe', '--out', plan,
      '--set', 'stableFor=1s', '--set', 'pollInterval=100ms', '--set', 'lsnTimeout=20s'],
    { env, timeoutMs: 30_000 },
  );
  assert.is(r.code, 0, r.stderr);
  return { lab, dir, env, plan };
}

const alters = (lab: Lab) => lab.statements().filter((s) => /^\s*ALTER\b/i.test(s.statement)).length;

test('the saved plan carries the fingerprint (roles, modes, versions, ARM link; no LSNs)', async () => {
  const s = await planned();
  try {
    const saved = JSON.parse(readFileSync(s.plan, 'utf8')) as { observed: { fingerprint: Record<string, string> } };
    assert.equal(saved.observed.fingerprint, {
      'sqlServer role': 'PRIMARY',
      'sqlServer availability mode': 'ag1=ASYNCHRONOUS_COMMIT, sqlmi1=ASYNCHRONOUS_COMMIT',
      'sqlServer version': '16.0.4125.3',
      'managedInstance role': 'SECONDARY',
      'managedInstance availability mode': 'ag1=ASYNCHRONOUS_COMMIT, sqlmi1=ASYNCHRONOUS_COMMIT',
      'managedInstance version': '12.0.2000.8',
      'ARM link': 'exists (managed instance Secondary, SQL Server Primary, replication Async)',
    });
    for (const secret of Object.values(s.lab.env)) assert.not.ok(readFileSync(s.plan, 'utf8').includes(secret), 'no secret in the plan file');
  } finally {
    await s.lab.stop();
  }
});

test('a failover behind the plan\'s back: apply plan.json refuses (exit 3) naming the role change, runs nothing', async () => {
  const s = await planned();
  try {
    const sqlPool = await connect(s.lab, 'sqlServer');
    const miPool = await connect(s.lab, 'managedInstance');
    await run(sqlPool, toSync);
    // FAILOVER needs the MI's copy of the mode synchronous too (ARM's replicationMode).
    const link = s.lab.link();
    link.miReplicationMode = 'Sync';
    link.changed();
    await poll(async () => {
      const p = await localLsns(sqlPool);
      const m = await localLsns(miPool);
      return p.endOfLog === m.hardened && m.sync === 'SYNCHRONIZED' ? true : undefined;
    }, 5000);
    await run(sqlPool, 'ALTER AVAILABILITY GROUP [dag1] FAILOVER');
    const mi2 = await connect(s.lab, 'managedInstance');
    assert.is(await linkRole(mi2), 'PRIMARY');
    await Promise.all([sqlPool.close(), miPool.close(), mi2.close()]);

    const before = alters(s.lab);
    const r = await runInProcess(['apply', s.plan, '--yes'], { env: s.env, timeoutMs: 30_000 });
    assert.is(r.code, 3, r.stderr + r.stdout);
    assert.match(r.stderr, /sqlServer role was PRIMARY at plan time, now SECONDARY/);
    assert.match(r.stderr, /managedInstance role was SECONDARY at plan time, now PRIMARY/);
    assert.match(r.stderr, /Nothing was run/);
    assert.is(alters(s.lab), before, 'apply sent no ALTER');
  } finally {
    await s.lab.stop();
  }
});

test('a mode flipped behind the plan\'s back: apply plan.json refuses naming the availability mode', async () => {
  const s = await planned();
  try {
    const sqlPool = await connect(s.lab, 'sqlServer');
    await run(sqlPool, toSync);
    await sqlPool.close();
    const before = alters(s.lab);
    const r = await runInProcess(['apply', s.plan, '--yes'], { env: s.env, timeoutMs: 30_000 });
    assert.is(r.code, 3, r.stderr + r.stdout);
    assert.match(
      r.stderr,
      /sqlServer availability mode was ag1=ASYNCHRONOUS_COMMIT, sqlmi1=ASYNCHRONOUS_COMMIT at plan time, now ag1=SYNCHRONOUS_COMMIT, sqlmi1=SYNCHRONOUS_COMMIT/,
    );
    assert.not.match(r.stderr, /role was/, 'roles did not change');
    assert.is(alters(s.lab), before);
  } finally {
    await s.lab.stop();
  }
});

test('no drift: apply plan.json runs the planned failover', async () => {
  const s = await planned();
  try {
    const r = await runInProcess(['apply', s.plan, '--yes'], { env: s.env, timeoutMs: 45_000 });
    assert.is(r.code, 0, r.stderr + r.stdout);
    assert.is(s.lab.link().replicas.managedInstance.role, 'PRIMARY');
    assert.is(s.lab.link().replicas.sqlServer.role, 'SECONDARY');
  } finally {
    await s.lab.stop();
  }
});

test.run();
