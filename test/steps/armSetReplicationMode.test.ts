// armSetReplicationMode with the real @azure/arm-sql pipeline (PATCH sent through it) against the
// lab: the link model's two copies of the mode are the ground truth. ARM changes the MI's copy
// only; SQL Server's copy is T-SQL's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import definition from '../../steps/armSetReplicationMode.js';
import { definitelyNotApplied, StepFailure } from '../../engine/core/errors.js';
import { stepTester } from '../helpers/step-tester.js';
import { armStepContext, labWorldPerTest } from '../helpers/arm-step-context.js';
import { connect, run } from '../helpers/lab.js';

const lab = labWorldPerTest(test);

stepTester.run(definition, {
  valid: [{ replicationMode: 'Sync' }, { replicationMode: 'Async', pollInterval: '1s' }],
  invalid: [
    { with: {}, errors: [{ code: 'missing-required', path: '/with', message: '`replicationMode`' }] },
    { with: { replicationMode: 'sync' }, errors: [{ code: 'bad-enum', path: '/with/replicationMode' }] },
    { with: { replicationMode: 'Sync', pollInterval: 'often' }, errors: [{ code: 'bad-duration', path: '/with/pollInterval' }] },
  ],
  plan: [
    {
      name: 'the summary says which copy it changes and how',
      with: { replicationMode: 'Sync' },
      impact: 'change',
      summary: /^PATCH replicationMode of link dag1 on sqlmi1 \(rg-runbook-lab\/.*\) to Sync via ARM \(the managed instance's side of the link\), polling every 5s$/,
      guards: ['Reads the link first and sends nothing when the mode is already set; fails unless ARM reports the mode afterwards.'],
    },
  ],
});

test('a change with a verify, no target', () => {
  assert.is(definition.impact, 'change');
  assert.is(definition.target, 'none');
  assert.is(typeof definition.verify, 'function');
});

test("Sync: one PATCH at api-version 2025-01-01; the MI's copy is synchronous, SQL Server's is untouched", async () => {
  const world = await lab();
  const ctx = armStepContext(world.inventory, world.env);
  assert.is(await definition.verify!(ctx, { replicationMode: 'Sync' }), 'not-done');
  const out = await definition.run(ctx, { replicationMode: 'Sync', pollInterval: '10ms' });
  assert.equal(out, { replicationMode: 'Sync', previousReplicationMode: 'Async', changed: true });
  const link = world.lab.link();
  assert.is(link.miReplicationMode, 'Sync');
  assert.equal(link.sqlServerModes, { sqlServer: 'ASYNCHRONOUS_COMMIT', managedInstance: 'ASYNCHRONOUS_COMMIT' });
  const patches = world.requests().filter((r) => r.method === 'PATCH');
  assert.is(patches.length, 1);
  assert.ok(world.lab.armRequests().filter((r) => r.method === 'PATCH').every((r) => r.apiVersion === '2025-01-01'));
  assert.match(ctx.logs.progress.at(-1)!, /the managed instance now has replication mode Sync \(was Async\)\.$/);
  // The MI's own DMV shows its copy; SQL Server's shows its own.
  const modes = async (side: 'sqlServer' | 'managedInstance') => {
    const pool = await connect(world.lab, side);
    try {
      const [rows] = await run(pool, `SELECT ar.availability_mode_desc AS m FROM sys.availability_replicas ar
        JOIN sys.availability_groups ag ON ag.group_id = ar.group_id WHERE ag.name = 'dag1'`);
      return rows.map((r) => r.m);
    } finally {
      await pool.close();
    }
  };
  assert.equal(await modes('managedInstance'), ['SYNCHRONOUS_COMMIT', 'SYNCHRONOUS_COMMIT']);
  assert.equal(await modes('sqlServer'), ['ASYNCHRONOUS_COMMIT', 'ASYNCHRONOUS_COMMIT']);
  assert.is(await definition.verify!(ctx, { replicationMode: 'Sync' }), 'done');
});

test('already in that mode: nothing is sent, changed is false', async () => {
  const world = await lab();
  const ctx = armStepContext(world.inventory, world.env);
  const out = await definition.run(ctx, { replicationMode: 'Async', pollInterval: '10ms' });
  assert.equal(out, { replicationMode: 'Async', previousReplicationMode: 'Async', changed: false });
  assert.equal(world.requests().map((r) => r.method), ['GET']);
  assert.match(ctx.logs.info[0]!, /already has replication mode Async; nothing sent\.$/);
});

test('a long-running update that fails reports the ARM code and the mode stays', async () => {
  const world = await lab({ faults: [{ kind: 'armLroFails', op: 'update', code: 'OperationInterrupted', message: 'The operation was interrupted.' }] });
  const err = await definition.run(armStepContext(world.inventory, world.env), { replicationMode: 'Sync', pollInterval: '10ms' }).catch((e: Error) => e);
  assert.instance(err, StepFailure);
  assert.is((err as StepFailure).messageId, 'armOperationFailed');
  assert.is((err as StepFailure).data.code, 'OperationInterrupted');
  assert.is(world.lab.link().miReplicationMode, 'Async');
});

test('the read before the PATCH throttled past the retries: nothing sent, definitely not applied', async () => {
  const world = await lab({ faults: [{ kind: 'armStatus', op: 'get', status: 429, retryAfterSeconds: 0, count: 4 }] });
  const err = await definition.run(armStepContext(world.inventory, world.env), { replicationMode: 'Sync', pollInterval: '10ms' }).catch((e: Error) => e);
  assert.is((err as StepFailure).messageId, 'notSent');
  assert.match((err as Error).message, /^Nothing was sent to change the replication mode of link dag1 on \S+ \S+: reading it first failed with HTTP 429 SubscriptionTooManyRequests/);
  assert.ok(definitelyNotApplied(err));
  assert.equal(world.requests().filter((r) => r.method !== 'GET'), []);
});

test('a 500 on the PATCH: the link is read, then the request is sent again; one change', async () => {
  const world = await lab({ faults: [{ kind: 'armStatus', op: 'update', status: 500 }] });
  const ctx = armStepContext(world.inventory, world.env);
  const out = await definition.run(ctx, { replicationMode: 'Sync', pollInterval: '10ms' });
  assert.is(out.replicationMode, 'Sync');
  const seq = world.requests().map((r) => `${r.method} ${r.status}`);
  const i = seq.indexOf('PATCH 500');
  const j = seq.indexOf('PATCH 202');
  assert.ok(i >= 0 && j > i && seq.slice(i + 1, j).includes('GET 200'), seq.join(', '));
});

test.run();
