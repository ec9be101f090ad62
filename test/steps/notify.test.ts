// notify: tells the operator what to do after the run; the endpoint comes from the inventory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { labInventory } from '../../lab/inventory.js';
import notify, { endpointOf } from '../../steps/notify.js';
import { rejection } from '../helpers/steps.js';
import { stepTester, unknown } from '../helpers/step-tester.js';
import type { Inventory } from '../../engine/core/types.js';
import type { StepRunContext } from '../../engine/step-api/types.js';

function context(inventory: Inventory) {
  const logs = { info: [] as string[], warn: [] as string[] };
  const ctx = {
    inventory,
    log: { progress: () => {}, info: (m: string) => logs.info.push(m), warn: (m: string) => logs.warn.push(m) },
  } as unknown as StepRunContext;
  return { ctx, logs };
}

stepTester.run(notify, {
  valid: [
    { message: 'Failover of link {{link.name}} done.', endpointOf: 'managedInstance', level: 'info' },
    { with: { message: 'Done.', endpointOf: '{{inputs.to}}' }, inputs: { to: { type: 'string', enum: ['sqlServer', 'managedInstance'], default: 'sqlServer' } } },
  ],
  invalid: [
    { with: { message: 'Done.', endpointOf: 'primary' }, errors: [{ code: 'bad-value', path: '/with/endpointOf', message: 'does not match' }] },
    { with: { message: 'Done.', level: 'loud' }, errors: [{ code: 'bad-enum', path: '/with/level' }] },
    { with: { message: 'Done.', endpointOf: '{{steps.after.outputs.primary}}' }, errors: [{ code: 'unknown-step', path: '/with/endpointOf' }] },
  ],
  plan: [
    {
      name: 'names the endpoint when the side is known',
      with: { message: 'Done.', endpointOf: 'managedInstance' },
      impact: 'read',
      summary: 'Tell the operator: Done; Point the applications at sqlmi1.lab.database.windows.net (managed instance sqlmi1, now the primary of link dag1)',
    },
    {
      name: 'says when the side is known only after apply',
      with: { message: 'Done.', endpointOf: unknown('steps.after.outputs.primary') },
      summary: 'Tell the operator: Done; name the endpoint of the new primary (known after apply)',
    },
  ],
});

test('a read with no target', () => {
  assert.is(notify.impact, 'read');
  assert.is(notify.target, 'none');
});

test('endpoints: the MI FQDN when the inventory has one, else its host,port; SQL Server host,port unless 1433', () => {
  const inventory = labInventory(0, { sqlPort: 14330, miPort: 1433 });
  assert.is(endpointOf(inventory, 'managedInstance').endpoint, 'sqlmi1.lab.database.windows.net');
  assert.is(endpointOf(inventory, 'sqlServer').endpoint, 'localhost,14330');
  const noFqdn: Inventory = structuredClone(inventory);
  delete noFqdn.link.managedInstance.fqdn;
  noFqdn.link.managedInstance.connection.port = 3342;
  assert.is(endpointOf(noFqdn, 'managedInstance').endpoint, 'localhost,3342');
  const defaultPort = structuredClone(inventory);
  defaultPort.link.sqlServer.connection.port = 1433;
  assert.is(endpointOf(defaultPort, 'sqlServer').endpoint, 'localhost');
});

test('run: a warning (repeated in the summary) naming the endpoint of the side given', async () => {
  const { ctx, logs } = context(labInventory());
  const out = await notify.run(ctx, { message: 'Failover of link dag1 done', endpointOf: 'managedInstance' });
  assert.is(out.endpoint, 'sqlmi1.lab.database.windows.net');
  assert.is(out.side, 'managedInstance');
  assert.equal(logs.warn, [
    'Failover of link dag1 done. Point the applications at sqlmi1.lab.database.windows.net (managed instance sqlmi1, now the primary of link dag1).',
  ]);
  const info = context(labInventory());
  await notify.run(info.ctx, { message: 'Done.', level: 'info' });
  assert.equal(info.logs.info, ['Done.']);
  assert.equal(info.logs.warn, []);
});

test('elapsedSince: the message is followed by the time since then; a time that is not one fails', async () => {
  const { ctx, logs } = context(labInventory());
  const since = new Date(Date.now() - 65_000).toISOString();
  const out = await notify.run(ctx, { message: 'The application had to stay stopped', elapsedSince: since });
  assert.match(out.message as string, /^The application had to stay stopped\. That was 1m0[5-6]s \(since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)\.$/);
  assert.ok((out.elapsedMs as number) >= 65_000 && (out.elapsedMs as number) < 70_000);
  assert.equal(logs.warn, [out.message]);
  const error = await rejection(() => notify.run(ctx, { message: 'x', elapsedSince: 'yesterday' }));
  assert.is(error.messageId, 'badTime');
});

test('run: a side that is not a side fails', async () => {
  const { ctx } = context(labInventory());
  const error = await rejection(() => notify.run(ctx, { message: 'x', endpointOf: 'primary' }));
  assert.match(error.message, /Expected endpointOf to be sqlServer or managedInstance, got primary/);
});

test.run();
