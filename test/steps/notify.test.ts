// notify: tells the operator what to do after the run; the endpoint comes from the inventory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { labInventory } from '../../lab/inventory.js';
import notify, { endpointOf, messages } from '../../steps/notify.js';
import { checkStepContract, planContext, rejection } from '../helpers/steps.js';
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

test('contract: described schema, outputs and messages; read, no target', () => {
  checkStepContract(notify, messages);
  assert.is(notify.impact, 'read');
  assert.is(notify.target, 'none');
});

test('endpoints: the MI FQDN when the inventory has one, else its host,port; SQL Server host,port unless 1433', () => {
  const inventory = labInventory(0, { sqlPort: 14330, miPort: 1433 });
  assert.is(endpointOf(inventory, 'managedInstance').endpoint, 'sqlmi1.lab.database.windows.net');
  assert.is(endpointOf(inventory, 'sqlServer').endpoint, 'localhost,14330');
  const noFqdn = structuredClone(inventory);
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

test('run: a side that is not a side fails', async () => {
  const { ctx } = context(labInventory());
  const error = await rejection(() => notify.run(ctx, { message: 'x', endpointOf: 'primary' }));
  assert.match(error.message, /Expected endpointOf to be sqlServer or managedInstance, got primary/);
});

test('plan: names the endpoint when the side is known, says when it is not', () => {
  const inventory = labInventory();
  assert.is(
    notify.plan(planContext(inventory), { message: 'Done.', endpointOf: 'managedInstance' }).summary,
    'Tell the operator: Done; Point the applications at sqlmi1.lab.database.windows.net (managed instance sqlmi1, now the primary of link dag1)',
  );
  assert.is(
    notify.plan(planContext(inventory), { message: 'Done.', endpointOf: { unknown: true, from: 'steps.after.outputs.primary' } as never }).summary,
    'Tell the operator: Done; name the endpoint of the new primary (known after apply)',
  );
});

test.run();
