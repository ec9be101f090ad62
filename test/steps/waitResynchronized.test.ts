// waitResynchronized against the lab: a demoted former primary is suspended (SUSPEND_FROM_PARTNER)
// and either resumes by itself (the lab's default for a link) or stays suspended until a person
// resumes it; the step never resumes anything.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import waitResynchronized from '../../steps/waitResynchronized.js';
import { StepFailure } from '../../engine/core/errors.js';
import { rejection, withLabHarness } from '../helpers/steps.js';
import { stepTester, unknown } from '../helpers/step-tester.js';
import { connect, run } from '../helpers/lab.js';

const fast = { timeout: '1500ms', pollInterval: '50ms' };

stepTester.run(waitResynchronized, {
  valid: [{ side: 'sqlServer' }, { side: 'managedInstance', timeout: '30s', pollInterval: '1s' }, { with: { side: '{{otherSide inputs.keep}}' }, inputs: { keep: { type: 'string', default: 'sqlServer' } } }],
  invalid: [
    { with: {}, errors: [{ code: 'missing-required', path: '/with', message: '`side`' }] },
    { with: { side: 'primary' }, errors: [{ code: 'bad-value', path: '/with/side', message: 'does not match' }] },
    { with: { side: 'sqlServer', timeout: 'a while' }, errors: [{ code: 'bad-duration', path: '/with/timeout' }] },
  ],
  plan: [
    {
      name: "the side's link row, with the guard",
      with: { side: 'sqlServer' },
      impact: 'read',
      summary: 'Wait until [SalesDb] on sqlServer is resumed and synchronizing from the primary of link [dag1]',
      sql: [{ target: 'sqlServer', text: [/^SELECT /, /drs\.is_suspended/], params: { dag: 'dag1', db: 'SalesDb' } }],
      guards: ['Fails if it is still suspended or not synchronizing after 2m (poll 1s); never resumes it'],
    },
    { with: { side: unknown('inputs.keep') }, summary: /on \(known after apply\) is resumed/, sql: [{ target: 'sqlServer' }, { target: 'managedInstance' }] },
  ],
});

test('a healthy secondary moves data at once', async () => {
  await withLabHarness({ scenario: 'healthy' }, async (_lab, h) => {
    const out = await h.run(waitResynchronized, { side: 'managedInstance', ...fast });
    assert.is(out.side, 'managedInstance');
    assert.is(out.state, 'SYNCHRONIZING');
  });
});

test('a demoted former primary is suspended, then resumes by itself (resumeAfterSuspendMs); the wait sees both', async () => {
  await withLabHarness({ scenario: 'split-brain', overrides: { replication: { resumeAfterSuspendMs: 400 } } }, async (lab, h) => {
    const sql = await connect(lab, 'sqlServer');
    await run(sql, 'ALTER AVAILABILITY GROUP [dag1] SET (ROLE = SECONDARY)');
    await sql.close();
    const out = await h.run(waitResynchronized, { side: 'sqlServer', ...fast });
    assert.match(h.logs.progress[0]!, /^Database SalesDb on sqlServer: suspended \(SUSPEND_FROM_PARTNER\), NOT SYNCHRONIZING\.$/);
    assert.match(h.logs.progress.at(-1)!, /moves data again \(SYNCHRONIZING\) after/);
    assert.ok((out.waitedMs as number) >= 300, `waited ${out.waitedMs} ms`);
  });
});

test('a SQL Server that stays suspended: the step fails with how to resume it, and resumes nothing', async () => {
  await withLabHarness({ scenario: 'split-brain-suspended' }, async (lab, h) => {
    const sql = await connect(lab, 'sqlServer');
    await run(sql, 'ALTER AVAILABILITY GROUP [dag1] SET (ROLE = SECONDARY)');
    const error = await rejection(() => h.run(waitResynchronized, { side: 'sqlServer', ...fast }));
    assert.instance(error, StepFailure);
    assert.is(error.messageId, 'sqlServerSuspended');
    assert.match(error.message, /^Database SalesDb on SQL Server is still suspended \(SUSPEND_FROM_PARTNER\) after 1s500ms: .* run on SQL Server: ALTER DATABASE \[SalesDb\] SET HADR RESUME; then check that it reports SYNCHRONIZING\.$/);
    assert.ok(lab.link().replicas.sqlServer.suspended, 'still suspended: nothing resumed it');
    assert.not.ok(lab.statements().some((s) => /SET\s+HADR/i.test(s.statement)), 'no resume sent');
    // The operator's resume, as the message says; then the step passes.
    await run(sql, 'ALTER DATABASE [SalesDb] SET HADR RESUME');
    await sql.close();
    const out = await h.run(waitResynchronized, { side: 'sqlServer', ...fast });
    assert.is(out.state, 'SYNCHRONIZING');
  });
});

test('a managed instance that stays suspended: no SET HADR there; the message says what is left', async () => {
  await withLabHarness(
    { scenario: 'split-brain-suspended', overrides: { originalPrimary: 'managedInstance' } },
    async (lab, h) => {
      const mi = await connect(lab, 'managedInstance');
      await run(mi, 'ALTER AVAILABILITY GROUP [dag1] SET (ROLE = SECONDARY)');
      await mi.close();
      const error = await rejection(() => h.run(waitResynchronized, { side: 'managedInstance', ...fast }));
      assert.is(error.messageId, 'managedInstanceSuspended');
      assert.match(error.message, /does not support ALTER DATABASE \.\.\. SET HADR \(transact-sql-tsql-differences-sql-server\.md\)\. Open a support case, or remove the link and create it again from the primary\.$/);
      assert.ok(lab.link().replicas.managedInstance.suspended);
    },
  );
});

test.run();
