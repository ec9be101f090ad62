// Every ARM request the engine sends carries api-version 2025-01-01 (issue 10, point 9): the
// runbooks that call ARM, run end to end on the lab, and the one ARM step type no shipped runbook
// uses (armFailoverLink), run against the lab. The lab records each request's api-version.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import armFailoverLink from '../../steps/armFailoverLink.js';
import { armStepContext, startLabWorld } from '../helpers/arm-step-context.js';
import { FAST_PLANNED as FAST, TestLab } from '../helpers/lab-run.js';

const WANTED = '2025-01-01';

function versions(requests: Array<{ method: string; path: string; apiVersion: string }>): string[] {
  return requests.filter((r) => r.apiVersion !== WANTED).map((r) => `${r.method} ${r.path}?api-version=${r.apiVersion}`);
}

test('planned failover with dropLinkAfter: every ARM request (GETs, the DELETE and its polls) uses 2025-01-01', async () => {
  const t = await TestLab.start({ scenario: 'healthy', overrides: { miFullBackup: { afterFailoverMs: 50 } } });
  try {
    const run = await t.apply('planned-failover', { sets: [...FAST, 'dropLinkAfter=true'] });
    assert.is(run.code, 0, run.stdout + run.stderr);
    const requests = t.lab.armRequests();
    assert.ok(requests.some((r) => r.method === 'DELETE'), 'the link was deleted through ARM');
    assert.ok(requests.some((r) => r.method === 'GET' && /OperationResults|AzureAsyncOperation/i.test(r.path)), 'the delete was polled');
    assert.equal(versions(requests), []);
  } finally {
    await t.stop();
  }
});

test('split-brain keeping SQL Server: the setRole POST and its polls use 2025-01-01', async () => {
  const t = await TestLab.start({ scenario: 'split-brain' });
  try {
    const url = 'https://labbackups.blob.core.windows.net/splitbrain/SalesDb.bak';
    const run = await t.apply('split-brain', { sets: ['stableFor=300ms', 'pollInterval=50ms', 'keep=sqlServer', `backupLocation=${url}`] });
    assert.is(run.code, 0, run.stdout + run.stderr);
    const requests = t.lab.armRequests();
    assert.ok(requests.some((r) => r.method === 'POST' && /setRole$/i.test(r.path)));
    assert.equal(versions(requests), []);
  } finally {
    await t.stop();
  }
});

test('armFailoverLink (no shipped runbook uses it): the POST and its polls use 2025-01-01', async () => {
  const world = await startLabWorld({ scenario: 'split-brain' });
  try {
    await armFailoverLink.run(armStepContext(world.inventory, world.env, { impact: 'dataLoss' }), { failoverType: 'ForcedAllowDataLoss', pollInterval: '10ms' }).catch(() => undefined);
    const requests = world.lab.armRequests();
    assert.ok(requests.some((r) => r.method === 'POST' && /failover$/i.test(r.path)), JSON.stringify(requests));
    assert.equal(versions(requests), []);
  } finally {
    await world.stop();
  }
});

test.run();
